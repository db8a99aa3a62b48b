// The device filter: one schema for the Devices table's URL, the devices query, the Overview's
// counters (each links to the table with its filter) and bulk actions on "everything matching".
// The meaning of each field is defined here, once; services/devices implements it in SQL.
// In the URL of /devices each field is its own parameter (`online=false`, `outOfDate=true`,
// `updateState=failed`, `label=site=berlin` repeated, `lastSeen=24h`), plus sort, dir, page, pageSize.
import { z } from 'zod';
import { DEVICE_STATUSES } from './domain';
import { isStorableText, storableText } from './protocol/values';

/**
 * A device's update state, from its newest apply or rollback command:
 * - `none`: it never had one;
 * - `in_progress`: queued, delivered, downloading, rebooting or verifying;
 * - `stuck`: in progress and past the command's deadline, or ended `timed_out`;
 * - `failed`: ended `failed` or `rolled_back`;
 * - `succeeded`: ended `succeeded`;
 * - `cancelled`: ended `cancelled`.
 */
export const UPDATE_STATES = [
  'none',
  'in_progress',
  'stuck',
  'failed',
  'succeeded',
  'cancelled',
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

/** How long ago the device was last seen (`older`: more than 7 days, or never). */
export const LAST_SEEN_RANGES = ['1h', '24h', '7d', 'older'] as const;
export type LastSeenRange = (typeof LAST_SEEN_RANGES)[number];

export const DEVICE_SORT_KEYS = [
  'name',
  'status',
  'lastSeen',
  'imageName',
  'version',
  'updateState',
  'createdAt',
] as const;
export type DeviceSortKey = (typeof DEVICE_SORT_KEYS)[number];

const labelSelector = z
  .string()
  .max(200)
  .regex(/^[^=\s]{1,63}(=[^\s]{0,128})?$/, 'a label is key=value, or key alone for "has key"')
  .refine(isStorableText, 'must not contain NUL (U+0000) or lone surrogate characters');

/** A label selector's parts: `site=berlin` -> site, berlin; `canary` -> canary, null ("has key"). */
export function splitLabelSelector(selector: string): { key: string; value: string | null } {
  const at = selector.indexOf('=');
  return at < 0
    ? { key: selector, value: null }
    : { key: selector.slice(0, at), value: selector.slice(at + 1) };
}

export const deviceFilterSchema = z.object({
  /** name, id (or its prefix) or a label value, case-insensitive */
  q: storableText(100).trim().optional(),
  /** true: connected now; false: not connected */
  online: z.boolean().optional(),
  /** omitted: every status except decommissioned */
  status: z.enum(DEVICE_STATUSES).optional(),
  imageName: storableText(200).optional(),
  /** an image version's id, or `unknown` for a running hash no catalog knows */
  versionId: z.union([z.uuid(), z.literal('unknown')]).optional(),
  /** true: its image name has a recommended version it does not run */
  outOfDate: z.boolean().optional(),
  updateState: z.enum(UPDATE_STATES).optional(),
  /** every selector must hold (AND): `site=berlin`, or `canary` for "has the key" */
  labels: z.array(labelSelector).max(10).optional(),
  lastSeen: z.enum(LAST_SEEN_RANGES).optional(),
});
export type DeviceFilter = z.infer<typeof deviceFilterSchema>;

export const deviceSortSchema = z.object({
  sort: z.enum(DEVICE_SORT_KEYS).default('name'),
  dir: z.enum(['asc', 'desc']).default('asc'),
});

/** The page of the Devices table: 1-based; pageSize is capped so one request costs little. */
export const MAX_DEVICE_PAGE_SIZE = 200;
export const devicePageSchema = z.object({
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(MAX_DEVICE_PAGE_SIZE).default(50),
});

export const deviceQuerySchema = deviceFilterSchema.extend({
  ...deviceSortSchema.shape,
  ...devicePageSchema.shape,
});
export type DeviceQuery = z.infer<typeof deviceQuerySchema>;
