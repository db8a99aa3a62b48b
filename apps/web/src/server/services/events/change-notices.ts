// "What changed" notices for the dashboard's live updates: coarse topics, never the data. A
// browser that hears a topic refetches the queries it names (trpc/live-topics.ts).
//
// Cheap at fleet scale: a change only adds its topics to this process's set of dirty topics; the
// publisher sends the set as ONE NOTIFY per flush (every FLUSH_MS, and only when something changed),
// so thousands of device reports a second cost a few NOTIFYs, not thousands. A payload stays under
// PostgreSQL's 8000-byte NOTIFY limit by collapsing per-device topics into their wildcard
// (`device:*`, `commands:*`) when there are too many to list.
//
// A notice is noted when the change is made, sometimes inside its transaction (audit writes), and
// sent on the next flush: a flush that falls before that commit is followed by the notify round
// trip, the browser's message and its refetch, all after the commit in practice. A notice can be
// lost (a process dies before its flush, a LISTEN connection drops): clients refetch everything
// after any reconnect, and the web process says `*` to them when its own LISTEN reconnects.
// A notice for a change that then rolled back costs a refetch, nothing more.
import type { Db } from '@eos-fleet/db';
import type { Logger } from '../../logger';

export const CHANGES_CHANNEL = 'eos_fleet_changes';

/** A topic: list-level (`devices`, `catalog`, ...), one device's (`device:<id>`), or `*`. */
export type ChangeTopic =
  | '*'
  | 'devices'
  | 'catalog'
  | 'audit'
  | 'rollouts'
  | 'settings'
  | `device:${string}`
  | `commands:${string}`;

export const deviceTopic = (deviceId: string): ChangeTopic => `device:${deviceId}`;
export const commandsTopic = (deviceId: string): ChangeTopic => `commands:${deviceId}`;

const COARSE = new Set<string>(['*', 'devices', 'catalog', 'audit', 'rollouts', 'settings']);
const PER_DEVICE = /^(device|commands):([0-9a-fA-F-]{1,64}|\*)$/;

/** Whether `value` is a topic this module could have made (payloads from the wire are checked). */
export function isChangeTopic(value: unknown): value is ChangeTopic {
  return typeof value === 'string' && (COARSE.has(value) || PER_DEVICE.test(value));
}

/** Well under PostgreSQL's 8000 bytes for a NOTIFY payload. */
export const MAX_PAYLOAD_BYTES = 7000;

/**
 * The topics to send for `topics`, short enough for one payload: `*` swallows everything, and when
 * the list would be too long, per-device topics become their wildcard.
 */
export function collapseTopics(
  topics: Iterable<string>,
  maxBytes = MAX_PAYLOAD_BYTES,
): ChangeTopic[] {
  const unique = [...new Set(topics)].filter(isChangeTopic);
  if (unique.includes('*')) return ['*'];
  if (Buffer.byteLength(JSON.stringify(unique)) <= maxBytes) return unique;
  const coarse = new Set<ChangeTopic>();
  for (const topic of unique) {
    const perDevice = PER_DEVICE.exec(topic);
    coarse.add(perDevice ? (`${perDevice[1]}:*` as ChangeTopic) : topic);
  }
  return [...coarse];
}

export function encodeTopics(topics: readonly ChangeTopic[]): string {
  return JSON.stringify(topics);
}

/** The topics of a payload; null when it is not one of ours. */
export function decodeTopics(payload: string): ChangeTopic[] | null {
  try {
    const value: unknown = JSON.parse(payload);
    if (!Array.isArray(value) || !value.every(isChangeTopic)) return null;
    return value;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------- the process's set

/** Topics noted since the last flush; bounded, since it is collapsed when it grows. */
const dirty = new Set<string>();
const COLLAPSE_AT = 2_000;

/** Note that `topics` changed; sent with the next flush of this process's publisher. */
export function noteChange(...topics: ChangeTopic[]): void {
  for (const topic of topics) dirty.add(topic);
  if (dirty.size > COLLAPSE_AT) {
    const collapsed = collapseTopics(dirty, 0);
    dirty.clear();
    for (const topic of collapsed) dirty.add(topic);
  }
}

/** A device's own page and the lists it appears in. */
export function noteDevicesChanged(deviceIds: Iterable<string>): void {
  const topics: ChangeTopic[] = [];
  for (const id of deviceIds) topics.push(deviceTopic(id));
  if (topics.length) noteChange('devices', ...topics);
}

/** A change of a command of `deviceId` (its state, progress or events). */
export function noteCommandsChanged(deviceId: string): void {
  noteChange(commandsTopic(deviceId), deviceTopic(deviceId));
}

export interface ChangePublisher {
  /** send what is dirty now (tests, shutdown) */
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** NOTIFYs sent: the coalescing test reads it */
  readonly sent: number;
}

export const FLUSH_MS = 300;

let running: { publisher: ChangePublisher; users: number } | null = null;

/**
 * Publish this process's notices through `db` every `intervalMs`. One publisher a process (the
 * notices are the process's): a second start shares the running one, and it stops with its last
 * user.
 */
export function startChangePublisher(
  db: Pick<Db, '$executeRaw'>,
  logger: Logger,
  intervalMs = FLUSH_MS,
): ChangePublisher {
  if (running) {
    running.users += 1;
    return shared(running.publisher);
  }
  let sent = 0;
  let failing = false;
  let inFlight: Promise<void> | null = null;
  const send = async () => {
    if (!dirty.size) return;
    const topics = collapseTopics(dirty);
    dirty.clear();
    try {
      await db.$executeRaw`select pg_notify(${CHANGES_CHANNEL}, ${encodeTopics(topics)})`;
      sent += 1;
      failing = false;
    } catch (error) {
      // keep them for the next flush (the database may be back by then)
      noteChange(...topics);
      if (!failing) logger.warn({ err: error }, 'cannot publish change notices; retrying');
      failing = true;
    }
  };
  /** one NOTIFY at a time; an explicit flush waits for the one in flight, then sends */
  const flush = (): Promise<void> => {
    const run = (inFlight ?? Promise.resolve()).then(send);
    inFlight = run;
    void run.finally(() => {
      if (inFlight === run) inFlight = null;
    });
    return run;
  };
  // a frozen database holds one NOTIFY, not a growing queue of them
  const timer = setInterval(() => {
    if (!inFlight) void flush();
  }, intervalMs);
  timer.unref();
  const publisher: ChangePublisher = {
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
      running = null;
    },
    get sent() {
      return sent;
    },
  };
  running = { publisher, users: 1 };
  return shared(publisher);
}

function shared(publisher: ChangePublisher): ChangePublisher {
  let stopped = false;
  return {
    flush: () => publisher.flush(),
    async stop() {
      if (stopped || !running || running.publisher !== publisher) return;
      stopped = true;
      running.users -= 1;
      if (running.users === 0) await publisher.stop();
      else await publisher.flush();
    },
    get sent() {
      return publisher.sent;
    },
  };
}
