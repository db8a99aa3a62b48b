'use client';
// The Devices table: TanStack Table (headless) over the server's filtered, sorted page
// (devices.page); the whole view lives in the URL (device-url.ts). Row selection, or "everything
// matching this filter", feeds the bulk action bar. No polling: the live channel invalidates
// devices.* queries.
import { UPDATE_STATES, type DeviceSortKey } from '@eos-fleet/shared/device-filter';
import { DEVICE_STATUSES } from '@eos-fleet/shared/domain';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  createColumnHelper,
  flexRender,
  rowSelectionFeature,
  tableFeatures,
  useTable,
  type RowSelectionState,
} from '@tanstack/react-table';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { useCan } from '~/components/session';
import { Alert, Badge, Card, formatTime } from '~/components/ui';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';
import { BulkActionBar, type BulkTarget } from './bulk-actions';
import { PAGE_SIZES, devicesViewParams, parseDevicesView, type DevicesView } from './device-url';

type Row = inferRouterOutputs<AppRouter>['devices']['page']['rows'][number];

// headless: selection only; sorting, filtering and paging are the server's (the URL's)
const features = tableFeatures({ rowSelectionFeature });
const column = createColumnHelper<typeof features, Row>();
/** the server's sort key of a column */
const SORT_OF: Partial<Record<string, DeviceSortKey>> = {
  name: 'name',
  status: 'status',
  imageName: 'imageName',
  runningVersion: 'version',
  updateState: 'updateState',
  lastSeenAt: 'lastSeen',
};

const control =
  'rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-brand-600 focus:outline-none';

const UPDATE_TONE = {
  none: 'slate',
  in_progress: 'sky',
  stuck: 'amber',
  failed: 'red',
  succeeded: 'green',
  cancelled: 'slate',
} as const;

function useDevicesView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const view = useMemo(() => parseDevicesView(new URLSearchParams(params.toString())), [params]);
  const setView = (change: Partial<Omit<DevicesView, 'ignored'>>, resetPage = true) => {
    const next = { ...view, ...(resetPage ? { page: 1 } : {}), ...change };
    const query = devicesViewParams(next).toString();
    router.replace(query ? `${pathname}?${query}` : pathname, { scroll: false });
  };
  return { view, setView };
}

export function DevicesTable() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { view, setView } = useDevicesView();
  const { filter } = view;
  const canOperate = useCan('device.operate');
  const query = {
    ...filter,
    sort: view.sort,
    dir: view.dir,
    page: view.page,
    pageSize: view.pageSize,
  };
  const devices = useQuery(
    trpc.devices.page.queryOptions(query, { staleTime: 10_000, placeholderData: keepPreviousData }),
  );
  const images = useQuery(trpc.catalog.images.queryOptions(undefined, { staleTime: 60_000 }));
  const [selection, setSelection] = useState<RowSelectionState>({});
  const [allMatching, setAllMatching] = useState(false);
  const filterKey = JSON.stringify(filter);
  useEffect(() => {
    setSelection({});
    setAllMatching(false);
  }, [filterKey]);

  const setLabel = useMutation(
    trpc.devices.setLabel.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.devices.pathKey() }),
    }),
  );

  const columns = useMemo(
    () =>
      column.columns([
        column.display({
          id: 'select',
          header: ({ table }) => (
            <input
              type="checkbox"
              aria-label="Select every device on this page"
              checked={table.getIsAllPageRowsSelected()}
              onChange={table.getToggleAllPageRowsSelectedHandler()}
            />
          ),
          cell: ({ row }) => (
            <input
              type="checkbox"
              aria-label={`Select ${row.original.name}`}
              checked={row.getIsSelected()}
              onChange={row.getToggleSelectedHandler()}
            />
          ),
        }),
        column.accessor('name', {
          header: 'Name',
          cell: (info) => (
            <Link
              className="font-medium text-brand-700 hover:underline"
              href={`/devices/${info.row.original.id}`}
            >
              {info.getValue()}
            </Link>
          ),
        }),
        column.accessor('status', {
          header: 'State',
          cell: ({ row }) => (
            <span className="flex flex-wrap gap-1">
              <Badge tone={row.original.online ? 'green' : 'slate'}>
                {row.original.online ? 'online' : 'offline'}
              </Badge>
              {row.original.status !== 'accepted' && (
                <Badge tone="red">{row.original.status}</Badge>
              )}
            </span>
          ),
        }),
        column.accessor('imageName', {
          header: 'Image',
          cell: (info) => <span className="text-xs">{info.getValue() ?? '—'}</span>,
        }),
        column.accessor('runningVersion', {
          header: 'Version',
          cell: ({ row }) => (
            <span className="flex flex-wrap items-center gap-1" data-testid="device-version">
              <span className="text-xs">{row.original.runningVersion ?? '—'}</span>
              {row.original.rootPrefixHash && (
                <span className="font-mono text-[11px] text-slate-500" title="root prefix hash">
                  {row.original.rootPrefixHash.slice(0, 12)}
                </span>
              )}
              {row.original.outOfDate && (
                <span title={`recommended: ${row.original.recommendedVersion?.displayName ?? ''}`}>
                  <Badge tone="amber">out of date</Badge>
                </span>
              )}
            </span>
          ),
        }),
        column.accessor('updateState', {
          header: 'Update',
          cell: (info) =>
            info.getValue() === 'none' ? (
              <span className="text-xs text-slate-400">—</span>
            ) : (
              <Badge tone={UPDATE_TONE[info.getValue()]}>{info.getValue().replace('_', ' ')}</Badge>
            ),
        }),
        column.accessor('labels', {
          header: 'Labels',
          cell: ({ row }) => (
            <LabelsCell
              labels={row.original.labels}
              editable={canOperate}
              onChange={(key, value) => setLabel.mutate({ deviceId: row.original.id, key, value })}
            />
          ),
        }),
        column.accessor('lastSeenAt', {
          header: 'Last seen',
          cell: (info) => <span className="text-xs">{formatTime(info.getValue())}</span>,
        }),
      ]),
    [canOperate],
  );

  const data = devices.data?.rows;
  const table = useTable({
    features,
    data: data ?? [],
    columns,
    getRowId: (row) => row.id,
    state: { rowSelection: selection },
    onRowSelectionChange: setSelection,
    enableRowSelection: canOperate,
  });

  const selectedIds = Object.keys(selection).filter((id) => selection[id]);
  const total = devices.data?.total ?? 0;
  const target: BulkTarget | null = allMatching
    ? { filter }
    : selectedIds.length
      ? { ids: selectedIds }
      : null;
  const versions = images.data?.flatMap((image) => image.versions) ?? [];
  const imageNames = [...new Set(images.data?.map((image) => image.name) ?? [])];
  const pageCount = devices.data?.pageCount ?? 1;

  const sortBy = (key: DeviceSortKey) =>
    setView({ sort: key, dir: view.sort === key && view.dir === 'asc' ? 'desc' : 'asc' }, false);

  return (
    <section aria-label="Devices">
      <div className="mb-3 flex flex-wrap items-end gap-2" data-testid="device-filters">
        <input
          className={`${control} w-56`}
          type="search"
          placeholder="Search name, id, label value"
          aria-label="Search devices"
          defaultValue={filter.q ?? ''}
          maxLength={100}
          onKeyDown={(e) => {
            if (e.key === 'Enter')
              setView({ filter: { ...filter, q: e.currentTarget.value.trim() || undefined } });
          }}
          onBlur={(e) => {
            const q = e.currentTarget.value.trim() || undefined;
            if (q !== filter.q) setView({ filter: { ...filter, q } });
          }}
        />
        <FilterSelect
          label="Online"
          value={filter.online === undefined ? '' : String(filter.online)}
          options={[
            ['true', 'online'],
            ['false', 'offline'],
          ]}
          onChange={(v) =>
            setView({ filter: { ...filter, online: v === '' ? undefined : v === 'true' } })
          }
        />
        <FilterSelect
          label="Status"
          value={filter.status ?? ''}
          all="not decommissioned"
          options={DEVICE_STATUSES.map((s) => [s, s])}
          onChange={(v) =>
            setView({ filter: { ...filter, status: (v || undefined) as typeof filter.status } })
          }
        />
        <FilterSelect
          label="Image"
          value={filter.imageName ?? ''}
          options={imageNames.map((n) => [n, n])}
          onChange={(v) => setView({ filter: { ...filter, imageName: v || undefined } })}
        />
        <FilterSelect
          label="Version"
          value={filter.versionId ?? ''}
          options={[
            ...versions.map((v) => [v.id, v.displayName] as [string, string]),
            ['unknown', 'unknown build'],
          ]}
          onChange={(v) => setView({ filter: { ...filter, versionId: v || undefined } })}
        />
        <FilterSelect
          label="Out of date"
          value={filter.outOfDate === undefined ? '' : String(filter.outOfDate)}
          options={[
            ['true', 'out of date'],
            ['false', 'up to date'],
          ]}
          onChange={(v) =>
            setView({ filter: { ...filter, outOfDate: v === '' ? undefined : v === 'true' } })
          }
        />
        <FilterSelect
          label="Update"
          value={filter.updateState ?? ''}
          options={UPDATE_STATES.map((s) => [s, s.replace('_', ' ')])}
          onChange={(v) =>
            setView({
              filter: { ...filter, updateState: (v || undefined) as typeof filter.updateState },
            })
          }
        />
        <FilterSelect
          label="Last seen"
          value={filter.lastSeen ?? ''}
          options={[
            ['1h', 'within 1 h'],
            ['24h', 'within 24 h'],
            ['7d', 'within 7 days'],
            ['older', 'older or never'],
          ]}
          onChange={(v) =>
            setView({ filter: { ...filter, lastSeen: (v || undefined) as typeof filter.lastSeen } })
          }
        />
        <input
          className={`${control} w-36`}
          placeholder="label key=value"
          aria-label="Add a label filter"
          maxLength={200}
          onKeyDown={(e) => {
            const value = e.currentTarget.value.trim();
            if (e.key === 'Enter' && value) {
              setView({ filter: { ...filter, labels: [...(filter.labels ?? []), value] } });
              e.currentTarget.value = '';
            }
          }}
        />
        {(filter.labels ?? []).map((label) => (
          <button
            key={label}
            type="button"
            className="rounded-full bg-slate-100 px-2 py-1 text-xs hover:bg-slate-200"
            aria-label={`Remove the label filter ${label}`}
            onClick={() =>
              setView({
                filter: { ...filter, labels: filter.labels?.filter((l) => l !== label) },
              })
            }
          >
            {label} ×
          </button>
        ))}
      </div>
      {view.ignored.length > 0 && (
        <div className="mb-3">
          <Alert tone="info">Ignored in the address: {view.ignored.join('; ')}</Alert>
        </div>
      )}
      {devices.error && (
        <div className="mb-3">
          <Alert>{errorMessage(devices.error)}</Alert>
        </div>
      )}
      {setLabel.error && (
        <div className="mb-3">
          <Alert>{errorMessage(setLabel.error)}</Alert>
        </div>
      )}
      {canOperate && selectedIds.length > 0 && !allMatching && selectedIds.length < total && (
        <p className="mb-2 text-sm">
          {selectedIds.length} selected on this page.{' '}
          <button
            type="button"
            className="font-medium text-brand-700 underline"
            onClick={() => setAllMatching(true)}
          >
            Select everything matching this filter ({total} devices)
          </button>
        </p>
      )}
      {allMatching && (
        <p className="mb-2 text-sm">
          Every device matching this filter is selected ({total}).{' '}
          <button
            type="button"
            className="font-medium text-brand-700 underline"
            onClick={() => {
              setAllMatching(false);
              setSelection({});
            }}
          >
            Clear the selection
          </button>
        </p>
      )}
      {target && (
        <BulkActionBar
          target={target}
          count={allMatching ? total : selectedIds.length}
          onDone={() => {
            setSelection({});
            setAllMatching(false);
          }}
        />
      )}
      <Card className="overflow-x-auto">
        <table className="w-full table-fixed text-left text-sm" data-testid="devices-table">
          <colgroup>
            <col className="w-9" />
            <col className="w-40" />
            <col className="w-28" />
            <col className="w-32" />
            <col className="w-44" />
            <col className="w-24" />
            <col />
            <col className="w-36" />
          </colgroup>
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sort = SORT_OF[header.column.id];
                  const active = sort && view.sort === sort;
                  return (
                    <th
                      key={header.id}
                      className="px-3 py-2"
                      aria-sort={
                        active ? (view.dir === 'asc' ? 'ascending' : 'descending') : undefined
                      }
                    >
                      {sort ? (
                        <button
                          type="button"
                          className="uppercase hover:text-ink"
                          onClick={() => sortBy(sort)}
                        >
                          {flexRender(header.column.columnDef.header, header.getContext())}
                          {active ? (view.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                        </button>
                      ) : (
                        flexRender(header.column.columnDef.header, header.getContext())
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr
                key={row.id}
                className="border-b border-slate-100 align-top last:border-0"
                data-testid={`device-row-${row.id}`}
              >
                {row.getAllCells().map((cell) => (
                  <td key={cell.id} className="overflow-hidden px-3 py-2">
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))}
            {data && data.length === 0 && (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  No device matches this filter.
                </td>
              </tr>
            )}
            {!data && !devices.error && (
              <tr>
                <td colSpan={columns.length} className="px-3 py-6 text-center text-slate-500">
                  Loading devices…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
      <nav
        className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm"
        aria-label="Pages"
      >
        <span data-testid="devices-total">
          {total} device{total === 1 ? '' : 's'} · page {view.page} of {pageCount}
        </span>
        <span className="flex items-center gap-2">
          <label className="flex items-center gap-1">
            Rows
            <select
              className={control}
              value={view.pageSize}
              onChange={(e) => setView({ pageSize: Number(e.target.value) })}
            >
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className={control}
            disabled={view.page <= 1}
            onClick={() => setView({ page: view.page - 1 }, false)}
          >
            Previous
          </button>
          <button
            type="button"
            className={control}
            disabled={view.page >= pageCount}
            onClick={() => setView({ page: view.page + 1 }, false)}
          >
            Next
          </button>
        </span>
      </nav>
    </section>
  );
}

function FilterSelect({
  label,
  value,
  options,
  all = 'all',
  onChange,
}: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  all?: string;
  onChange: (value: string) => void;
}) {
  return (
    <label className="flex flex-col text-xs text-slate-500">
      {label}
      <select
        className={`${control} max-w-44`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="">{all}</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The labels of one device, editable in place: × removes one, + adds key=value. */
function LabelsCell({
  labels,
  editable,
  onChange,
}: {
  labels: Record<string, string>;
  editable: boolean;
  onChange: (key: string, value: string | null) => void;
}) {
  const [adding, setAdding] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <span className="flex flex-wrap items-center gap-1">
      {Object.entries(labels).map(([key, value]) => (
        <span key={key} className="inline-flex items-center rounded bg-slate-100 px-1.5 text-xs">
          {key}={value}
          {editable && (
            <button
              type="button"
              className="ml-1 text-slate-500 hover:text-red-700"
              aria-label={`Remove the label ${key}`}
              onClick={() => onChange(key, null)}
            >
              ×
            </button>
          )}
        </span>
      ))}
      {editable &&
        (adding ? (
          <input
            autoFocus
            className="w-28 rounded border border-slate-300 px-1 text-xs"
            placeholder="key=value"
            aria-label="New label, key=value"
            maxLength={130}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setAdding(false);
              if (e.key !== 'Enter') return;
              const text = e.currentTarget.value.trim();
              const at = text.indexOf('=');
              if (at <= 0) {
                setProblem('write key=value');
                return;
              }
              onChange(text.slice(0, at), text.slice(at + 1));
              setProblem(null);
              setAdding(false);
            }}
            onBlur={() => setAdding(false)}
          />
        ) : (
          <button
            type="button"
            className="rounded px-1 text-xs text-brand-700 hover:bg-slate-100"
            aria-label="Add a label"
            onClick={() => setAdding(true)}
          >
            +
          </button>
        ))}
      {problem && <span className="text-xs text-red-700">{problem}</span>}
    </span>
  );
}
