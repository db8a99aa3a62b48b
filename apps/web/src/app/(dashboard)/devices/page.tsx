'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Suspense } from 'react';
import { useCan } from '~/components/session';
import { Alert, Button, Card, EmptyState, Loading, PageHeader } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { DevicesTable } from './devices-table';
import { EnrollmentTokens } from './enrollment-tokens';

export default function DevicesPage() {
  return (
    <>
      <PageHeader
        title="Devices"
        description="Every EOS device that has enrolled, with what it runs and whether it is online."
      />
      <EnrollmentTokens />
      <PendingDevices />
      <Suspense fallback={<Loading what="devices" />}>
        <DevicesTable />
      </Suspense>
    </>
  );
}

/** Devices waiting for an operator to accept them (at most a page: they are few, or a problem). */
function PendingDevices() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canEnroll = useCan('device.enroll');
  const pendingQuery = useQuery(
    trpc.devices.page.queryOptions(
      { status: 'pending', sort: 'createdAt', dir: 'desc', pageSize: 50 },
      { staleTime: 10_000 },
    ),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.devices.pathKey() });
  const accept = useMutation(trpc.devices.accept.mutationOptions({ onSettled: refresh }));
  const reject = useMutation(trpc.devices.reject.mutationOptions({ onSettled: refresh }));
  const pending = pendingQuery.data?.rows ?? [];
  const fleetEmpty = useQuery(
    trpc.devices.page.queryOptions({ pageSize: 1 }, { staleTime: 10_000 }),
  );

  return (
    <>
      {(accept.error ?? reject.error) && (
        <div className="mb-4">
          <Alert>{errorMessage(accept.error ?? reject.error)}</Alert>
        </div>
      )}
      {pending.length > 0 && (
        <Card className="mb-6">
          <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">
            Waiting for acceptance
            {(pendingQuery.data?.total ?? 0) > pending.length &&
              ` (newest ${pending.length} of ${pendingQuery.data?.total})`}
          </h2>
          <ul>
            {pending.map((device) => (
              <li
                key={device.id}
                className="flex items-center justify-between border-b border-slate-100 px-4 py-2 last:border-0"
                data-testid={`pending-${device.id}`}
              >
                <span>
                  <span className="font-medium">{device.name}</span>{' '}
                  <span className="text-xs text-slate-500">
                    {device.imageName ?? 'unknown image'} · {device.online ? 'online' : 'offline'}
                  </span>
                </span>
                {canEnroll && (
                  <span className="space-x-2">
                    <Button onClick={() => accept.mutate({ deviceId: device.id })}>Accept</Button>
                    <Button variant="danger" onClick={() => reject.mutate({ deviceId: device.id })}>
                      Reject
                    </Button>
                  </span>
                )}
              </li>
            ))}
          </ul>
        </Card>
      )}
      {fleetEmpty.data?.total === 0 && (
        <div className="mb-6">
          <EmptyState title="No devices yet">
            Devices appear here when the EOS Fleet agent on them connects with an enrollment token.
            Create a token above, build the agent into your EOS image with it (image/README.md) and
            boot the device; then accept it here.
          </EmptyState>
        </div>
      )}
    </>
  );
}
