'use client';
// What the rollout would do (rollouts.preview): devices per batch, who fails preflight and why,
// who waits (offline), when the window opens, and how long it takes at the servers' caps.
import type { inferRouterOutputs } from '@trpc/server';
import { Alert, Card, formatTime } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { formatDuration } from '../rollout-words';

type Preview = inferRouterOutputs<AppRouter>['rollouts']['preview'];

/** the same reason for many devices reads once, with a few names */
function byReason(rows: readonly { device: string; reason: string }[]) {
  const groups = new Map<string, string[]>();
  for (const row of rows) groups.set(row.reason, [...(groups.get(row.reason) ?? []), row.device]);
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
}

function Reasons({
  rows,
  title,
}: {
  rows: readonly { device: string; reason: string }[];
  title: string;
}) {
  if (rows.length === 0) return null;
  return (
    <div className="mt-3">
      <h3 className="text-xs font-semibold uppercase text-slate-500">
        {title} ({rows.length})
      </h3>
      <ul className="mt-1 space-y-1 text-sm">
        {byReason(rows)
          .slice(0, 8)
          .map(([reason, devices]) => (
            <li key={reason} className="break-words">
              <span className="font-medium">{devices.length}</span>: {reason}
              <span className="block text-xs text-slate-500">
                {devices.slice(0, 5).join(', ')}
                {devices.length > 5 && ` and ${devices.length - 5} more`}
              </span>
            </li>
          ))}
      </ul>
    </div>
  );
}

export function RolloutPreview({
  preview,
  error,
  pending,
  stale,
}: {
  preview: Preview | undefined;
  error: string | null;
  pending: boolean;
  /** the form is not valid yet: what is shown is for its last valid state */
  stale: boolean;
}) {
  return (
    <Card className="p-4">
      <section aria-label="Preview" data-testid="rollout-preview" aria-busy={pending}>
        <div className="flex items-baseline justify-between gap-2">
          <h2 className="font-medium text-ink">Preview</h2>
          <span className="text-xs text-slate-500" aria-live="polite">
            {pending
              ? 'updating…'
              : stale
                ? 'for the last valid form'
                : preview
                  ? 'up to date'
                  : ''}
          </span>
        </div>
        {error && (
          <div className="mt-2">
            <Alert>{error}</Alert>
          </div>
        )}
        {!preview && !error && (
          <p className="mt-2 text-sm text-slate-600">
            Pick a version and a target: the preview shows the batches, who cannot take part and
            why, and how long it would take.
          </p>
        )}
        {preview && (
          <>
            <p className="mt-2 text-sm" data-testid="preview-summary">
              {preview.version} to{' '}
              <strong>
                {preview.targetDevices} device{preview.targetDevices === 1 ? '' : 's'}
              </strong>
              {preview.preflightFailures.length > 0 &&
                `, ${preview.preflightFailures.length} excluded by preflight`}
              .
            </p>
            <ol className="mt-3 space-y-1 text-sm" aria-label="Devices per batch">
              {preview.batches.map((batch) => (
                <li
                  key={batch.index}
                  className="flex justify-between gap-2 rounded bg-slate-50 px-2 py-1"
                  data-testid={`preview-batch-${batch.index + 1}`}
                >
                  <span>Batch {batch.index + 1}</span>
                  <span>
                    {batch.devices} device{batch.devices === 1 ? '' : 's'}
                  </span>
                </li>
              ))}
            </ol>
            <dl className="mt-3 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
              <dt className="text-slate-500">Window</dt>
              <dd data-testid="preview-window">
                {preview.windowOpen
                  ? 'open now (or no window)'
                  : preview.nextWindowOpening
                    ? `opens ${formatTime(preview.nextWindowOpening)}`
                    : 'never opens again'}
              </dd>
              <dt className="text-slate-500">Estimated</dt>
              <dd data-testid="preview-duration">
                about {formatDuration(preview.estimatedSeconds)}
                <span className="block text-xs text-slate-500">
                  at the update server&apos;s concurrency cap,{' '}
                  {formatDuration(preview.assumedApplySeconds)} per apply, plus soak times; outside
                  waiting for windows
                </span>
              </dd>
            </dl>
            <Reasons rows={preview.preflightFailures} title="Excluded by preflight" />
            <Reasons rows={preview.waiting} title="Will wait (offline now)" />
          </>
        )}
      </section>
    </Card>
  );
}
