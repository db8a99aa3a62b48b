'use client';
// Batch progress with honest denominators (every device of the batch is in exactly one part:
// succeeded, failed, in flight, waiting, excluded) and the threshold gauges: the success rate
// against its threshold, failures against theirs once the minimum sample is reached.
import type { inferRouterOutputs } from '@trpc/server';
import { Badge, Card, formatTime } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { formatDuration } from '../rollout-words';

type Rollout = inferRouterOutputs<AppRouter>['rollouts']['get'];
type Counts = Pick<
  Rollout['batches'][number],
  'total' | 'succeeded' | 'failed' | 'inFlight' | 'waiting' | 'excluded'
>;

const PARTS = [
  ['succeeded', 'succeeded', 'bg-green-600'],
  ['failed', 'failed', 'bg-red-600'],
  ['inFlight', 'in flight', 'bg-sky-500'],
  ['waiting', 'waiting', 'bg-slate-300'],
  ['excluded', 'excluded', 'bg-amber-300'],
] as const;

export function CountsBar({ counts, label }: { counts: Counts; label: string }) {
  // reverted devices are the only ones in none of the parts: they count with the total only
  const total = counts.total;
  const words = PARTS.map(([key, text]) => `${counts[key]} ${text}`).join(' · ');
  return (
    <div className="min-w-0">
      <div
        className="flex h-3 overflow-hidden rounded-full bg-slate-100"
        role="img"
        aria-label={`${label}: ${words} of ${total}`}
      >
        {PARTS.map(([key, , colour]) => (
          <div
            key={key}
            className={colour}
            style={{ width: total ? `${(counts[key] / total) * 100}%` : '0%' }}
          />
        ))}
      </div>
      <p className="mt-1 break-words text-xs text-slate-600" data-testid="counts">
        {words} <span className="text-slate-500">of {total}</span>
      </p>
    </div>
  );
}

const BATCH_TONE = {
  pending: 'slate',
  awaiting_approval: 'amber',
  running: 'sky',
  soaking: 'sky',
  succeeded: 'green',
  failed: 'red',
} as const;

export function BatchProgress({ rollout }: { rollout: Rollout }) {
  return (
    <Card className="p-4">
      <h2 className="font-medium text-ink">Batches</h2>
      <ol className="mt-3 space-y-4">
        {rollout.batches.map((batch) => (
          <li key={batch.index} data-testid={`batch-${batch.index + 1}`}>
            <div className="mb-1 flex flex-wrap items-center justify-between gap-2 text-sm">
              <span className="font-medium">
                Batch {batch.index + 1}{' '}
                <span className="font-normal text-slate-500">
                  (
                  {batch.count !== null
                    ? `${batch.count} device${batch.count === 1 ? '' : 's'}`
                    : `${batch.percent}%`}
                  {batch.selector &&
                    Object.keys(batch.selector).length > 0 &&
                    `, only ${Object.entries(batch.selector)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', ')}`}
                  {batch.soakSeconds > 0 && `, soak ${formatDuration(batch.soakSeconds)}`}
                  {batch.gate === 'manual' && `, manual gate${batch.approved ? ' (approved)' : ''}`}
                  )
                </span>
              </span>
              <span className="flex items-center gap-2">
                {batch.soakUntil && batch.state === 'soaking' && (
                  <span className="text-xs text-slate-500">
                    until {formatTime(batch.soakUntil)}
                  </span>
                )}
                <Badge tone={BATCH_TONE[batch.state] ?? 'slate'}>
                  <span data-testid="batch-state">{batch.state.replace('_', ' ')}</span>
                </Badge>
              </span>
            </div>
            <CountsBar counts={batch} label={`Batch ${batch.index + 1}`} />
          </li>
        ))}
      </ol>
      {rollout.excluded > 0 && (
        <p className="mt-3 text-xs text-slate-600">
          {rollout.excluded === 1
            ? '1 device of the target is'
            : `${rollout.excluded} devices of the target are`}{' '}
          in no batch: preflight excluded them at creation (see the devices below, filter “cannot
          converge” or “already there”).
        </p>
      )}
    </Card>
  );
}

function Gauge({
  label,
  value,
  max,
  threshold,
  text,
  bad,
}: {
  label: string;
  value: number;
  max: number;
  threshold: number | null;
  text: string;
  bad: boolean;
}) {
  const percent = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  const mark = threshold !== null && max > 0 ? Math.min(100, (threshold / max) * 100) : null;
  return (
    <div className="min-w-0">
      <div className="flex justify-between gap-2 text-sm">
        <span className="font-medium">{label}</span>
        <span className={bad ? 'text-red-700' : 'text-slate-700'}>{text}</span>
      </div>
      <div
        className="relative mt-1 h-3 rounded-full bg-slate-100"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={value}
        aria-valuetext={text}
      >
        <div
          className={`h-full rounded-full ${bad ? 'bg-red-600' : 'bg-brand-500'}`}
          style={{ width: `${percent}%` }}
        />
        {mark !== null && (
          <div
            className="absolute -top-1 h-5 w-0.5 bg-ink"
            style={{ left: `calc(${mark}% - 1px)` }}
            aria-hidden
          />
        )}
      </div>
    </div>
  );
}

export function ThresholdGauges({ rollout }: { rollout: Rollout }) {
  const t = rollout.thresholds;
  const decided = t.succeeded + t.failed;
  const rate = decided ? Math.round((t.succeeded / decided) * 100) : null;
  const sampled = decided >= t.minSample;
  const failureLimit =
    t.failureCount !== null
      ? {
          max: Math.max(t.failureCount, t.failed),
          threshold: t.failureCount,
          words: `${t.failed} failed; it ${t.action}s at ${t.failureCount}`,
        }
      : t.failurePercent !== null
        ? {
            max: 100,
            threshold: t.failurePercent,
            words: `${decided ? Math.round((t.failed / decided) * 100) : 0}% failed; it ${t.action}s at ${t.failurePercent}%`,
          }
        : null;
  const failureValue =
    t.failurePercent !== null && t.failureCount === null
      ? decided
        ? Math.round((t.failed / decided) * 100)
        : 0
      : t.failed;
  return (
    <Card className="space-y-4 p-4">
      <h2 className="font-medium text-ink">Thresholds</h2>
      <Gauge
        label="Success rate"
        value={rate ?? 0}
        max={100}
        threshold={t.successPercent}
        text={
          rate === null
            ? `no device decided yet; needs ${t.successPercent}%`
            : `${rate}% of ${decided} decided; needs ${t.successPercent}%`
        }
        bad={rate !== null && rate < t.successPercent}
      />
      {failureLimit ? (
        <Gauge
          label="Failures"
          value={failureValue}
          max={failureLimit.max}
          threshold={failureLimit.threshold}
          text={
            sampled
              ? failureLimit.words
              : `${t.failed} failed; judged once ${t.minSample} devices are decided (${decided} so far)`
          }
          bad={sampled && failureValue >= failureLimit.threshold}
        />
      ) : (
        <p className="text-sm text-slate-600">
          No failure threshold: {t.failed} failed so far; failures never stop it on their own.
        </p>
      )}
    </Card>
  );
}
