'use client';
// The device page: identity and facts, the A/B slots, version and apply, flakes, the command
// timeline and the device's audit entries. Data comes from react-query and stays current through
// the live push channel (trpc/live-topics.ts: a device's and its commands' notices mark every
// devices.* query about it stale, progress included): no polling here.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams, useRouter } from 'next/navigation';
import { useState } from 'react';
import { useCan } from '~/components/session';
import { Alert, Badge, Loading, PageHeader } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { CommandTimeline } from './command-timeline';
import { DeviceActions } from './device-actions';
import { DeviceAudit } from './device-audit';
import { DeviceFacts } from './device-facts';
import { FlakesPanel } from './flakes-panel';
import { RolloutTrace } from './rollout-trace';
import { SlotPanel } from './slot-panel';
import { VersionPanel } from './version-panel';

export default function DevicePage() {
  const { deviceId } = useParams<{ deviceId: string }>();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan('device.operate');
  const canEnroll = useCan('device.enroll');
  const canReadAudit = useCan('audit.read');
  const canReadRollouts = useCan('rollout.read');
  const [notice, setNotice] = useState<string | null>(null);
  const device = useQuery(trpc.devices.get.queryOptions({ deviceId }));
  const commands = useInfiniteQuery(
    trpc.devices.commands.infiniteQueryOptions(
      { deviceId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );

  const refresh = async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.devices.commands.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.devices.audit.pathKey() }),
    ]);
  };
  const send = useMutation(
    trpc.devices.sendCommand.mutationOptions({
      onSuccess: (command) => {
        setNotice(`${command.kind} queued for the device.`);
        return refresh();
      },
    }),
  );
  const apply = useMutation(
    trpc.devices.applyVersion.mutationOptions({
      onSuccess: () => {
        setNotice('Apply queued: the device writes its inactive slot, then reboots into it.');
        return refresh();
      },
    }),
  );
  const cancel = useMutation(
    trpc.devices.cancelCommand.mutationOptions({
      onSuccess: ({ outcome }) => {
        setNotice(
          outcome === 'cancelled'
            ? 'Cancelled: the device was never sent it, it will not run.'
            : 'Cancel requested: the device cancels only if it has not started the command.',
        );
        return refresh();
      },
    }),
  );
  const decommission = useMutation(
    trpc.devices.decommission.mutationOptions({ onSuccess: () => router.push('/devices') }),
  );

  if (device.error) return <p role="alert">{errorMessage(device.error)}</p>;
  if (!device.data) return <Loading what="the device" />;
  const d = device.data;
  const accepted = d.status === 'accepted';
  const operate = canOperate && accepted;
  const failure = send.error ?? apply.error ?? cancel.error ?? decommission.error;

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
      {(failure ?? notice) && (
        <div className="mb-4">
          {failure ? <Alert>{errorMessage(failure)}</Alert> : <Alert tone="info">{notice}</Alert>}
        </div>
      )}
      <div className="grid min-w-0 grid-cols-1 gap-6 xl:grid-cols-3">
        <div className="min-w-0 space-y-6 xl:col-span-2">
          <DeviceFacts device={d} />
          <SlotPanel device={d} />
          <CommandTimeline
            commands={{
              list: commands.data?.pages.flatMap((page) => page.items),
              error: commands.error,
              hasNextPage: commands.hasNextPage,
              isFetchingNextPage: commands.isFetchingNextPage,
              fetchNextPage: () => commands.fetchNextPage(),
            }}
            canCancel={canOperate}
            onCancel={(commandId) => cancel.mutate({ commandId })}
          />
        </div>
        <div className="min-w-0 space-y-6">
          <VersionPanel
            device={d}
            canApply={operate}
            applying={apply.isPending}
            onApply={(imageVersionId) => apply.mutate({ deviceId, imageVersionId })}
          />
          {(operate || (canEnroll && d.status !== 'decommissioned')) && (
            <DeviceActions
              device={d}
              canOperate={operate}
              canEnroll={canEnroll && d.status !== 'decommissioned'}
              pending={send.isPending}
              onCommand={(kind) => send.mutate({ deviceId, kind, params: {} })}
              onDecommission={() => decommission.mutate({ deviceId })}
            />
          )}
          {canReadRollouts && <RolloutTrace deviceId={deviceId} />}
          <FlakesPanel
            device={d}
            canOperate={operate}
            pending={send.isPending}
            onSend={(command) => send.mutate({ deviceId, ...command })}
          />
          {canReadAudit && <DeviceAudit deviceId={deviceId} />}
        </div>
      </div>
    </>
  );
}
