'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Card, EmptyState, Loading, PageHeader } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';

function Stat({ label, value, href }: { label: string; value: number; href: string }) {
  return (
    <Link href={href}>
      <Card className="p-4 hover:border-brand-500">
        <p className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</p>
        <p
          className="mt-1 text-3xl font-semibold text-ink"
          data-testid={`stat-${label.toLowerCase().replace(/\s+/g, '-')}`}
        >
          {value}
        </p>
      </Card>
    </Link>
  );
}

export default function OverviewPage() {
  const trpc = useTRPC();
  const overview = useQuery(
    trpc.fleet.overview.queryOptions(undefined, { refetchInterval: 10_000 }),
  );
  if (overview.error) return <p role="alert">{errorMessage(overview.error)}</p>;
  if (!overview.data) return <Loading what="the fleet" />;
  const data = overview.data;
  const total = data.devices.accepted + data.devices.pending;
  return (
    <>
      <PageHeader title="Overview" description="The state of the fleet at a glance." />
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-5">
        <Stat label="Devices" value={data.devices.accepted} href="/devices" />
        <Stat label="Online" value={data.online} href="/devices" />
        <Stat label="Pending" value={data.devices.pending} href="/devices?status=pending" />
        <Stat label="Image versions" value={data.imageVersions} href="/images" />
        <Stat label="Active rollouts" value={data.activeRollouts} href="/rollouts" />
      </div>
      {total === 0 && (
        <div className="mt-8">
          <EmptyState title="Your fleet is empty">
            <ol className="mx-auto max-w-md list-decimal space-y-1 text-left">
              <li>
                Register the update server your devices fetch images from under{' '}
                <Link className="text-brand-700 underline" href="/update-servers">
                  Update servers
                </Link>
                .
              </li>
              <li>Create an enrollment token for your EOS devices under Devices.</li>
              <li>
                Put the EOS Fleet agent and the token on your EOS image (see image/README.md) and
                boot the devices.
              </li>
              <li>
                Accept them as they appear; then roll out new images in stages under Rollouts.
              </li>
            </ol>
          </EmptyState>
        </div>
      )}
    </>
  );
}
