'use client';
// The bulk action bar of the Devices table: label, check, apply a catalog version (picked from the
// catalog, never a pasted hash), rollback, decommission. Every action opens a confirmation dialog
// with the server's preview: how many devices it touches, what it does, who is skipped and why.
// "New rollout…" opens the rollout form with the selection as its target (rollout-target-url.ts),
// or says in words why this selection cannot be one.
import type { DeviceFilter } from '@eos-fleet/shared/device-filter';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { AlertDialog } from 'radix-ui';
import { useId, useState } from 'react';
import { useCan } from '~/components/session';
import { Alert, Button } from '~/components/ui';
import { formatLabels } from '~/lib/labels';
import { errorMessage, useTRPC } from '~/trpc/react';
import {
  MAX_PICKED_DEVICES,
  newRolloutHref,
  targetOfFilter,
  type PrefilledTarget,
} from '../rollouts/new/rollout-target-url';

export type BulkTarget = { ids: string[] } | { filter: DeviceFilter };
type Action =
  | { type: 'setLabel'; key: string; value: string }
  | { type: 'removeLabel'; key: string }
  | { type: 'check' }
  | { type: 'rollback' }
  | { type: 'apply'; imageVersionId: string }
  | { type: 'decommission' };

const input =
  'rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-brand-600 focus:outline-none';

export function BulkActionBar({
  target,
  count,
  onDone,
}: {
  target: BulkTarget;
  /** devices selected, as the table counts them */
  count: number;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const canOperate = useCan('device.operate');
  const canEnroll = useCan('device.enroll');
  const canPlanRollouts = useCan('rollout.manage');
  const router = useRouter();
  const rolloutNoteId = useId();
  const rollout = rolloutTargetOf(target, count);
  const [action, setAction] = useState<Action | null>(null);
  const [labelKey, setLabelKey] = useState('');
  const [labelValue, setLabelValue] = useState('');
  const [versionId, setVersionId] = useState('');
  const images = useQuery(trpc.catalog.images.queryOptions(undefined, { staleTime: 60_000 }));
  const versions =
    images.data?.flatMap((image) =>
      image.versions.filter((v) => !v.blocked && v.available && v.rootSha256),
    ) ?? [];
  if (!canOperate) return null;

  return (
    <div
      className="mb-3 flex flex-wrap items-center gap-2 rounded-md border border-brand-100 bg-sky-50 px-3 py-2 text-sm"
      data-testid="bulk-bar"
    >
      <span className="font-medium">{count} selected</span>
      <span className="mx-1 h-5 w-px bg-slate-300" />
      <input
        className={`${input} w-28`}
        placeholder="label key"
        aria-label="Label key"
        value={labelKey}
        onChange={(e) => setLabelKey(e.target.value)}
      />
      <input
        className={`${input} w-28`}
        placeholder="value"
        aria-label="Label value"
        value={labelValue}
        onChange={(e) => setLabelValue(e.target.value)}
      />
      <Button
        variant="secondary"
        disabled={!labelKey}
        onClick={() => setAction({ type: 'setLabel', key: labelKey, value: labelValue })}
      >
        Set label
      </Button>
      <Button
        variant="secondary"
        disabled={!labelKey}
        onClick={() => setAction({ type: 'removeLabel', key: labelKey })}
      >
        Remove label
      </Button>
      <span className="mx-1 h-5 w-px bg-slate-300" />
      <Button variant="secondary" onClick={() => setAction({ type: 'check' })}>
        Check
      </Button>
      <select
        className={`${input} max-w-52`}
        aria-label="Version to apply"
        value={versionId}
        onChange={(e) => setVersionId(e.target.value)}
      >
        <option value="">Version to apply…</option>
        {versions.map((v) => (
          <option key={v.id} value={v.id}>
            {v.displayName}
            {v.recommended ? ' (recommended)' : ''}
          </option>
        ))}
      </select>
      <Button
        variant="secondary"
        disabled={!versionId}
        onClick={() => setAction({ type: 'apply', imageVersionId: versionId })}
      >
        Apply
      </Button>
      <Button variant="secondary" onClick={() => setAction({ type: 'rollback' })}>
        Roll back
      </Button>
      {canPlanRollouts && (
        <>
          <span className="mx-1 h-5 w-px bg-slate-300" />
          <Button
            variant="secondary"
            disabled={!rollout.prefilled}
            aria-describedby={rollout.note ? rolloutNoteId : undefined}
            onClick={() => rollout.prefilled && router.push(newRolloutHref(rollout.prefilled))}
          >
            New rollout…
          </Button>
        </>
      )}
      {canEnroll && (
        <Button variant="danger" onClick={() => setAction({ type: 'decommission' })}>
          Decommission
        </Button>
      )}
      {canPlanRollouts && rollout.note && (
        <p
          id={rolloutNoteId}
          className="basis-full text-xs text-slate-600"
          data-testid="new-rollout-note"
        >
          {rollout.note}
        </p>
      )}
      {action && (
        <ConfirmBulk
          target={target}
          action={action}
          onClose={(done) => {
            setAction(null);
            if (done) onDone();
          }}
        />
      )}
    </div>
  );
}

/**
 * The selection as a rollout's target: a list of ids up to MAX_PICKED_DEVICES, or, for everything
 * matching a filter that is only labels (or only an image name), that target. Otherwise none, and
 * the note says why, with the way that works: label them, target the label.
 */
function rolloutTargetOf(
  target: BulkTarget,
  count: number,
): { prefilled: PrefilledTarget | null; note: string | null } {
  const devices = `${count.toLocaleString('en-US')} device${count === 1 ? '' : 's'}`;
  if ('ids' in target)
    return target.ids.length <= MAX_PICKED_DEVICES
      ? { prefilled: { kind: 'deviceIds', deviceIds: target.ids }, note: null }
      : {
          prefilled: null,
          note: `A rollout's device list holds at most ${MAX_PICKED_DEVICES} devices here. For these ${devices}, set a label on them (above) and target the label.`,
        };
  const prefilled = targetOfFilter(target.filter);
  if (prefilled?.kind === 'labels')
    return {
      prefilled,
      note: `New rollout… targets the labels ${formatLabels(prefilled.labels)}: the same devices, and any that get the labels later if the rollout is dynamic.`,
    };
  if (prefilled?.kind === 'imageName')
    return {
      prefilled,
      note: `New rollout… targets the image name ${prefilled.imageName}: the same devices.`,
    };
  return {
    prefilled: null,
    note: `"Everything matching this filter" is no rollout target: a rollout targets labels, an image name or a list of at most ${MAX_PICKED_DEVICES} devices. Set a label on these ${devices} (above) and target the label, or select at most ${MAX_PICKED_DEVICES}.`,
  };
}

function ConfirmBulk({
  target,
  action,
  onClose,
}: {
  target: BulkTarget;
  action: Action;
  onClose: (done: boolean) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const decommission = action.type === 'decommission';
  const preview = useQuery({
    ...(decommission
      ? trpc.devices.bulkDecommissionPreview.queryOptions({ target })
      : trpc.devices.bulkPreview.queryOptions({ target, action })),
    staleTime: 0,
    retry: false,
  });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.devices.pathKey() });
  const run = useMutation(trpc.devices.bulk.mutationOptions({ onSuccess: invalidate }));
  const runDecommission = useMutation(
    trpc.devices.bulkDecommission.mutationOptions({ onSuccess: invalidate }),
  );
  const mutation = decommission ? runDecommission : run;
  const result = mutation.data;
  const plan = result ?? preview.data;

  return (
    <AlertDialog.Root open onOpenChange={(open) => !open && onClose(Boolean(result))}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
        <AlertDialog.Content
          className="fixed left-1/2 top-1/2 z-50 w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl focus:outline-none"
          data-testid="bulk-dialog"
        >
          <AlertDialog.Title className="text-base font-semibold text-ink">
            {result ? 'Done' : 'Confirm the bulk action'}
          </AlertDialog.Title>
          <AlertDialog.Description asChild>
            <div className="mt-3 space-y-2 text-sm text-slate-700">
              {preview.isPending && <p>Counting the devices it touches…</p>}
              {preview.error && <Alert>{errorMessage(preview.error)}</Alert>}
              {plan && (
                <>
                  <p className="font-medium" data-testid="bulk-summary">
                    {result
                      ? `${result.acting} device${result.acting === 1 ? '' : 's'} done. `
                      : ''}
                    {plan.summary}
                  </p>
                  <p>
                    {plan.matched} device{plan.matched === 1 ? '' : 's'} selected.
                  </p>
                  {plan.skipped.length > 0 && (
                    <ul className="list-disc pl-5" aria-label="Skipped">
                      {plan.skipped.map((s) => (
                        <li key={s.reason}>
                          {s.count} skipped: {s.reason}
                        </li>
                      ))}
                    </ul>
                  )}
                  {plan.notes.map((n) => (
                    <p key={n.note} className="text-slate-500">
                      {n.count} {n.note}
                    </p>
                  ))}
                </>
              )}
              {mutation.error && <Alert>{errorMessage(mutation.error)}</Alert>}
            </div>
          </AlertDialog.Description>
          <div className="mt-5 flex justify-end gap-2">
            <AlertDialog.Cancel asChild>
              <Button variant="secondary">{result ? 'Close' : 'Cancel'}</Button>
            </AlertDialog.Cancel>
            {!result && (
              <Button
                variant={decommission ? 'danger' : 'primary'}
                disabled={!preview.data || preview.data.acting === 0 || mutation.isPending}
                onClick={() =>
                  decommission ? runDecommission.mutate({ target }) : run.mutate({ target, action })
                }
              >
                {mutation.isPending
                  ? 'Working…'
                  : `Do it on ${preview.data?.acting ?? '…'} device${preview.data?.acting === 1 ? '' : 's'}`}
              </Button>
            )}
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
