'use client';
import { Plus } from 'lucide-react';
import Link from 'next/link';
import { Suspense } from 'react';
import { useCan } from '~/components/session';
import { FOCUS_RING, Loading, PageHeader } from '~/components/ui';
import { RolloutsTable } from './rollouts-table';

export default function RolloutsPage() {
  const canManage = useCan('rollout.manage');
  return (
    <>
      <PageHeader
        title="Rollouts"
        description="Staged moves of the fleet, or part of it, to a pinned image version."
        actions={
          canManage && (
            <Link
              href="/rollouts/new"
              className={`inline-flex items-center gap-1 rounded-md bg-ink px-3 py-2 text-sm font-medium text-white hover:bg-brand-700 ${FOCUS_RING}`}
            >
              <Plus aria-hidden className="size-4" />
              New rollout
            </Link>
          )
        }
      />
      <Suspense fallback={<Loading what="rollouts" />}>
        <RolloutsTable canManage={canManage} />
      </Suspense>
    </>
  );
}
