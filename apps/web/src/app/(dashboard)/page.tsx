'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { EmptyState, Loading, PageHeader } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import {
  Counters,
  OnlineCard,
  OutcomesCard,
  RolloutsCard,
  VersionsCard,
} from './_overview/overview-sections';

export default function OverviewPage() {
  const trpc = useTRPC();
  // no polling: the live channel invalidates this query when the fleet changes
  const overview = useQuery(trpc.fleet.overview.queryOptions());
  if (overview.error) return <p role="alert">{errorMessage(overview.error)}</p>;
  if (!overview.data) return <Loading what="the fleet" />;
  const data = overview.data;
  const total = data.devices.accepted + data.devices.pending;
  return (
    <>
      <PageHeader title="Overview" description="The state of the fleet at a glance." />
      <Counters data={data} />
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
      <div className="mt-6 grid min-w-0 gap-4 xl:grid-cols-2">
        <OnlineCard points={data.onlineHistory} />
        <OutcomesCard days={data.updateOutcomes} />
      </div>
      <div className="mt-4 grid min-w-0 gap-4 xl:grid-cols-3">
        <div className="min-w-0 xl:col-span-2">
          <VersionsCard versions={data.versions} />
        </div>
        <RolloutsCard rollouts={data.rollouts} />
      </div>
    </>
  );
}
