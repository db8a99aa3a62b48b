// Capped, jittered exponential backoff for reconnects and retries. "Equal jitter": the delay is
// between half and all of the capped exponential step, so retries spread out (a restarted fleet
// does not arrive at once) yet never collapse to zero and hot-loop.

export interface BackoffOptions {
  /** Step of the first attempt, in ms. */
  initialMs: number;
  /** No delay exceeds this. */
  maxMs: number;
  /** Growth per attempt; 2 by default. */
  factor?: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
}

/** The capped exponential step of attempt `attempt` (0-based), before jitter. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const factor = options.factor ?? 2;
  const step = options.initialMs * Math.pow(factor, Math.max(0, attempt));
  return Math.min(options.maxMs, Number.isFinite(step) ? step : options.maxMs);
}

/** Delay before attempt `attempt` (0-based): in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = backoffCeiling(attempt, options);
  const random = clampUnit((options.random ?? Math.random)());
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

/** A uniformly jittered delay in [0, maxMs]: for the first report after start. */
export function initialJitter(maxMs: number, random: () => number = Math.random): number {
  return Math.round(clampUnit(random()) * maxMs);
}

function clampUnit(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return value >= 1 ? 1 : value;
}

/** Stateful helper: `next()` per failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const delay = backoffDelay(this.attempt, this.options);
    this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
