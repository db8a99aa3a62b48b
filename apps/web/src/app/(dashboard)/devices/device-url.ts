// The Devices table's view in the URL: each field of packages/shared device-filter.ts is its own
// parameter (`online=false`, `label=site=berlin` repeated, ...) plus sort, dir, page, pageSize,
// so a view can be shared and the Overview's counters land filtered. A parameter that does not
// parse is dropped (the table says so), never guessed.
import {
  DEVICE_SORT_KEYS,
  LAST_SEEN_RANGES,
  UPDATE_STATES,
  deviceFilterSchema,
  type DeviceFilter,
  type DeviceSortKey,
} from '@eos-fleet/shared/device-filter';
import { DEVICE_STATUSES } from '@eos-fleet/shared/domain';

export interface DevicesView {
  filter: DeviceFilter;
  sort: DeviceSortKey;
  dir: 'asc' | 'desc';
  page: number;
  pageSize: number;
  /** parameters that were ignored, in words */
  ignored: string[];
}

export const PAGE_SIZES = [25, 50, 100, 200] as const;

function oneOf<T extends string>(values: readonly T[], value: string | null): T | undefined {
  return value !== null && (values as readonly string[]).includes(value) ? (value as T) : undefined;
}

function bool(value: string | null): boolean | undefined {
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

export function parseDevicesView(params: URLSearchParams): DevicesView {
  const ignored: string[] = [];
  const raw: Record<string, unknown> = {
    q: params.get('q') ?? undefined,
    online: bool(params.get('online')),
    status: oneOf(DEVICE_STATUSES, params.get('status')),
    imageName: params.get('imageName') ?? undefined,
    versionId: params.get('versionId') ?? undefined,
    outOfDate: bool(params.get('outOfDate')),
    updateState: oneOf(UPDATE_STATES, params.get('updateState')),
    labels: params.getAll('label').length ? params.getAll('label') : undefined,
    lastSeen: oneOf(LAST_SEEN_RANGES, params.get('lastSeen')),
  };
  for (const key of ['online', 'status', 'outOfDate', 'updateState', 'lastSeen'])
    if (params.has(key) && raw[key] === undefined) ignored.push(`${key}=${params.get(key)}`);
  const filter: DeviceFilter = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const one = deviceFilterSchema.safeParse({ [key]: value });
    if (one.success) Object.assign(filter, one.data);
    else
      ignored.push(
        `${key === 'labels' ? 'label' : key}: ${one.error.issues[0]?.message ?? 'invalid'}`,
      );
  }
  const page = Number(params.get('page') ?? '1');
  const pageSize = Number(params.get('pageSize') ?? '50');
  return {
    filter,
    sort: oneOf(DEVICE_SORT_KEYS, params.get('sort')) ?? 'name',
    dir: params.get('dir') === 'desc' ? 'desc' : 'asc',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    pageSize: (PAGE_SIZES as readonly number[]).includes(pageSize) ? pageSize : 50,
    ignored,
  };
}

export function devicesViewParams(view: Omit<DevicesView, 'ignored'>): URLSearchParams {
  const params = new URLSearchParams();
  const { filter } = view;
  if (filter.q) params.set('q', filter.q);
  if (filter.online !== undefined) params.set('online', String(filter.online));
  if (filter.status) params.set('status', filter.status);
  if (filter.imageName) params.set('imageName', filter.imageName);
  if (filter.versionId) params.set('versionId', filter.versionId);
  if (filter.outOfDate !== undefined) params.set('outOfDate', String(filter.outOfDate));
  if (filter.updateState) params.set('updateState', filter.updateState);
  for (const label of filter.labels ?? []) params.append('label', label);
  if (filter.lastSeen) params.set('lastSeen', filter.lastSeen);
  if (view.sort !== 'name') params.set('sort', view.sort);
  if (view.dir !== 'asc') params.set('dir', view.dir);
  if (view.page !== 1) params.set('page', String(view.page));
  if (view.pageSize !== 50) params.set('pageSize', String(view.pageSize));
  return params;
}
