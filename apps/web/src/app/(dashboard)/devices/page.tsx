'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  EmptyState,
  Loading,
  PageHeader,
  formatTime,
} from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { formatLabels } from '~/lib/labels';
import { EnrollmentTokens } from './enrollment-tokens';

export default function DevicesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canEnroll = useCan('device.enroll');
  const devices = useQuery(trpc.devices.list.queryOptions({}, { refetchInterval: 3_000 }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.devices.list.queryKey() });
  const accept = useMutation(trpc.devices.accept.mutationOptions({ onSettled: refresh }));
  const reject = useMutation(trpc.devices.reject.mutationOptions({ onSettled: refresh }));
  const pending = devices.data?.filter((device) => device.status === 'pending') ?? [];
  const fleet = devices.data?.filter((device) => device.status !== 'pending') ?? [];

  return (
    <>
      <PageHeader
        title="Devices"
        description="Every EOS device that has enrolled, with what it runs and whether it is online."
      />
      <EnrollmentTokens />
      {(accept.error ?? reject.error) && (
        <div className="mb-4">
          <Alert>{errorMessage(accept.error ?? reject.error)}</Alert>
        </div>
      )}
      {pending.length > 0 && (
        <Card className="mb-6">
          <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">
            Waiting for acceptance
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
      {devices.error && <p role="alert">{errorMessage(devices.error)}</p>}
      {!devices.data && !devices.error && <Loading what="devices" />}
      {devices.data && fleet.length === 0 && pending.length === 0 && (
        <EmptyState title="No devices yet">
          Devices appear here when the EOS Fleet agent on them connects with an enrollment token.
          Create a token above, build the agent into your EOS image with it (image/README.md) and
          boot the device; then accept it here.
        </EmptyState>
      )}
      {fleet.length > 0 && (
        <Card>
          <table className="w-full text-left text-sm" data-testid="devices-table">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">State</th>
                <th className="px-4 py-2">Version</th>
                <th className="px-4 py-2">Root hash</th>
                <th className="px-4 py-2">Update server</th>
                <th className="px-4 py-2">Slot</th>
                <th className="px-4 py-2">Labels</th>
                <th className="px-4 py-2">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {fleet.map((device) => (
                <tr
                  key={device.id}
                  className="border-b border-slate-100 last:border-0"
                  data-testid={`device-row-${device.id}`}
                >
                  <td className="px-4 py-2 font-medium">
                    <Link className="text-brand-700 hover:underline" href={`/devices/${device.id}`}>
                      {device.name}
                    </Link>
                  </td>
                  <td className="space-x-1 px-4 py-2">
                    <Badge tone={device.online ? 'green' : 'slate'}>
                      {device.online ? 'online' : 'offline'}
                    </Badge>
                    {device.status !== 'accepted' && <Badge tone="red">{device.status}</Badge>}
                  </td>
                  <td className="space-x-1 px-4 py-2" data-testid="device-version">
                    <span>{device.runningVersion ?? device.imageName ?? '—'}</span>
                    {device.outOfDate && (
                      <Badge tone="amber">
                        <span
                          title={`recommended: ${device.recommendedVersion?.displayName ?? ''}`}
                        >
                          out of date
                        </span>
                      </Badge>
                    )}
                  </td>
                  <td className="px-4 py-2 font-mono text-xs">
                    {device.rootPrefixHash?.slice(0, 12) ?? '—'}
                  </td>
                  <td className="px-4 py-2 text-xs">
                    {device.registeredUpdateServer?.name ??
                      (device.configuredUpdateServer ? (
                        <span className="text-amber-800" title={device.updateServerProblem ?? ''}>
                          unknown: {device.configuredUpdateServer}
                        </span>
                      ) : (
                        '—'
                      ))}
                  </td>
                  <td className="px-4 py-2 text-xs">{device.activeSlot ?? '—'}</td>
                  <td className="px-4 py-2 text-xs">{formatLabels(device.labels)}</td>
                  <td className="px-4 py-2">{formatTime(device.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </>
  );
}
