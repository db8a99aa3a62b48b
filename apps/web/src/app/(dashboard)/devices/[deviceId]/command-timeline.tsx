'use client';
import { useQuery } from '@tanstack/react-query';
import { Progress } from 'radix-ui';
import { useState } from 'react';
import { Badge, Button, Card, Loading, formatTime } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { ConfirmButton } from './confirm-button';
import { duration, mib, rate } from './format';
import { UNFINISHED_STATES, type CommandSummary } from './types';

const STATE_TONES: Record<string, 'slate' | 'green' | 'amber' | 'red' | 'sky'> = {
  queued: 'slate',
  delivered: 'sky',
  downloading: 'sky',
  rebooting: 'amber',
  verifying: 'amber',
  succeeded: 'green',
  failed: 'red',
  timed_out: 'red',
  rolled_back: 'red',
  cancelled: 'slate',
};

const words = (state: string) => state.replace('_', ' ');

/**
 * Cancel as the lifecycle means it (command-lifecycle.ts): a command the device has not been sent
 * is cancelled outright; once sent, it is a request the device honours only if it has not started.
 */
function CancelCommand({ command, onCancel }: { command: CommandSummary; onCancel: () => void }) {
  if (command.state === 'queued')
    return (
      <ConfirmButton
        title={`Cancel ${command.kind}?`}
        description={
          <p>The device has not been sent this command yet: cancelling it means it will not run.</p>
        }
        confirmLabel="Cancel the command"
        cancelLabel="Keep it"
        onConfirm={onCancel}
        buttonTitle="Not sent to the device yet: cancelling stops it for certain"
      >
        Cancel
      </ConfirmButton>
    );
  const started = command.state !== 'delivered' || command.ackedAt !== null;
  return (
    <ConfirmButton
      title={`Ask the device to cancel ${command.kind}?`}
      description={
        <>
          <p>
            The device has already been sent this command, so it cannot be withdrawn. The device is
            asked to cancel it and does so only if it has not started it; otherwise the command runs
            to its real outcome, and the history records that the request came too late.
          </p>
          {started && (
            <p className="font-medium text-amber-800">
              The device reports it{' '}
              {command.state === 'delivered' ? 'has taken it' : `is ${words(command.state)}`}: it
              will most likely refuse.
            </p>
          )}
        </>
      }
      confirmLabel="Request cancel"
      cancelLabel="Keep it"
      onConfirm={onCancel}
      buttonTitle="Already sent: the device cancels it only if it has not started it"
    >
      Request cancel
    </ConfirmButton>
  );
}

/** The inactive slot being written: percent, rate and time left, from the server's figures. */
function TransferProgress({ command }: { command: CommandSummary }) {
  const { progress, transfer } = command;
  if (!progress) return null;
  if (!transfer)
    return (
      <p className="mt-2 text-xs text-slate-600" data-testid="command-progress">
        {progress.phase}
        {progress.bytesWritten !== undefined && ` · ${mib(progress.bytesWritten)} written`}
        {progress.message && ` · ${progress.message}`}
      </p>
    );
  const percent = transfer.percent;
  return (
    <div className="mt-2 min-w-0" data-testid="command-progress">
      <p className="text-xs text-slate-600">
        downloading · {mib(transfer.bytesWritten)}
        {transfer.totalBytes !== null && ` of ${mib(transfer.totalBytes)}`}
        {percent !== null && ` (${percent.toFixed(0)}%)`} · {rate(transfer.bytesPerSecond)}
        {transfer.secondsLeft !== null && ` · about ${duration(transfer.secondsLeft)} left`}
      </p>
      <Progress.Root
        className="relative mt-1 h-2 w-full max-w-md overflow-hidden rounded bg-slate-200"
        value={percent}
        max={100}
        aria-label={`Writing the inactive slot: ${percent === null ? 'size unknown' : `${percent.toFixed(0)}%`}`}
        data-testid="command-progress-bar"
      >
        <Progress.Indicator
          className="h-full bg-brand-600 transition-[width] duration-500"
          style={{ width: `${percent ?? 0}%` }}
        />
      </Progress.Root>
      <p className="mt-1 text-xs text-slate-500">
        {transfer.startedAt ? `writing since ${formatTime(transfer.startedAt)}, ` : ''}last report{' '}
        {formatTime(transfer.reportedAt)}
      </p>
    </div>
  );
}

function CommandItem({
  command,
  canCancel,
  onCancel,
}: {
  command: CommandSummary;
  canCancel: boolean;
  onCancel: () => void;
}) {
  const [open, setOpen] = useState(false);
  const unfinished = UNFINISHED_STATES.includes(command.state);
  return (
    <li
      className="relative min-w-0 border-b border-slate-100 px-4 py-3 last:border-0"
      data-testid={`command-${command.kind}`}
      data-state={command.state}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="flex min-w-0 flex-wrap items-center gap-2">
          <span className="font-mono text-sm">{command.kind}</span>
          <Badge tone={STATE_TONES[command.state] ?? 'slate'}>{words(command.state)}</Badge>
          {unfinished && command.cancelRequestedAt && (
            <Badge tone="amber">cancel requested: the device decides</Badge>
          )}
          <span className="text-xs text-slate-500">{formatTime(command.createdAt)}</span>
        </span>
        {unfinished && !command.cancelRequestedAt && canCancel && (
          <CancelCommand command={command} onCancel={onCancel} />
        )}
      </div>
      <ol
        className="mt-2 flex flex-wrap items-center gap-x-1 gap-y-1 text-xs text-slate-600"
        aria-label="State changes"
        data-testid="command-timeline"
      >
        {command.stateChanges.map((change, index) => (
          <li key={`${change.state}-${index}`} className="flex items-center gap-1">
            {index > 0 && <span aria-hidden>→</span>}
            <span className="font-medium text-slate-800">{words(change.state)}</span>
            <time dateTime={new Date(change.at).toISOString()} className="text-slate-500">
              {formatTime(change.at)}
            </time>
          </li>
        ))}
      </ol>
      {unfinished && <TransferProgress command={command} />}
      {command.error && (
        <p className="mt-1 break-words text-xs text-red-700">
          {command.errorCode}: {command.error}
        </p>
      )}
      {command.resultData && (
        <p className="mt-1 break-all font-mono text-xs text-slate-600" data-testid="command-result">
          {Object.entries(command.resultData)
            .filter(([, value]) => value !== null && value !== undefined)
            .map(([key, value]) => `${key}=${String(value)}`)
            .join('  ')}
        </p>
      )}
      <details
        className="mt-1 text-xs text-slate-500"
        onToggle={(event) => setOpen(event.currentTarget.open)}
      >
        <summary className="cursor-pointer">{command.eventCount} events</summary>
        {open && <CommandDetails commandId={command.id} />}
      </details>
    </li>
  );
}

/** Events and output of one command, fetched only while its details are open. */
function CommandDetails({ commandId }: { commandId: string }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.devices.command.queryOptions({ commandId }));
  if (detail.error) return <p role="alert">{errorMessage(detail.error)}</p>;
  if (!detail.data) return <Loading what="the events" />;
  return (
    <>
      <ol className="ml-4 list-disc">
        {detail.data.events.map((event) => (
          <li key={event.id} className="break-words">
            {formatTime(event.createdAt)} {event.state && <strong>{event.state}</strong>}{' '}
            {event.message}
          </li>
        ))}
      </ol>
      {detail.data.output && (
        <pre className="mt-1 max-h-48 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2">
          {detail.data.output}
        </pre>
      )}
    </>
  );
}

interface CommandPages {
  list: CommandSummary[] | undefined;
  error: unknown;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** The device's command history, newest first, a page at a time. */
export function CommandTimeline({
  commands,
  canCancel,
  onCancel,
}: {
  commands: CommandPages;
  canCancel: boolean;
  onCancel: (commandId: string) => void;
}) {
  const { list } = commands;
  return (
    <Card className="min-w-0">
      <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">Commands</h2>
      {commands.error !== null && commands.error !== undefined && (
        <p role="alert" className="p-4 text-sm text-red-700">
          {errorMessage(commands.error)}
        </p>
      )}
      {list?.length === 0 && (
        <p className="p-4 text-sm text-slate-500">No commands sent to this device yet.</p>
      )}
      <ul data-testid="commands">
        {list?.map((command) => (
          <CommandItem
            key={command.id}
            command={command}
            canCancel={canCancel}
            onCancel={() => onCancel(command.id)}
          />
        ))}
      </ul>
      {commands.hasNextPage && (
        <div className="border-t border-slate-100 px-4 py-3">
          <Button
            variant="secondary"
            disabled={commands.isFetchingNextPage}
            onClick={() => void commands.fetchNextPage()}
          >
            {commands.isFetchingNextPage ? 'Loading…' : 'Older commands'}
          </Button>
        </div>
      )}
    </Card>
  );
}
