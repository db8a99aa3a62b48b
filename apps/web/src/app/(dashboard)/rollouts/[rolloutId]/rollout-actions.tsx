'use client';
// What an operator may do to a rollout now: each action only in the states the server accepts it
// (services/rollouts/rollouts.ts inTransition) and only for a role with rollout.manage, each
// behind a confirmation that says what it does. The server checks both again.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { useState, type ReactNode } from 'react';
import { Alert, Button, Checkbox, ConfirmDialog } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';

type Rollout = inferRouterOutputs<AppRouter>['rollouts']['get'];
type Action =
  'start' | 'pause' | 'resume' | 'approveNextBatch' | 'abort' | 'retryFailed' | 'revert';

export function RolloutActions({ rollout }: { rollout: Rollout }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState<Action | null>(null);
  const [revertToo, setRevertToo] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const onSuccess = async (message: string) => {
    setOpen(null);
    setNotice(message);
    await queryClient.invalidateQueries({ queryKey: trpc.rollouts.pathKey() });
  };
  const options = (message: string) => ({ onSuccess: () => onSuccess(message) });
  const mutations = {
    start: useMutation(
      trpc.rollouts.start.mutationOptions(options('Started: the scheduler takes it from here.')),
    ),
    pause: useMutation(
      trpc.rollouts.pause.mutationOptions(options('Paused: no new applies until resumed.')),
    ),
    resume: useMutation(trpc.rollouts.resume.mutationOptions(options('Resumed.'))),
    approveNextBatch: useMutation(
      trpc.rollouts.approveNextBatch.mutationOptions(
        options('Approved: the batch starts at the next tick.'),
      ),
    ),
    abort: useMutation(trpc.rollouts.abort.mutationOptions(options('Aborted.'))),
    retryFailed: useMutation(
      trpc.rollouts.retryFailed.mutationOptions({
        onSuccess: ({ devices }) => onSuccess(`${devices} failed devices are scheduled again.`),
      }),
    ),
    revert: useMutation(
      trpc.rollouts.revert.mutationOptions({
        onSuccess: ({ devices }) =>
          onSuccess(`${devices} devices sent back to their previous slot.`),
      }),
    ),
  };
  const state = rollout.state;
  const inState = (...states: string[]) => states.includes(state);
  const awaiting = rollout.batches.find(
    (b) =>
      b.gate === 'manual' &&
      !b.approved &&
      (b.state === 'pending' || b.state === 'awaiting_approval'),
  );
  const took = rollout.devices.succeeded;
  const stoppable = inState('running', 'paused');

  const action = (
    kind: Action,
    shown: boolean,
    label: string,
    title: string,
    description: ReactNode,
    confirmLabel: string,
    tone: 'primary' | 'danger' = 'primary',
    extra?: ReactNode,
  ) => {
    if (!shown) return null;
    const mutation =
      kind === 'abort' && revertToo && stoppable ? mutations.revert : mutations[kind];
    return (
      <ConfirmDialog
        key={kind}
        open={open === kind}
        onOpenChange={(value) => {
          setOpen(value ? kind : null);
          if (!value) mutation.reset();
        }}
        title={title}
        description={
          <>
            {description}
            {extra}
          </>
        }
        confirmLabel={confirmLabel}
        tone={tone}
        pending={mutation.isPending}
        error={mutation.error ? errorMessage(mutation.error) : null}
        onConfirm={() => mutation.mutate({ rolloutId: rollout.id })}
        trigger={<Button variant={tone === 'danger' ? 'danger' : 'secondary'}>{label}</Button>}
      />
    );
  };

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2" role="group" aria-label="Rollout actions">
        {action(
          'start',
          inState('draft'),
          'Start',
          'Start this rollout?',
          'It is scheduled now: its first batch starts at the next tick (inside its window, after its start time).',
          'Start rollout',
        )}
        {action(
          'approveNextBatch',
          inState('scheduled', 'running', 'paused') && awaiting !== undefined,
          `Approve batch ${(awaiting?.index ?? 0) + 1}`,
          `Approve batch ${(awaiting?.index ?? 0) + 1}?`,
          `Its ${awaiting?.total ?? 0} devices start taking ${rollout.version} once the batch before it is done${state === 'paused' ? ' and the rollout is resumed' : ''}.`,
          'Approve',
        )}
        {action(
          'pause',
          inState('scheduled', 'running'),
          'Pause',
          'Pause this rollout?',
          'No new applies start until it is resumed. Applies already sent finish (or time out) on their own.',
          'Pause rollout',
        )}
        {action(
          'resume',
          inState('paused'),
          'Resume',
          'Resume this rollout?',
          `Applies start again where it stopped${rollout.stateReason ? ` (it was paused: ${rollout.stateReason})` : ''}.`,
          'Resume rollout',
        )}
        {action(
          'retryFailed',
          inState('running', 'paused') && rollout.devices.failed > 0,
          `Retry ${rollout.devices.failed} failed`,
          'Retry the failed devices?',
          `The ${rollout.devices.failed} failed or timed-out devices are scheduled again in their batches; their batches reopen.`,
          'Retry failed devices',
        )}
        {action(
          'abort',
          inState('draft', 'scheduled', 'running', 'paused'),
          'Abort',
          'Abort this rollout?',
          <>
            No new applies; devices that have not started are skipped. Applies already sent finish
            or time out.{' '}
            {rollout.options.rollbackOnAbort
              ? `It rolls back on abort: the ${took} devices that took ${rollout.version} go back to their previous slot.`
              : 'Devices that took the version keep it.'}{' '}
            This cannot be undone.
          </>,
          'Abort rollout',
          'danger',
          !rollout.options.rollbackOnAbort && stoppable && took > 0 ? (
            <span className="mt-3 block">
              <Checkbox
                checked={revertToo}
                onCheckedChange={setRevertToo}
                label={`Also send the ${took} devices that took it back to their previous slot`}
              />
            </span>
          ) : null,
        )}
        {action(
          'revert',
          inState('running', 'paused', 'completed', 'aborted', 'failed') && took > 0,
          'Revert',
          'Revert this rollout?',
          `The ${took} devices that took ${rollout.version} are sent back to their previous slot (no download: EOS switches slots and reboots).${stoppable ? ' The rollout is aborted first.' : ''}`,
          `Revert ${took} devices`,
          'danger',
        )}
      </div>
      {notice && <Alert tone="success">{notice}</Alert>}
    </div>
  );
}
