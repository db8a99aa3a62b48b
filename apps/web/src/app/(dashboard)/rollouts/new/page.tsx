'use client';
import Link from 'next/link';
import { Suspense } from 'react';
import { Loading, PageHeader } from '~/components/ui';
import { RolloutForm } from './rollout-form';

export default function NewRolloutPage() {
  return (
    <>
      <PageHeader
        title="New rollout"
        description="One image version, pinned by its content, to the devices you target, in batches. The preview shows what the rollout would do before you create it."
        actions={
          <Link className="text-sm text-brand-700 hover:underline" href="/rollouts">
            Back to rollouts
          </Link>
        }
      />
      {/* the form reads the address (a target handed over by the Devices table) */}
      <Suspense fallback={<Loading what="the form" />}>
        <RolloutForm />
      </Suspense>
    </>
  );
}
