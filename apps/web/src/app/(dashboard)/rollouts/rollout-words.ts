// How the rollout screens say things: states and their tones, targets, durations, device
// categories. One place, so the list, the form's preview and the rollout page agree.

export const ROLLOUT_STATES = [
  'draft',
  'scheduled',
  'running',
  'paused',
  'completed',
  'aborted',
  'failed',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const STATE_TONE = {
  draft: 'slate',
  scheduled: 'sky',
  running: 'green',
  paused: 'amber',
  completed: 'green',
  aborted: 'red',
  failed: 'red',
} as const satisfies Record<RolloutState, 'slate' | 'sky' | 'green' | 'amber' | 'red'>;

export function toneOf(state: string) {
  return STATE_TONE[state as RolloutState] ?? 'slate';
}

/** deviceView's categories (services/rollouts/rollouts.ts), as the page's filter names them */
export const CATEGORY_WORDS = {
  done: 'done',
  in_flight: 'in flight',
  waiting: 'waiting',
  failed: 'failed',
  cannot_converge: 'cannot converge',
  excluded: 'already there',
} as const;
export type DeviceCategory = keyof typeof CATEGORY_WORDS;

export const CATEGORY_TONE = {
  done: 'green',
  in_flight: 'sky',
  waiting: 'slate',
  failed: 'red',
  cannot_converge: 'amber',
  excluded: 'slate',
} as const satisfies Record<DeviceCategory, 'slate' | 'sky' | 'green' | 'amber' | 'red'>;

export function targetWords(target: {
  labels?: Record<string, string>;
  deviceIds?: string[];
  imageName?: string;
}): string {
  if (target.imageName) return `every device running ${target.imageName}`;
  if (target.deviceIds)
    return `${target.deviceIds.length} listed device${target.deviceIds.length === 1 ? '' : 's'}`;
  const pairs = Object.entries(target.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? `devices labelled ${pairs.join(', ')}` : 'every device';
}

/** 90 -> "1 min 30 s", 7200 -> "2 h" */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const parts: string[] = [];
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s && !d && !h) parts.push(`${s} s`);
  return parts.join(' ');
}

export const STATE_DESCRIPTIONS: Record<RolloutState, string> = {
  draft: 'saved, not started',
  scheduled: 'waits for its start time or first tick',
  running: 'applies batch by batch',
  paused: 'no new applies until resumed',
  completed: 'every batch done',
  aborted: 'stopped by an operator or its failure threshold',
  failed: 'stopped: its success threshold was not met',
};
