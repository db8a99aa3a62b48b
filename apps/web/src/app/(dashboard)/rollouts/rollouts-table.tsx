'use client';
// The rollouts list: TanStack Table (headless) over the server's newest-first pages
// (rollouts.list, "Show more" follows its cursor); the filters (state, name) live in the URL
// (nuqs). No polling: the live channel's rollout notices refresh it.
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { createColumnHelper, flexRender, tableFeatures, useTable } from '@tanstack/react-table';
import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import { parseAsArrayOf, parseAsString, parseAsStringLiteral, useQueryStates } from 'nuqs';
import { useMemo } from 'react';
import { Alert, Badge, Button, Card, EmptyState, FOCUS_RING, formatTime } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';
import { ROLLOUT_STATES, toneOf } from './rollout-words';

type Row = inferRouterOutputs<AppRouter>['rollouts']['list']['items'][number];

const features = tableFeatures({});
const column = createColumnHelper<typeof features, Row>();

const control = `rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-brand-600 focus:outline-none ${FOCUS_RING}`;

export const rolloutFilterParsers = {
  state: parseAsArrayOf(parseAsStringLiteral(ROLLOUT_STATES)).withDefault([]),
  q: parseAsString.withDefault(''),
};

/** succeeded / failed / in flight / waiting / excluded, of the whole target */
export function ProgressCell({ row }: { row: Row }) {
  const total = row.devices + row.excluded;
  const share = (n: number) => (total ? `${(n / total) * 100}%` : '0%');
  return (
    <div className="min-w-0">
      <div
        className="flex h-2 overflow-hidden rounded-full bg-slate-100"
        role="img"
        aria-label={`${row.succeeded} succeeded, ${row.failed} failed, ${row.inFlight} in flight, ${row.waiting} waiting, ${row.excluded} excluded, of ${total}`}
      >
        <div className="bg-green-600" style={{ width: share(row.succeeded + row.reverted) }} />
        <div className="bg-red-600" style={{ width: share(row.failed) }} />
        <div className="bg-sky-500" style={{ width: share(row.inFlight) }} />
        <div className="bg-slate-300" style={{ width: share(row.excluded) }} />
      </div>
      <p className="mt-1 text-xs text-slate-600" data-testid="rollout-progress">
        {row.succeeded} succeeded · {row.failed} failed · {row.inFlight} in flight · {row.waiting}{' '}
        waiting · {row.excluded} excluded of {total}
      </p>
    </div>
  );
}

export function RolloutsTable({ canManage }: { canManage: boolean }) {
  const trpc = useTRPC();
  const [filters, setFilters] = useQueryStates(rolloutFilterParsers, { history: 'replace' });
  const input = {
    state: filters.state.length ? filters.state : undefined,
    search: filters.q || undefined,
    limit: 50,
  };
  const list = useInfiniteQuery(
    trpc.rollouts.list.infiniteQueryOptions(input, {
      getNextPageParam: (page) => page.nextCursor ?? undefined,
      placeholderData: keepPreviousData,
      staleTime: 10_000,
    }),
  );
  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.items) ?? [], [list.data]);

  const columns = useMemo(
    () =>
      column.columns([
        column.accessor('name', {
          header: 'Name',
          cell: (info) => (
            <Link
              className={`break-words font-medium text-brand-700 hover:underline ${FOCUS_RING}`}
              href={`/rollouts/${info.row.original.id}`}
            >
              {info.getValue()}
            </Link>
          ),
        }),
        column.accessor('version', {
          header: 'Version',
          cell: (info) => <span className="break-words text-xs">{info.getValue()}</span>,
        }),
        column.accessor('state', {
          header: 'State',
          cell: ({ row }) => (
            <div className="min-w-0">
              <Badge tone={toneOf(row.original.state)}>{row.original.state}</Badge>
              {row.original.stateReason &&
                ['paused', 'aborted', 'failed'].includes(row.original.state) && (
                  <p className="mt-1 break-words text-xs text-slate-600">
                    {row.original.stateReason}
                  </p>
                )}
            </div>
          ),
        }),
        column.display({
          id: 'progress',
          header: 'Progress',
          cell: ({ row }) => <ProgressCell row={row.original} />,
        }),
        column.accessor('createdAt', {
          header: 'Created',
          cell: (info) => <span className="text-xs">{formatTime(info.getValue())}</span>,
        }),
        column.accessor('startedAt', {
          header: 'Started',
          cell: (info) => <span className="text-xs">{formatTime(info.getValue())}</span>,
        }),
      ]),
    [],
  );
  const table = useTable({ features, data: rows, columns, getRowId: (row) => row.id });
  const filtered = filters.state.length > 0 || filters.q !== '';

  if (list.data && rows.length === 0 && !filtered)
    return (
      <EmptyState
        title="No rollouts yet"
        action={
          canManage && (
            <Link
              href="/rollouts/new"
              className={`rounded-md bg-ink px-3 py-2 text-sm font-medium text-white hover:bg-brand-700 ${FOCUS_RING}`}
            >
              Plan a rollout
            </Link>
          )
        }
      >
        A rollout takes one image version, pinned by its root hash, to the devices you target, in
        batches with soak time and success and failure thresholds. You need accepted devices and an
        update server that publishes the image first.
      </EmptyState>
    );

  return (
    <section aria-label="Rollouts">
      <div className="mb-3 flex flex-wrap items-end gap-3" data-testid="rollout-filters">
        <label className="flex flex-col text-xs text-slate-500">
          Name
          <input
            className={`${control} w-56`}
            type="search"
            placeholder="Search rollouts by name"
            aria-label="Search rollouts by name"
            defaultValue={filters.q}
            maxLength={120}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void setFilters({ q: e.currentTarget.value.trim() || null });
            }}
            onBlur={(e) => {
              const q = e.currentTarget.value.trim();
              if (q !== filters.q) void setFilters({ q: q || null });
            }}
          />
        </label>
        <fieldset className="flex flex-wrap items-center gap-1">
          <legend className="text-xs text-slate-500">State</legend>
          {ROLLOUT_STATES.map((state) => {
            const on = filters.state.includes(state);
            return (
              <button
                key={state}
                type="button"
                aria-pressed={on}
                className={`rounded-full border px-2 py-1 text-xs ${FOCUS_RING} ${on ? 'border-ink bg-ink text-white' : 'border-slate-300 bg-white text-slate-700 hover:bg-slate-50'}`}
                onClick={() =>
                  void setFilters({
                    state: on
                      ? filters.state.filter((s) => s !== state)
                      : [...filters.state, state],
                  })
                }
              >
                {state}
              </button>
            );
          })}
          {filtered && (
            <Button variant="ghost" className="text-xs" onClick={() => void setFilters(null)}>
              Clear filters
            </Button>
          )}
        </fieldset>
      </div>
      {list.error && (
        <div className="mb-3">
          <Alert>{errorMessage(list.error)}</Alert>
        </div>
      )}
      <Card className="overflow-x-auto">
        <table className="w-full table-fixed text-left text-sm" data-testid="rollouts-table">
          <colgroup>
            <col className="w-48" />
            <col className="w-40" />
            <col className="w-44" />
            <col />
            <col className="w-36" />
            <col className="w-36" />
          </colgroup>
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => (
                  <th key={header.id} className="px-3 py-2">
                    {flexRender(header.column.columnDef.header, header.getContext())}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr
                key={row.id}
                className="border-b border-slate-100 align-top last:border-0"
                data-testid={`rollout-row-${row.id}`}
              >
                {row.getAllCells().map((cell) => (
                  <td key={cell.id} className="overflow-hidden px-3 py-2">
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))}
            {list.data && rows.length === 0 && (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  No rollout matches these filters.
                </td>
              </tr>
            )}
            {!list.data && !list.error && (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  Loading rollouts…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
      {list.hasNextPage && (
        <div className="mt-3">
          <Button
            variant="secondary"
            disabled={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            {list.isFetchingNextPage ? 'Loading more…' : 'Show more'}
          </Button>
        </div>
      )}
    </section>
  );
}
