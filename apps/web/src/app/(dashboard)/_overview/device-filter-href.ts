// The Devices table's URL for a filter, as packages/shared/src/device-filter.ts defines it: each
// field its own parameter, labels repeated as `label=`.
import type { DeviceFilter } from '@eos-fleet/shared/device-filter';

export function deviceFilterHref(filter: DeviceFilter): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter) as [
    keyof DeviceFilter,
    DeviceFilter[keyof DeviceFilter],
  ][]) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const label of value) params.append('label', label);
    else params.set(key, String(value));
  }
  const query = params.toString();
  return query ? `/devices?${query}` : '/devices';
}
