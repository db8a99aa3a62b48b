'use client';
// "Why is this device not on version X?": each active (or completed) rollout's decision for this
// device, in words (rollouts.trace); refreshed by the device's and the rollouts' live notices.
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Alert, Badge, Card } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';

export function RolloutTrace({ deviceId }: { deviceId: string }) {
  const trpc = useTRPC();
  const trace = useQuery(trpc.rollouts.trace.queryOptions({ deviceId }, { staleTime: 10_000 }));
  const rollouts = trace.data?.rollouts ?? [];
  return (
    <Card className="p-4">
      <section aria-label="Rollouts" data-testid="rollout-trace">
        <h2 className="font-medium text-ink">Rollouts</h2>
        <p className="text-xs text-slate-500">
          Why this device is, or is not, on each rollout&apos;s version.
        </p>
        {trace.error && <Alert>{errorMessage(trace.error)}</Alert>}
        {trace.data && rollouts.length === 0 && (
          <p className="mt-2 text-sm text-slate-600">No active or completed rollout.</p>
        )}
        <ul className="mt-3 space-y-3">
          {rollouts.map((r) => (
            <li key={r.rolloutId} className="min-w-0 text-sm">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <Link
                  className="break-words font-medium text-brand-700 hover:underline"
                  href={`/rollouts/${r.rolloutId}`}
                >
                  {r.rollout}
                </Link>
                {r.state && <Badge>{r.state.replace('_', ' ')}</Badge>}
              </div>
              <p className="text-xs text-slate-500">{r.version}</p>
              <ol className="mt-1 list-inside list-decimal space-y-0.5 text-xs text-slate-700">
                {r.steps.map((step) => (
                  <li key={step} className="break-words">
                    {step}
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ul>
      </section>
    </Card>
  );
}
