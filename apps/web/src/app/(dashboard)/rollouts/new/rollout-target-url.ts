// A new rollout's target in the address of /rollouts/new, as the Devices table hands it over
// ("New rollout…" on a selection): `device=<id>` repeated, or `label=key=value` repeated, or
// `image=<name>`. The device list is capped at MAX_PICKED_DEVICES: its ids travel in addresses
// (this page's, and the preview's and the name lookup's GET requests), and Node refuses a request
// whose head passes 16 KiB (431), as proxies do from 8 KiB; 100 ids keep each one under 8 KiB.
// More devices are a label's job. Nothing in the address is dropped: an entry that is not an id
// stays in the list, marked, and the form says what is wrong with it.
import { splitLabelSelector, type DeviceFilter } from '@eos-fleet/shared/device-filter';

export const MAX_PICKED_DEVICES = 100;

export type PrefilledTarget =
  | { kind: 'deviceIds'; deviceIds: string[] }
  | { kind: 'labels'; labels: Record<string, string> }
  | { kind: 'imageName'; imageName: string };

export function newRolloutHref(target: PrefilledTarget): string {
  const params = new URLSearchParams();
  if (target.kind === 'deviceIds') for (const id of target.deviceIds) params.append('device', id);
  else if (target.kind === 'labels')
    for (const [key, value] of Object.entries(target.labels))
      params.append('label', `${key}=${value}`);
  else params.set('image', target.imageName);
  return `/rollouts/new?${params.toString()}`;
}

/** The target the address names (null: none), and what of the address was not used, in words. */
export function parsePrefilledTarget(params: URLSearchParams): {
  target: PrefilledTarget | null;
  ignored: string[];
} {
  const ids = [...new Set(params.getAll('device').map((id) => id.trim().toLowerCase()))].filter(
    Boolean,
  );
  const labelParams = params.getAll('label');
  const image = params.get('image')?.trim();
  const ignored: string[] = [];
  let target: PrefilledTarget | null = null;
  if (ids.length) target = { kind: 'deviceIds', deviceIds: ids };
  if (labelParams.length) {
    if (target) ignored.push('label: a target is a device list or labels, not both');
    else {
      const labels: Record<string, string> = {};
      for (const selector of labelParams) {
        const { key, value } = splitLabelSelector(selector);
        if (!key || value === null)
          ignored.push(`label=${selector}: a rollout targets key=value labels`);
        else labels[key] = value;
      }
      if (Object.keys(labels).length) target = { kind: 'labels', labels };
    }
  }
  if (image) {
    if (target) ignored.push('image: a target is one of a device list, labels or an image name');
    else target = { kind: 'imageName', imageName: image };
  }
  return { target, ignored };
}

/**
 * The rollout target that names exactly the devices of a Devices-table filter, when there is one:
 * a filter of `key=value` labels only is the label target (both leave decommissioned devices
 * out), a filter of the image name only the image target. Anything else (a search, online, a
 * version…) has no rollout target of the same meaning.
 */
export function targetOfFilter(filter: DeviceFilter): PrefilledTarget | null {
  const fields = Object.entries(filter).filter(([, value]) => value !== undefined);
  const [only, ...others] = fields;
  if (!only || others.length) return null;
  if (only[0] === 'imageName' && filter.imageName)
    return { kind: 'imageName', imageName: filter.imageName };
  if (only[0] !== 'labels' || !filter.labels?.length) return null;
  const labels: Record<string, string> = {};
  for (const selector of filter.labels) {
    const { key, value } = splitLabelSelector(selector);
    // `key` alone means "has the key": no rollout target says that
    if (!key || value === null) return null;
    // two values for one key match nothing; a rollout's labels cannot say that either
    if (key in labels) return null;
    labels[key] = value;
  }
  return { kind: 'labels', labels };
}
