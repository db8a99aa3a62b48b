'use client';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { Badge, Card, formatTime } from '~/components/ui';
import { formatLabels } from '~/lib/labels';
import { mib } from './format';
import { HashText } from './hash-text';
import type { DeviceView } from './types';

export function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs uppercase text-slate-500">{label}</dt>
      <dd className="mt-0.5 min-w-0 break-words text-sm">{children ?? '—'}</dd>
    </div>
  );
}

/** The device's update server: a link when it is registered, otherwise why not, in words. */
function UpdateServer({ device }: { device: DeviceView }) {
  if (device.registeredUpdateServer)
    return (
      <Link
        className="text-brand-700 underline"
        href="/update-servers"
        data-testid="update-server"
        title={device.configuredUpdateServer ?? undefined}
      >
        {device.registeredUpdateServer.name}
      </Link>
    );
  if (!device.configuredUpdateServer)
    return <span className="text-slate-500">not reported (no /etc/os-update.yml seen)</span>;
  return (
    <span data-testid="update-server">
      <span className="font-mono text-xs">{device.configuredUpdateServer}</span>
      <span className="block text-xs text-amber-800">
        unknown server{device.updateServerProblem ? `: ${device.updateServerProblem}` : ''}
      </span>
    </span>
  );
}

/** Identity and what the device last reported about itself. */
export function DeviceFacts({ device }: { device: DeviceView }) {
  const os = device.osRelease;
  return (
    <Card className="min-w-0 p-4">
      <h2 className="mb-3 font-medium text-ink">Identity and facts</h2>
      <dl className="grid grid-cols-2 gap-4 md:grid-cols-3" data-testid="inventory">
        <Fact label="Device id">
          <HashText value={device.id} label="device id" />
        </Fact>
        <Fact label="Name">{device.name}</Fact>
        <Fact label="Status">
          <span className="flex flex-wrap gap-1">
            <Badge tone={device.online ? 'green' : 'slate'}>
              {device.online ? 'online' : 'offline'}
            </Badge>
            <Badge tone={device.status === 'accepted' ? 'sky' : 'amber'}>{device.status}</Badge>
          </span>
        </Fact>
        <Fact label="Public key fingerprint">
          <HashText value={device.publicKeyFingerprint} label="public key fingerprint" />
        </Fact>
        <Fact label="Agent version">{device.agentVersion}</Fact>
        <Fact label="Arch / profile">{`${device.arch ?? '—'} / ${device.profile ?? '—'}`}</Fact>
        <Fact label="OS release">
          {os ? (
            <span>
              {os.prettyName ?? os.name ?? '—'}
              {(os.versionId ?? os.imageVersion ?? os.buildId) && (
                <span className="block text-xs text-slate-500">
                  {[
                    os.versionId && `version ${os.versionId}`,
                    os.imageVersion && `image ${os.imageVersion}`,
                    os.buildId && `build ${os.buildId}`,
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                </span>
              )}
            </span>
          ) : null}
        </Fact>
        <Fact label="Image name">{device.imageName}</Fact>
        <Fact label="Update server">
          <UpdateServer device={device} />
        </Fact>
        <Fact label="State area free">{mib(device.stateDiskFree)}</Fact>
        <Fact label="Last seen">{formatTime(device.lastSeenAt)}</Fact>
        <Fact label="Enrolled with">{device.enrolledWith ?? '—'}</Fact>
        <Fact label="Labels">
          {Object.keys(device.labels).length === 0 ? (
            '—'
          ) : (
            <span className="flex flex-wrap gap-1" title={formatLabels(device.labels)}>
              {Object.entries(device.labels).map(([key, value]) => (
                <Badge key={key}>{`${key}=${value}`}</Badge>
              ))}
            </span>
          )}
        </Fact>
      </dl>
    </Card>
  );
}
