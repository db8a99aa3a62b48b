// One web process's fan-out of change notices (change-notices.ts) to its browsers' live-update
// streams. Notices arriving from every process's NOTIFY are gathered and sent to each subscriber
// at most once per FANOUT_MS, so N processes flushing do not become N messages a browser. Each
// subscriber keeps only a set of pending topics (a slow reader costs a bounded set, not a queue).
//
// Bounded per client: at most MAX_PER_PRINCIPAL open streams per session or API token (tabs), and
// MAX_SUBSCRIBERS a process. A stream ends and is forgotten when its signal aborts (the browser
// went away): nothing is left behind.
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { can, type Permission } from '../../api/permissions';
import { AppError } from '../errors';
import { collapseTopics, type ChangeTopic } from './change-notices';

export const FANOUT_MS = 250;
export const MAX_PER_PRINCIPAL = 8;
export const MAX_SUBSCRIBERS = 5_000;

/** What a role must be allowed to read to hear a topic. */
function permissionFor(topic: ChangeTopic): Permission {
  if (topic === '*') return 'fleet.read';
  if (topic === 'catalog') return 'image.read';
  if (topic === 'audit') return 'audit.read';
  if (topic === 'rollouts') return 'rollout.read';
  if (topic === 'settings') return 'operator.read';
  return 'device.read'; // devices, device:<id>, commands:<id>
}

export interface ChangeBatch {
  topics: ChangeTopic[];
}

interface Subscriber {
  principal: string;
  role: OperatorRole;
  pending: Set<ChangeTopic>;
  wake: (() => void) | null;
}

export interface ChangeHub {
  /** topics heard from PostgreSQL (any process) */
  publish(topics: readonly ChangeTopic[]): void;
  /**
   * A stream of batches for one client until `signal` aborts. Throws TOO_MANY_REQUESTS past the
   * caps. `principal`: the session or token the cap counts against.
   */
  subscribe(
    principal: string,
    role: OperatorRole,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ChangeBatch>;
  /** open streams (tests check that none leak) */
  readonly size: number;
  close(): void;
}

export function createChangeHub({ fanoutMs = FANOUT_MS } = {}): ChangeHub {
  const subscribers = new Set<Subscriber>();
  const perPrincipal = new Map<string, number>();
  let gathered = new Set<ChangeTopic>();
  let timer: NodeJS.Timeout | undefined;

  const fanOut = () => {
    timer = undefined;
    const topics = collapseTopics(gathered);
    gathered = new Set();
    for (const subscriber of subscribers) {
      let added = false;
      for (const topic of topics)
        if (can(subscriber.role, permissionFor(topic))) {
          subscriber.pending.add(topic);
          added = true;
        }
      if (added) subscriber.wake?.();
    }
  };

  const forget = (subscriber: Subscriber) => {
    if (!subscribers.delete(subscriber)) return;
    const count = (perPrincipal.get(subscriber.principal) ?? 1) - 1;
    if (count > 0) perPrincipal.set(subscriber.principal, count);
    else perPrincipal.delete(subscriber.principal);
    subscriber.wake?.();
  };

  return {
    publish(topics) {
      if (!topics.length || !subscribers.size) return;
      for (const topic of topics) gathered.add(topic);
      timer ??= setTimeout(fanOut, fanoutMs);
    },
    subscribe(principal, role, signal) {
      if (signal?.aborted) throw new AppError('BAD_REQUEST', 'The request was cancelled.');
      const open = perPrincipal.get(principal) ?? 0;
      if (open >= MAX_PER_PRINCIPAL)
        throw new AppError(
          'TOO_MANY_REQUESTS',
          `At most ${MAX_PER_PRINCIPAL} live-update streams per session; close a tab.`,
        );
      if (subscribers.size >= MAX_SUBSCRIBERS)
        throw new AppError('TOO_MANY_REQUESTS', 'This server has too many live-update streams.');
      const subscriber: Subscriber = { principal, role, pending: new Set(), wake: null };
      subscribers.add(subscriber);
      perPrincipal.set(principal, open + 1);
      // forgotten when the client goes, even if the stream was never read
      signal?.addEventListener('abort', () => forget(subscriber), { once: true });

      async function* stream(): AsyncGenerator<ChangeBatch> {
        try {
          while (subscribers.has(subscriber)) {
            if (subscriber.pending.size) {
              const topics = collapseTopics(subscriber.pending);
              subscriber.pending.clear();
              yield { topics };
              continue;
            }
            await new Promise<void>((resolve) => (subscriber.wake = resolve));
            subscriber.wake = null;
          }
        } finally {
          forget(subscriber);
        }
      }
      return stream();
    },
    get size() {
      return subscribers.size;
    },
    close() {
      clearTimeout(timer);
      for (const subscriber of [...subscribers]) forget(subscriber);
    },
  };
}
