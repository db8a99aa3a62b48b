'use client';
// The Overview's parts: actionable counters (each opens the Devices table filtered to exactly what
// it counts), the charts, and the rollouts under way. The data is fleet.overview's.
import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import {
  CHART_COLORS,
  ChartFigure,
  DataTable,
  Donut,
  OnlineAreaChart,
  StackedDayBars,
} from '~/components/charts';
import { Badge, Card } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { deviceFilterHref } from './device-filter-href';

export type FleetOverview = inferRouterOutputs<AppRouter>['fleet']['overview'];

function Counter({
  label,
  value,
  href,
  testId,
  attention = false,
}: {
  label: string;
  value: number;
  href: string;
  testId: string;
  /** a non-zero value needs someone to look */
  attention?: boolean;
}) {
  const alarming = attention && value > 0;
  return (
    <Link
      href={href}
      className="group block rounded-lg focus-visible:outline-2 focus-visible:outline-brand-600"
    >
      <Card
        className={`h-full p-4 group-hover:border-brand-500 ${alarming ? 'border-amber-300 bg-amber-50' : ''}`}
      >
        <p className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</p>
        <p
          className={`mt-1 text-3xl font-semibold ${alarming ? 'text-amber-800' : 'text-ink'}`}
          data-testid={`stat-${testId}`}
        >
          {value.toLocaleString()}
        </p>
      </Card>
    </Link>
  );
}

export function Counters({ data }: { data: FleetOverview }) {
  const c = data.counters;
  return (
    <section
      aria-label="Fleet counters"
      className="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-5"
    >
      <Counter label="Devices" value={c.devices} href="/devices" testId="devices" />
      <Counter
        label="Online"
        value={c.online}
        href={deviceFilterHref({ online: true })}
        testId="online"
      />
      <Counter
        label="Offline"
        value={c.offline.count}
        href={deviceFilterHref(c.offline.filter)}
        testId="offline"
      />
      <Counter
        label="Pending acceptance"
        value={c.pending.count}
        href={deviceFilterHref(c.pending.filter)}
        testId="pending"
        attention
      />
      <Counter
        label="Out of date"
        value={c.outOfDate.count}
        href={deviceFilterHref(c.outOfDate.filter)}
        testId="out-of-date"
      />
      <Counter
        label="Failed updates"
        value={c.failedUpdates.count}
        href={deviceFilterHref(c.failedUpdates.filter)}
        testId="failed-updates"
        attention
      />
      <Counter
        label="Stuck updates"
        value={c.stuckUpdates.count}
        href={deviceFilterHref(c.stuckUpdates.filter)}
        testId="stuck-updates"
        attention
      />
      <Counter
        label="Updates in progress"
        value={c.updatesInProgress.count}
        href={deviceFilterHref(c.updatesInProgress.filter)}
        testId="updates-in-progress"
      />
      <Counter
        label="Update servers with errors"
        value={c.updateServersWithErrors}
        href="/update-servers"
        testId="update-servers-with-errors"
        attention
      />
      <Counter
        label="Active rollouts"
        value={data.rollouts.total}
        href="/rollouts"
        testId="active-rollouts"
      />
    </section>
  );
}

export function VersionsCard({ versions }: { versions: FleetOverview['versions'] }) {
  const names = versions.imageNames;
  return (
    <Card className="p-4">
      <h2 className="text-sm font-semibold text-ink">Versions across the fleet</h2>
      <p className="text-xs text-slate-500">
        What the devices run, per image name (decommissioned devices left out).
      </p>
      {names.length === 0 ? (
        <p className="mt-4 text-sm text-slate-600">No devices yet.</p>
      ) : (
        <ul className="mt-4 grid gap-6 lg:grid-cols-2">
          {names.map((entry) => {
            const name = entry.imageName ?? 'Image name not reported';
            const slices = entry.versions.map((version, i) => ({
              ...version,
              value: version.devices,
              color:
                (version.recommended
                  ? CHART_COLORS[0]
                  : CHART_COLORS[1 + (i % (CHART_COLORS.length - 1))]) ?? '#64748b',
            }));
            return (
              <li key={name} className="flex min-w-0 items-start gap-4">
                <div aria-hidden="true" className="shrink-0">
                  <Donut slices={slices} size={120} />
                </div>
                <table className="min-w-0 flex-1 text-sm">
                  <caption className="truncate text-left font-medium text-ink">
                    {name}{' '}
                    <span className="font-normal text-slate-500">
                      ({entry.devices.toLocaleString()} {entry.devices === 1 ? 'device' : 'devices'}
                      )
                    </span>
                  </caption>
                  <thead className="sr-only">
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Devices</th>
                    </tr>
                  </thead>
                  <tbody>
                    {slices.map((slice) => (
                      <tr key={slice.label}>
                        <th scope="row" className="py-0.5 text-left font-normal">
                          <span
                            aria-hidden="true"
                            className="mr-2 inline-block size-2.5 rounded-sm"
                            style={{ backgroundColor: slice.color }}
                          />
                          {entry.imageName && slice.versionId ? (
                            <Link
                              className="text-brand-700 hover:underline"
                              href={deviceFilterHref({
                                imageName: entry.imageName,
                                versionId: slice.versionId,
                              })}
                            >
                              {slice.label}
                            </Link>
                          ) : (
                            slice.label
                          )}
                          {slice.recommended && (
                            <span className="ml-2">
                              <Badge tone="green">recommended</Badge>
                            </span>
                          )}
                        </th>
                        <td className="py-0.5 text-right tabular-nums">
                          {slice.devices.toLocaleString()}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </li>
            );
          })}
        </ul>
      )}
      {versions.otherDevices > 0 && (
        <p className="mt-4 text-xs text-slate-500">
          and {versions.otherDevices.toLocaleString()} devices on other image names.
        </p>
      )}
    </Card>
  );
}

export function OnlineCard({ points }: { points: FleetOverview['onlineHistory'] }) {
  return (
    <Card className="p-4">
      <ChartFigure
        title="Online devices over time"
        description="The last 24 hours, sampled every minute (5-minute averages)."
        table={
          <DataTable
            caption="Online devices, last 24 hours"
            columns={['Time', 'Online', 'Devices']}
            rows={points.map((p) => [new Date(p.at).toLocaleString(), p.online, p.devices])}
          />
        }
      >
        {points.length === 0 ? (
          <p className="py-16 text-center text-sm text-slate-600">
            No samples yet: the first is taken within a minute of the server starting.
          </p>
        ) : (
          <OnlineAreaChart points={points} />
        )}
      </ChartFigure>
    </Card>
  );
}

const OUTCOME_SERIES = [
  { key: 'succeeded', label: 'succeeded', color: '#1f9a5f' },
  { key: 'failed', label: 'failed', color: '#dc2626' },
  { key: 'timed_out', label: 'timed out', color: '#d97706' },
  { key: 'rolled_back', label: 'rolled back', color: '#7c3aed' },
] as const;

export function OutcomesCard({ days }: { days: FleetOverview['updateOutcomes'] }) {
  const total = days.reduce(
    (sum, d) => sum + d.succeeded + d.failed + d.timed_out + d.rolled_back,
    0,
  );
  return (
    <Card className="p-4">
      <ChartFigure
        title="Update outcomes per day"
        description={`How applies ended, per UTC day, the last 14 days (${total.toLocaleString()} in all).`}
        table={
          <DataTable
            caption="Update outcomes per UTC day"
            columns={['Day', ...OUTCOME_SERIES.map((s) => s.label)]}
            rows={days.map((d) => [d.day, ...OUTCOME_SERIES.map((s) => d[s.key])])}
          />
        }
      >
        <StackedDayBars days={days} series={OUTCOME_SERIES} />
      </ChartFigure>
    </Card>
  );
}

const ROLLOUT_TONES = { scheduled: 'sky', running: 'green', paused: 'amber' } as const;

export function RolloutsCard({ rollouts }: { rollouts: FleetOverview['rollouts'] }) {
  return (
    <Card className="p-4">
      <div className="flex items-baseline justify-between">
        <h2 className="text-sm font-semibold text-ink">Active rollouts</h2>
        <Link className="text-xs text-brand-700 hover:underline" href="/rollouts">
          All rollouts
        </Link>
      </div>
      {rollouts.rollouts.length === 0 ? (
        <p className="mt-3 text-sm text-slate-600" data-testid="no-active-rollouts">
          No rollout is scheduled, running or paused.{' '}
          <Link className="text-brand-700 underline" href="/rollouts">
            Plan one under Rollouts
          </Link>{' '}
          to take a new image version to your devices in stages.
        </p>
      ) : (
        <ul className="mt-3 divide-y divide-slate-100">
          {rollouts.rollouts.map((rollout) => {
            const done =
              rollout.devices.succeeded + rollout.devices.failed + rollout.devices.skipped;
            const percent = rollout.devices.total
              ? Math.round((done / rollout.devices.total) * 100)
              : 0;
            return (
              <li key={rollout.id} className="py-3">
                <div className="flex flex-wrap items-center justify-between gap-2">
                  <Link
                    className="truncate font-medium text-brand-700 hover:underline"
                    href={`/rollouts/${rollout.id}`}
                  >
                    {rollout.name}
                  </Link>
                  <Badge
                    tone={ROLLOUT_TONES[rollout.state as keyof typeof ROLLOUT_TONES] ?? 'slate'}
                  >
                    {rollout.state}
                  </Badge>
                </div>
                <p className="mt-0.5 text-xs text-slate-500">
                  {rollout.version}
                  {rollout.currentBatch &&
                    ` · batch ${rollout.currentBatch.index + 1} of ${rollout.batches} ${rollout.currentBatch.state.replace('_', ' ')}`}
                </p>
                <div
                  className="mt-2 h-2 overflow-hidden rounded-full bg-slate-100"
                  role="progressbar"
                  aria-label={`${rollout.name}: devices done`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={percent}
                >
                  <div className="h-full bg-brand-500" style={{ width: `${percent}%` }} />
                </div>
                <p className="mt-1 text-xs text-slate-600">
                  {rollout.devices.succeeded} succeeded · {rollout.devices.failed} failed ·{' '}
                  {rollout.devices.inProgress} in progress · {rollout.devices.pending} waiting
                  {rollout.devices.skipped > 0 && ` · ${rollout.devices.skipped} skipped`} of{' '}
                  {rollout.devices.total}
                </p>
              </li>
            );
          })}
        </ul>
      )}
      {rollouts.total > rollouts.rollouts.length && (
        <p className="mt-2 text-xs text-slate-500">
          and {rollouts.total - rollouts.rollouts.length} more under{' '}
          <Link className="text-brand-700 underline" href="/rollouts">
            Rollouts
          </Link>
          .
        </p>
      )}
    </Card>
  );
}
