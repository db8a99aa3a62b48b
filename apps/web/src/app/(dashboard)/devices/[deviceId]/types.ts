import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '~/server/api/root';

type DevicesOutputs = inferRouterOutputs<AppRouter>['devices'];
export type DeviceView = DevicesOutputs['get'];
export type SlotView = DeviceView['slots'][number];
export type CommandSummary = DevicesOutputs['commands']['items'][number];
export type DeviceAuditEntry = DevicesOutputs['audit']['events'][number];

/** States in which a command has no outcome yet. */
export const UNFINISHED_STATES: readonly string[] = [
  'queued',
  'delivered',
  'downloading',
  'rebooting',
  'verifying',
];
