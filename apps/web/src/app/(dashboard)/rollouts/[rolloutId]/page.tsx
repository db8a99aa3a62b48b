'use client';
// One rollout: its state and why, the pinned version, target and options; the actions the state
// and the role allow; batch progress and threshold gauges from counts (rollouts.get counts in
// the database); the devices a page at a time and the timeline. Live: rollout notices refresh
// every rollouts.* query on screen (trpc/live-topics.ts), no polling.
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { Suspense } from 'react';
import { useCan } from '~/components/session';
import {
  Badge,
  Card,
  CopyableHash,
  Loading,
  PageHeader,
  formatBytes,
  formatTime,
} from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { STATE_DESCRIPTIONS, formatDuration, targetWords, toneOf } from '../rollout-words';
import { RolloutActions } from './rollout-actions';
import { RolloutDevices, RolloutTimeline } from './rollout-devices';
import { BatchProgress, CountsBar, ThresholdGauges } from './rollout-progress';

export default function RolloutPage() {
  const { rolloutId } = useParams<{ rolloutId: string }>();
  const trpc = useTRPC();
  const canManage = useCan('rollout.manage');
  const rollout = useQuery(trpc.rollouts.get.queryOptions({ rolloutId }));

  if (rollout.error) return <p role="alert">{errorMessage(rollout.error)}</p>;
  if (!rollout.data) return <Loading what="the rollout" />;
  const r = rollout.data;
  const o = r.options;
  const summary: [string, string][] = [
    ['Target', targetWords(r.target) + (r.dynamic ? ' (dynamic: newcomers join)' : '')],
    [
      'Window',
      r.maintenanceWindow
        ? `${r.maintenanceWindow.cron} (${r.maintenanceWindow.timezone}) for ${formatDuration(r.maintenanceWindow.durationMinutes * 60)}; ${
            r.nextWindow?.open
              ? `open until ${formatTime(r.nextWindow.closesAt)}`
              : r.nextWindow?.opensAt
                ? `next opens ${formatTime(r.nextWindow.opensAt)}`
                : 'never opens again'
          }`
        : 'any time',
    ],
    ['Not before', r.startAt ? formatTime(r.startAt) : 'no start time'],
    [
      'Per device',
      `timeout ${formatDuration(o.deviceTimeoutSeconds)}; ${o.maxRetries ? `${o.maxRetries} retries, backoff from ${formatDuration(o.retryBackoffSeconds)}` : 'no retries'}`,
    ],
    [
      'Pace',
      `${o.maxConcurrentPerServer ? `at most ${o.maxConcurrentPerServer} at once per update server` : "the update server's cap"}${
        o.disruptionBudget
          ? `; at most ${o.disruptionBudget.max}${o.disruptionBudget.percent ? '%' : ''} unavailable per ${o.disruptionBudget.label}`
          : ''
      }`,
    ],
    [
      'On abort',
      o.rollbackOnAbort ? 'devices that took it go back' : 'devices keep what they took',
    ],
    ['Created', formatTime(r.createdAt)],
    ['Started', formatTime(r.startedAt)],
    ['Ended', formatTime(r.completedAt)],
  ];

  return (
    <>
      <PageHeader
        title={r.name}
        description={`${r.version}, to ${targetWords(r.target)}.`}
        actions={
          <Link className="text-sm text-brand-700 hover:underline" href="/rollouts">
            All rollouts
          </Link>
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-6 xl:grid-cols-3">
        <div className="min-w-0 space-y-6 xl:col-span-2">
          <Card className="space-y-4 p-4">
            <div className="flex flex-wrap items-center gap-3">
              <Badge tone={toneOf(r.state)}>
                <span data-testid="rollout-state">{r.state}</span>
              </Badge>
              <span className="text-sm text-slate-600">{STATE_DESCRIPTIONS[r.state] ?? ''}</span>
            </div>
            {r.stateReason && (
              <p className="break-words text-sm" data-testid="rollout-reason">
                <span className="font-medium">Why: </span>
                {r.stateReason}
              </p>
            )}
            <CountsBar counts={{ ...r.devices }} label="All devices" />
            {canManage && <RolloutActions rollout={r} />}
          </Card>
          <BatchProgress rollout={r} />
          <Suspense fallback={<Loading what="devices" />}>
            <RolloutDevices rolloutId={rolloutId} />
          </Suspense>
        </div>
        <div className="min-w-0 space-y-6">
          <Card className="p-4">
            <h2 className="font-medium text-ink">Version and options</h2>
            <dl className="mt-3 grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-2 text-sm">
              <dt className="text-slate-500">Version</dt>
              <dd className="break-words">{r.version}</dd>
              <dt className="text-slate-500">Pinned</dt>
              <dd className="min-w-0" data-testid="rollout-pinned">
                <CopyableHash value={r.pinned.rootPrefixHash} label="root prefix hash" />
                <span className="block text-xs text-slate-500">
                  sha256 <CopyableHash value={r.pinned.rootSha256} label="whole-root sha256" />,{' '}
                  {formatBytes(r.pinned.rootBytes)}
                </span>
              </dd>
              {summary.map(([term, value]) => (
                <div key={term} className="contents">
                  <dt className="text-slate-500">{term}</dt>
                  <dd className="break-words">{value}</dd>
                </div>
              ))}
            </dl>
          </Card>
          <ThresholdGauges rollout={r} />
          <RolloutTimeline rolloutId={rolloutId} />
        </div>
      </div>
    </>
  );
}
