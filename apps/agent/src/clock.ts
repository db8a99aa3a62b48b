// Time is injected so backoff, deadlines and first-report jitter are testable without waiting.

export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms`; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(fn, ms) {
    // Not unref'd: between connections the reconnect timer is what keeps the daemon alive.
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, ms));
}
