'use client';
// The rollout's devices, a page at a time from the server (rollouts.devices: a rollout may hold
// 10,000), filtered by category and name in the URL (nuqs); and its timeline (rollouts.events),
// newest first, "Show older" follows the cursor. Both refresh on the live channel's rollout notices.
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { createColumnHelper, flexRender, tableFeatures, useTable } from '@tanstack/react-table';
import type { inferRouterOutputs } from '@trpc/server';
import Link from 'next/link';
import { parseAsInteger, parseAsString, parseAsStringLiteral, useQueryStates } from 'nuqs';
import { useMemo } from 'react';
import { Alert, Badge, Button, Card, FOCUS_RING, formatTime } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';
import { CATEGORY_TONE, CATEGORY_WORDS, type DeviceCategory } from '../rollout-words';

type Row = inferRouterOutputs<AppRouter>['rollouts']['devices']['rows'][number];
const CATEGORIES = Object.keys(CATEGORY_WORDS) as DeviceCategory[];
const PAGE_SIZE = 50;

const features = tableFeatures({});
const column = createColumnHelper<typeof features, Row>();
const control = `rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-brand-600 focus:outline-none ${FOCUS_RING}`;

const parsers = {
  state: parseAsStringLiteral(CATEGORIES),
  q: parseAsString.withDefault(''),
  page: parseAsInteger.withDefault(1),
};

export function RolloutDevices({ rolloutId }: { rolloutId: string }) {
  const trpc = useTRPC();
  const [view, setView] = useQueryStates(parsers, { history: 'replace' });
  const devices = useQuery(
    trpc.rollouts.devices.queryOptions(
      {
        rolloutId,
        state: view.state ?? undefined,
        q: view.q || undefined,
        page: Math.max(1, view.page),
        pageSize: PAGE_SIZE,
      },
      { placeholderData: keepPreviousData, staleTime: 5_000 },
    ),
  );
  const columns = useMemo(
    () =>
      column.columns([
        column.accessor('name', {
          header: 'Device',
          cell: ({ row }) => (
            <Link
              className={`break-words font-medium text-brand-700 hover:underline ${FOCUS_RING}`}
              href={`/devices/${row.original.deviceId}`}
            >
              {row.original.name}
            </Link>
          ),
        }),
        column.accessor('batch', {
          header: 'Batch',
          cell: (info) => <span className="text-xs">{info.getValue() ?? '—'}</span>,
        }),
        column.accessor('category', {
          header: 'State',
          cell: ({ row }) => (
            <span className="flex flex-wrap gap-1" data-testid="device-rollout-state">
              <Badge tone={CATEGORY_TONE[row.original.category]}>
                {row.original.state.replace('_', ' ')}
              </Badge>
              {!row.original.online && <Badge tone="slate">offline</Badge>}
            </span>
          ),
        }),
        column.accessor('reason', {
          header: 'Why',
          cell: ({ row }) => (
            <span className="break-words text-xs text-slate-700">
              {row.original.reason}
              {row.original.attempts > 1 && ` · ${row.original.attempts} attempts`}
            </span>
          ),
        }),
      ]),
    [],
  );
  const rows = devices.data?.rows;
  const table = useTable({ features, data: rows ?? [], columns, getRowId: (row) => row.deviceId });
  const pageCount = devices.data?.pageCount ?? 1;

  return (
    <Card className="p-4">
      <section aria-label="Devices of the rollout">
        <div className="mb-3 flex flex-wrap items-end justify-between gap-2">
          <h2 className="font-medium text-ink">Devices</h2>
          <div className="flex flex-wrap items-end gap-2">
            <label className="flex flex-col text-xs text-slate-500">
              State
              <select
                className={control}
                value={view.state ?? ''}
                onChange={(e) =>
                  void setView({
                    state: (e.target.value || null) as DeviceCategory | null,
                    page: null,
                  })
                }
              >
                <option value="">all</option>
                {CATEGORIES.map((c) => (
                  <option key={c} value={c}>
                    {CATEGORY_WORDS[c]}
                  </option>
                ))}
              </select>
            </label>
            <input
              className={`${control} w-48`}
              type="search"
              placeholder="Device name"
              aria-label="Search the rollout's devices by name"
              defaultValue={view.q}
              maxLength={100}
              onKeyDown={(e) => {
                if (e.key === 'Enter')
                  void setView({ q: e.currentTarget.value.trim() || null, page: null });
              }}
              onBlur={(e) => {
                const q = e.currentTarget.value.trim();
                if (q !== view.q) void setView({ q: q || null, page: null });
              }}
            />
          </div>
        </div>
        {devices.error && <Alert>{errorMessage(devices.error)}</Alert>}
        <div className="overflow-x-auto">
          <table className="w-full table-fixed text-left text-sm" data-testid="rollout-devices">
            <colgroup>
              <col className="w-44" />
              <col className="w-16" />
              <col className="w-36" />
              <col />
            </colgroup>
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              {table.getHeaderGroups().map((group) => (
                <tr key={group.id}>
                  {group.headers.map((header) => (
                    <th key={header.id} className="px-2 py-2">
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
                  data-testid={`rollout-device-${row.original.name}`}
                >
                  {row.getAllCells().map((cell) => (
                    <td key={cell.id} className="overflow-hidden px-2 py-2">
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              ))}
              {rows && rows.length === 0 && (
                <tr>
                  <td colSpan={4} className="px-2 py-6 text-center text-slate-500">
                    No device of this rollout matches.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <nav
          className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm"
          aria-label="Pages of devices"
        >
          <span data-testid="rollout-devices-total">
            {devices.data?.total ?? '…'} device{devices.data?.total === 1 ? '' : 's'} · page{' '}
            {view.page} of {pageCount}
          </span>
          <span className="flex gap-2">
            <Button
              variant="secondary"
              disabled={view.page <= 1}
              onClick={() => void setView({ page: view.page - 1 })}
            >
              Previous
            </Button>
            <Button
              variant="secondary"
              disabled={view.page >= pageCount}
              onClick={() => void setView({ page: view.page + 1 })}
            >
              Next
            </Button>
          </span>
        </nav>
      </section>
    </Card>
  );
}

export function RolloutTimeline({ rolloutId }: { rolloutId: string }) {
  const trpc = useTRPC();
  const events = useInfiniteQuery(
    trpc.rollouts.events.infiniteQueryOptions(
      { rolloutId, limit: 30 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const items = events.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <Card className="p-4">
      <section aria-label="Timeline">
        <h2 className="font-medium text-ink">Timeline</h2>
        {events.error && <Alert>{errorMessage(events.error)}</Alert>}
        <ol className="mt-3 space-y-2 text-sm" data-testid="rollout-timeline">
          {items.map((event) => (
            <li key={event.id} className="min-w-0 border-l-2 border-slate-200 pl-3">
              <p className="break-words">
                {event.message}
                {event.deviceId && (
                  <>
                    {' '}
                    <Link
                      className="text-xs text-brand-700 hover:underline"
                      href={`/devices/${event.deviceId}`}
                    >
                      device
                    </Link>
                  </>
                )}
              </p>
              <p className="text-xs text-slate-500">{formatTime(event.at)}</p>
            </li>
          ))}
          {events.data && items.length === 0 && (
            <li className="text-slate-500">Nothing has happened yet.</li>
          )}
        </ol>
        {events.hasNextPage && (
          <Button
            variant="secondary"
            className="mt-3"
            disabled={events.isFetchingNextPage}
            onClick={() => void events.fetchNextPage()}
          >
            Show older events
          </Button>
        )}
      </section>
    </Card>
  );
}
