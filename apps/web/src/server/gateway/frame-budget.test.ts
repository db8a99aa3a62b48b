import { describe, expect, it } from 'vitest';
import { FLOOD_CLOSE_AFTER_DROPS, FRAME_BUDGETS, FrameBudget } from './frame-budget';
import { LogLimiter } from './log-limiter';

describe('FrameBudget', () => {
  it('admits a burst, refills at the steady rate, and closes after a sustained flood', () => {
    let now = 0;
    const budget = new FrameBudget(() => now);
    const { burst, perSecond } = FRAME_BUDGETS.progress;
    for (let i = 0; i < burst; i++) expect(budget.admit('progress')).toBe('admit');
    expect(budget.admit('progress')).toBe('drop');
    // kinds are budgeted apart
    expect(budget.admit('ack')).toBe('admit');
    now += 1000 / perSecond;
    expect(budget.admit('progress')).toBe('admit');
    expect(budget.admit('progress')).toBe('drop');
    for (let i = 2; i < FLOOD_CLOSE_AFTER_DROPS; i++) expect(budget.admit('progress')).toBe('drop');
    expect(budget.admit('progress')).toBe('close');
  });

  it('forgets drops after the window: an agent over budget now and then is never closed', () => {
    let now = 0;
    const budget = new FrameBudget(() => now);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < FRAME_BUDGETS.error.burst + FLOOD_CLOSE_AFTER_DROPS - 1; i++)
        expect(budget.admit('error')).not.toBe('close');
      now += 61_000;
    }
  });
});

describe('LogLimiter', () => {
  it('writes perWindow lines per key, says when silence follows, and counts what it kept back', () => {
    let now = 0;
    const logs = new LogLimiter(2, 60_000, () => now);
    expect(logs.take('a')).toEqual({ suppressed: 0, last: false });
    expect(logs.take('a')).toEqual({ suppressed: 0, last: true });
    expect(logs.take('a')).toBeNull();
    expect(logs.take('a')).toBeNull();
    expect(logs.take('b')).not.toBeNull();
    now += 60_000;
    expect(logs.take('a')).toEqual({ suppressed: 2, last: false });
  });
});
