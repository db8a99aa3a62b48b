'use client';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useState, type FormEvent, type ReactNode } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  Field,
  Loading,
  PageHeader,
  Select,
  TextInput,
  formatTime,
} from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';
import { formText } from '~/lib/form';
import { formatLabels } from '~/lib/labels';

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

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs uppercase text-slate-500">{label}</dt>
      <dd className="mt-0.5 break-all text-sm">{children ?? '—'}</dd>
    </div>
  );
}

function mib(bytes: number | null | undefined) {
  return bytes === null || bytes === undefined ? '—' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export default function DevicePage() {
  const { deviceId } = useParams<{ deviceId: string }>();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan('device.operate');
  const canEnroll = useCan('device.enroll');
  const device = useQuery(trpc.devices.get.queryOptions({ deviceId }, { refetchInterval: 3_000 }));
  // the history a page at a time (summaries only); older pages load on demand
  const commands = useInfiniteQuery(
    trpc.devices.commands.infiniteQueryOptions(
      { deviceId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor, refetchInterval: 2_000 },
    ),
  );
  const commandList = commands.data?.pages.flatMap((page) => page.items);
  const [engine, setEngine] = useState<'podman' | 'firecracker'>('podman');
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.devices.commands.pathKey() });
  };
  const send = useMutation(trpc.devices.sendCommand.mutationOptions({ onSuccess: refresh }));
  const apply = useMutation(trpc.devices.applyVersion.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.devices.cancelCommand.mutationOptions({ onSuccess: refresh }));
  const decommission = useMutation(
    trpc.devices.decommission.mutationOptions({ onSuccess: () => router.push('/devices') }),
  );

  if (device.error) return <p role="alert">{errorMessage(device.error)}</p>;
  if (!device.data) return <Loading what="the device" />;
  const d = device.data;
  const accepted = d.status === 'accepted';

  function onRegister(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => formText(form, name).trim() || undefined;
    const params =
      engine === 'podman'
        ? {
            engine,
            container: value('source'),
            app: value('app'),
            target: value('target'),
            base: value('base'),
          }
        : { engine, vm: value('source'), app: value('app'), target: value('target') };
    send.mutate({ deviceId, kind: 'flake.register', params });
  }

  return (
    <>
      <PageHeader
        title={d.name}
        description={`Device ${d.id}`}
        actions={
          <div className="flex gap-2">
            <Badge tone={d.online ? 'green' : 'slate'}>{d.online ? 'online' : 'offline'}</Badge>
            <Badge tone={accepted ? 'sky' : 'amber'}>{d.status}</Badge>
          </div>
        }
      />
      {(send.error ?? apply.error ?? cancel.error ?? decommission.error) && (
        <div className="mb-4">
          <Alert>
            {errorMessage(send.error ?? apply.error ?? cancel.error ?? decommission.error)}
          </Alert>
        </div>
      )}
      <div className="grid grid-cols-1 gap-6 xl:grid-cols-3">
        <Card className="p-4 xl:col-span-2">
          <h2 className="mb-3 font-medium text-ink">Inventory</h2>
          <dl className="grid grid-cols-2 gap-4 md:grid-cols-3" data-testid="inventory">
            <Fact label="Running version">
              <span data-testid="running-version">{d.runningVersion}</span>{' '}
              {d.outOfDate && <Badge tone="amber">out of date</Badge>}
            </Fact>
            <Fact label="Recommended">{d.recommendedVersion?.displayName ?? 'none set'}</Fact>
            <Fact label="Root prefix hash">
              <span className="font-mono text-xs" data-testid="root-prefix-hash">
                {d.rootPrefixHash}
              </span>
            </Fact>
            <Fact label="Active slot">
              <span data-testid="active-slot">{d.activeSlot}</span>
            </Fact>
            <Fact label="Slot size">{mib(d.slotSize)}</Fact>
            <Fact label="Image">{d.imageName}</Fact>
            <Fact label="Update server">
              {d.registeredUpdateServer ? (
                <Link className="text-brand-700 underline" href="/update-servers">
                  {d.registeredUpdateServer.name}
                </Link>
              ) : (
                <span>
                  {d.configuredUpdateServer ?? '—'}
                  {d.updateServerProblem && (
                    <span className="block text-xs text-amber-700">
                      unknown server: {d.updateServerProblem}
                    </span>
                  )}
                </span>
              )}
            </Fact>
            <Fact label="Arch / profile">{`${d.arch ?? '—'} / ${d.profile ?? '—'}`}</Fact>
            <Fact label="OS">{d.osRelease?.prettyName ?? d.osRelease?.name}</Fact>
            <Fact label="Commit pending">
              {d.commitPending ? 'yes (booted, not committed)' : 'no'}
            </Fact>
            <Fact label="Agent">{d.agentVersion}</Fact>
            <Fact label="State area free">{mib(d.stateDiskFree)}</Fact>
            <Fact label="Last seen">{formatTime(d.lastSeenAt)}</Fact>
            <Fact label="Labels">{formatLabels(d.labels) || '—'}</Fact>
          </dl>
          <h3 className="mb-2 mt-5 text-sm font-medium text-ink">Flakes</h3>
          {d.flakes.length === 0 ? (
            <p className="text-sm text-slate-500">No workloads registered.</p>
          ) : (
            <ul className="space-y-1 text-sm" data-testid="flakes">
              {d.flakes.map((flake) => (
                <li
                  key={`${flake.engine}:${flake.name}`}
                  className="flex items-center justify-between"
                >
                  <span>
                    <Badge>{flake.engine}</Badge> <span className="font-medium">{flake.name}</span>{' '}
                    <span className="text-xs text-slate-500">{flake.appPath}</span>
                  </span>
                  {canOperate && accepted && flake.appPath && (
                    <Button
                      variant="secondary"
                      onClick={() =>
                        send.mutate({
                          deviceId,
                          kind: 'flake.remove',
                          params: { engine: flake.engine, app: flake.appPath },
                        })
                      }
                    >
                      Remove
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>

        {canOperate && accepted && (
          <Card className="space-y-4 p-4">
            <h2 className="font-medium text-ink">Actions</h2>
            <div className="flex flex-wrap gap-2">
              <Button onClick={() => send.mutate({ deviceId, kind: 'check', params: {} })}>
                Check for update
              </Button>
              <Button
                variant="secondary"
                onClick={() => send.mutate({ deviceId, kind: 'inventory.refresh', params: {} })}
              >
                Refresh inventory
              </Button>
              <Button
                variant="danger"
                onClick={() => {
                  if (window.confirm('Point the boot loader at the other slot and reboot?'))
                    send.mutate({ deviceId, kind: 'rollback', params: {} });
                }}
              >
                Roll back
              </Button>
            </div>
            <ApplyVersionPicker
              deviceId={deviceId}
              pending={apply.isPending}
              onApply={(imageVersionId) => apply.mutate({ deviceId, imageVersionId })}
            />
            <form
              onSubmit={onRegister}
              noValidate
              aria-label="Register flake"
              className="space-y-2 border-t border-slate-200 pt-3"
            >
              <Field label="Register a flake">
                <Select
                  value={engine}
                  onChange={(event) => setEngine(event.target.value as 'podman' | 'firecracker')}
                >
                  <option value="podman">container (podman)</option>
                  <option value="firecracker">VM (firecracker)</option>
                </Select>
              </Field>
              <Field label={engine === 'podman' ? 'Container' : 'VM name'}>
                <TextInput
                  name="source"
                  placeholder={engine === 'podman' ? 'suse-apps/lynx' : 'leap'}
                />
              </Field>
              <Field label="App path">
                <TextInput name="app" placeholder="/usr/share/flakes/bin/lynx" />
              </Field>
              <Field label="Target (optional)">
                <TextInput name="target" placeholder="/usr/bin/lynx" />
              </Field>
              {engine === 'podman' && (
                <Field label="Base container (optional)">
                  <TextInput name="base" placeholder="basesystem" />
                </Field>
              )}
              <Button type="submit">Register</Button>
            </form>
            {canEnroll && (
              <div className="border-t border-slate-200 pt-3">
                <Button
                  variant="danger"
                  onClick={() => {
                    if (
                      window.confirm(
                        'Decommission this device? It will be disconnected and refused from now on.',
                      )
                    )
                      decommission.mutate({ deviceId });
                  }}
                >
                  Decommission
                </Button>
              </div>
            )}
          </Card>
        )}
      </div>

      <Card className="mt-6">
        <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">Commands</h2>
        {commandList?.length === 0 && (
          <p className="p-4 text-sm text-slate-500">No commands sent to this device yet.</p>
        )}
        <ul data-testid="commands">
          {commandList?.map((command) => (
            <CommandItem
              key={command.id}
              command={command}
              canCancel={canOperate}
              onCancel={() => cancel.mutate({ commandId: command.id })}
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
    </>
  );
}

/**
 * The versions this device's update server offers (never blocked ones), with what matters to
 * choose: label, hash prefix, size, whether it fits the slot. The apply is pinned to the pick.
 */
function ApplyVersionPicker({
  deviceId,
  pending,
  onApply,
}: {
  deviceId: string;
  pending: boolean;
  onApply: (imageVersionId: string) => void;
}) {
  const trpc = useTRPC();
  const options = useQuery(
    trpc.devices.applicableVersions.queryOptions({ deviceId }, { refetchInterval: 10_000 }),
  );
  const [picked, setPicked] = useState('');
  if (options.error) return <Alert>{errorMessage(options.error)}</Alert>;
  if (!options.data) return <Loading what="the versions" />;
  const { versions, problem, updateServer } = options.data;
  const choice = versions.find((version) => version.id === picked);
  const refusal = !choice
    ? null
    : choice.fits === false
      ? "does not fit the device's slot"
      : !choice.applicable
        ? 'its server does not publish the whole-root sha256'
        : choice.running
          ? 'the device runs it already'
          : null;
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (choice && !refusal) onApply(choice.id);
  }
  return (
    <form
      onSubmit={onSubmit}
      noValidate
      aria-label="Apply update"
      className="space-y-2 border-t border-slate-200 pt-3"
    >
      <h3 className="text-sm font-medium text-ink">Apply an image version</h3>
      {problem ? (
        <p className="text-sm text-amber-800">{problem}</p>
      ) : versions.length === 0 ? (
        <p className="text-sm text-slate-500">
          {updateServer?.name} offers no versions yet (none polled, or all blocked).
        </p>
      ) : (
        <>
          <Field label={`Version (from ${updateServer?.name ?? 'its update server'})`}>
            <Select
              name="imageVersionId"
              value={picked}
              onChange={(event) => setPicked(event.target.value)}
            >
              <option value="">Choose a version…</option>
              {versions.map((version) => (
                <option key={version.id} value={version.id} disabled={version.fits === false}>
                  {version.displayName} · {version.rootPrefixHash.slice(0, 12)} ·{' '}
                  {mib(version.rootPartitionSize)}
                  {version.recommended ? ' · recommended' : ''}
                  {version.running ? ' · running' : ''}
                  {version.fits === false ? ' · does not fit the slot' : ''}
                </option>
              ))}
            </Select>
          </Field>
          {choice && (
            <p className="text-xs text-slate-500" data-testid="apply-choice">
              {choice.imageName} {choice.label ?? ''}: root {mib(choice.rootPartitionSize)}
              {options.data.slotSize !== null
                ? ` of a ${mib(options.data.slotSize)} slot`
                : ' (slot size not reported)'}
              . Pinned to {choice.pinnedName}; the device commits only if the slot hashes to this
              version&apos;s sha256.
            </p>
          )}
          {refusal && <p className="text-xs text-red-700">Cannot apply: {refusal}.</p>}
          <Button type="submit" disabled={!choice || refusal !== null || pending}>
            Apply update
          </Button>
        </>
      )}
    </form>
  );
}

type CommandSummary = inferRouterOutputs<AppRouter>['devices']['commands']['items'][number];

const WAITING_STATES = ['queued', 'delivered', 'downloading', 'rebooting', 'verifying'];

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
  const progress = command.progress;
  const percent =
    progress?.bytesWritten && progress.totalBytes
      ? Math.min(100, (100 * progress.bytesWritten) / progress.totalBytes)
      : null;
  const waiting = WAITING_STATES.includes(command.state);
  return (
    <li
      className="border-b border-slate-100 px-4 py-3 last:border-0"
      data-testid={`command-${command.kind}`}
      data-state={command.state}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="flex items-center gap-2">
          <span className="font-mono text-sm">{command.kind}</span>
          <Badge tone={STATE_TONES[command.state] ?? 'slate'}>
            {command.state.replace('_', ' ')}
          </Badge>
          {waiting && command.cancelRequestedAt && <Badge tone="amber">cancel requested</Badge>}
          <span className="text-xs text-slate-500">{formatTime(command.createdAt)}</span>
        </span>
        {waiting && !command.cancelRequestedAt && canCancel && (
          <Button
            variant="secondary"
            onClick={onCancel}
            title={
              command.state === 'queued'
                ? 'Not sent yet: it will not run'
                : 'Already sent: the device cancels it only if it has not started it'
            }
          >
            {command.state === 'queued' ? 'Cancel' : 'Request cancel'}
          </Button>
        )}
      </div>
      {progress && !command.completedAt && (
        <p className="mt-1 text-xs text-slate-600" data-testid="command-progress">
          {progress.phase}
          {progress.bytesWritten !== undefined &&
            ` · ${mib(progress.bytesWritten)}${progress.totalBytes ? ` of ${mib(progress.totalBytes)}` : ''}`}
          {percent !== null && (
            <span className="ml-2 inline-block h-1.5 w-40 rounded bg-slate-200 align-middle">
              <span className="block h-1.5 rounded bg-brand-600" style={{ width: `${percent}%` }} />
            </span>
          )}
        </p>
      )}
      {command.error && (
        <p className="mt-1 text-xs text-red-700">
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
        <summary>{command.eventCount} events</summary>
        {open && <CommandDetails commandId={command.id} live={waiting} />}
      </details>
    </li>
  );
}

/** Events and output of one command, fetched only while its details are open. */
function CommandDetails({ commandId, live }: { commandId: string; live: boolean }) {
  const trpc = useTRPC();
  const detail = useQuery(
    trpc.devices.command.queryOptions({ commandId }, { refetchInterval: live ? 2_000 : false }),
  );
  if (detail.error) return <p role="alert">{errorMessage(detail.error)}</p>;
  if (!detail.data) return <Loading what="the events" />;
  return (
    <>
      <ol className="ml-4 list-disc">
        {detail.data.events.map((event) => (
          <li key={event.id}>
            {formatTime(event.createdAt)} {event.state && <strong>{event.state}</strong>}{' '}
            {event.message}
          </li>
        ))}
      </ol>
      {detail.data.output && (
        <pre className="mt-1 max-h-48 overflow-auto rounded bg-slate-100 p-2">
          {detail.data.output}
        </pre>
      )}
    </>
  );
}
