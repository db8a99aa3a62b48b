'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Button, Card, EmptyState, Loading, PageHeader, formatTime } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';

export default function AuditPage() {
  const trpc = useTRPC();
  const audit = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { limit: 50 },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );
  const events = audit.data?.pages.flatMap((page) => page.events) ?? [];
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change, who made it and when. Newest first."
      />
      {audit.error && <p role="alert">{errorMessage(audit.error)}</p>}
      {audit.isPending && <Loading what="the audit log" />}
      {audit.data && events.length === 0 && (
        <EmptyState title="Nothing has changed yet">
          Changes made by operators, devices and the system appear here.
        </EmptyState>
      )}
      {events.length > 0 && (
        <Card>
          <table className="w-full text-left text-sm" data-testid="audit-table">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th className="px-4 py-2">Time</th>
                <th className="px-4 py-2">Action</th>
                <th className="px-4 py-2">Actor</th>
                <th className="px-4 py-2">Target</th>
                <th className="px-4 py-2">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id} className="border-b border-slate-100 align-top last:border-0">
                  <td className="whitespace-nowrap px-4 py-2">{formatTime(event.createdAt)}</td>
                  <td className="px-4 py-2 font-mono text-xs">{event.action}</td>
                  <td className="px-4 py-2">
                    {event.actorLabel ?? event.actorType}
                    <span className="ml-1 text-xs text-slate-500">({event.actorType})</span>
                  </td>
                  <td className="px-4 py-2">
                    {event.targetType}
                    {event.targetId && (
                      <span className="ml-1 font-mono text-xs text-slate-500">
                        {event.targetId.slice(0, 8)}
                      </span>
                    )}
                  </td>
                  <td className="px-4 py-2 font-mono text-xs text-slate-600">
                    {event.data ? JSON.stringify(event.data) : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {audit.hasNextPage && (
        <Button
          variant="secondary"
          className="mt-4"
          onClick={() => void audit.fetchNextPage()}
          disabled={audit.isFetchingNextPage}
        >
          Older events
        </Button>
      )}
    </>
  );
}
