// How many frames of each kind one connection may send: a token bucket per kind (a burst, then a
// steady rate). A frame over budget is dropped unread; a connection that keeps sending over budget
// is closed with 4029 (try again later), so a flooding agent backs off instead of costing the
// database and the log one write per frame. The budgets are far above what a healthy agent sends
// (docs/protocol.md, "Errors and closing").
import type { AgentFrame } from '@eos-fleet/shared/protocol/index';

type BudgetedKind = Exclude<AgentFrame['type'], 'enroll' | 'auth'>;

export const FRAME_BUDGETS: Record<BudgetedKind, { burst: number; perSecond: number }> = {
  // on connect, on change, on `inventory.refresh`
  inventory: { burst: 10, perSecond: 0.2 },
  // one per delivered command; a reconnect re-delivers every unacked one at once
  ack: { burst: 200, perSecond: 10 },
  // the agent sends at most one every few seconds per running command
  progress: { burst: 60, perSecond: 2 },
  // one per command, re-sent until stored
  result: { burst: 200, perSecond: 10 },
  // about our frames: rare
  error: { burst: 10, perSecond: 0.2 },
};

/** Dropped frames within one window after which the connection is closed. */
export const FLOOD_CLOSE_AFTER_DROPS = 100;
const FLOOD_WINDOW_MS = 60_000;

export type Admission = 'admit' | 'drop' | 'close';

export class FrameBudget {
  private readonly buckets = new Map<BudgetedKind, { tokens: number; at: number }>();
  private drops = 0;
  private dropWindowStart = 0;

  constructor(private readonly now: () => number = Date.now) {}

  admit(kind: BudgetedKind): Admission {
    const budget = FRAME_BUDGETS[kind];
    const now = this.now();
    const bucket = this.buckets.get(kind) ?? { tokens: budget.burst, at: now };
    bucket.tokens = Math.min(
      budget.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * budget.perSecond,
    );
    bucket.at = now;
    this.buckets.set(kind, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'admit';
    }
    if (now - this.dropWindowStart >= FLOOD_WINDOW_MS) {
      this.dropWindowStart = now;
      this.drops = 0;
    }
    this.drops++;
    return this.drops > FLOOD_CLOSE_AFTER_DROPS ? 'close' : 'drop';
  }
}
