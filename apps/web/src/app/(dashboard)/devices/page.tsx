'use client';
import { useQuery } from '@tanstack/react-query';
import { Badge, Card, EmptyState, Loading, PageHeader, formatTime } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';

export default function DevicesPage() {
  const trpc = useTRPC();
  const devices = useQuery(trpc.fleet.devices.queryOptions({}, { refetchInterval: 5_000 }));
  return (
    <>
      <PageHeader
        title="Devices"
        description="Every EOS device that has enrolled, with what it runs and whether it is online."
      />
      {devices.error && <p role="alert">{errorMessage(devices.error)}</p>}
      {!devices.data && !devices.error && <Loading what="devices" />}
      {devices.data?.length === 0 && (
        <EmptyState title="No devices yet">
          Devices appear here when the EOS Fleet agent on them connects with an enrollment token.
          Build the agent into your EOS image (image/README.md), give it this dashboard&apos;s URL
          and a token, and boot the device; then accept it here.
        </EmptyState>
      )}
      {devices.data && devices.data.length > 0 && (
        <Card>
          <table className="w-full text-left text-sm">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">Status</th>
                <th className="px-4 py-2">Image</th>
                <th className="px-4 py-2">Root hash</th>
                <th className="px-4 py-2">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {devices.data.map((device) => (
                <tr key={device.id} className="border-b border-slate-100 last:border-0">
                  <td className="px-4 py-2 font-medium">{device.name}</td>
                  <td className="px-4 py-2">
                    <Badge tone={device.online ? 'green' : 'slate'}>
                      {device.online ? 'online' : 'offline'}
                    </Badge>{' '}
                    <Badge tone={device.status === 'accepted' ? 'sky' : 'amber'}>
                      {device.status}
                    </Badge>
                  </td>
                  <td className="px-4 py-2">{device.imageName ?? '—'}</td>
                  <td className="px-4 py-2 font-mono text-xs">
                    {device.rootPrefixHash?.slice(0, 12) ?? '—'}
                  </td>
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
