'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Badge, Button, Card, Loading, formatTime } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';

/** The audit entries about this device, as the Audit page tells them. */
export function DeviceAudit({ deviceId }: { deviceId: string }) {
  const trpc = useTRPC();
  const audit = useInfiniteQuery(
    trpc.devices.audit.infiniteQueryOptions(
      { deviceId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const events = audit.data?.pages.flatMap((page) => page.events);
  return (
    <Card className="min-w-0">
      <div className="flex flex-wrap items-baseline justify-between gap-2 border-b border-slate-200 px-4 py-3">
        <h2 className="font-medium text-ink">Audit entries</h2>
        <Link
          className="text-xs text-brand-700 underline"
          href={`/audit?targetType=device&targetId=${deviceId}`}
        >
          Open in the audit log
        </Link>
      </div>
      {audit.error && (
        <p role="alert" className="p-4 text-sm text-red-700">
          {errorMessage(audit.error)}
        </p>
      )}
      {!events && !audit.error && (
        <div className="p-4">
          <Loading what="the audit entries" />
        </div>
      )}
      {events?.length === 0 && (
        <p className="p-4 text-sm text-slate-500">Nothing recorded about this device yet.</p>
      )}
      <ul className="divide-y divide-slate-100" data-testid="device-audit">
        {events?.map((event) => (
          <li
            key={event.id}
            className="min-w-0 px-4 py-2"
            data-testid="audit-entry"
            data-action={event.action}
          >
            <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
              <p className="min-w-0 break-words text-sm text-ink">{event.sentence}</p>
              <time
                className="shrink-0 text-xs text-slate-500"
                dateTime={new Date(event.createdAt).toISOString()}
              >
                {formatTime(event.createdAt)}
              </time>
            </div>
            <div className="mt-0.5 flex flex-wrap gap-2 text-xs text-slate-500">
              <Badge>{event.actorType.replace('_', ' ')}</Badge>
              <span className="font-mono">{event.action}</span>
            </div>
          </li>
        ))}
      </ul>
      {audit.hasNextPage && (
        <div className="border-t border-slate-100 px-4 py-3">
          <Button
            variant="secondary"
            disabled={audit.isFetchingNextPage}
            onClick={() => void audit.fetchNextPage()}
          >
            {audit.isFetchingNextPage ? 'Loading…' : 'Older entries'}
          </Button>
        </div>
      )}
    </Card>
  );
}
