import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, backoffDelay, initialJitter } from './backoff';

const options = { initialMs: 1000, maxMs: 60_000 };

describe('backoff', () => {
  it('grows exponentially up to the cap', () => {
    expect([0, 1, 2, 3, 5, 6, 10, 1000].map((a) => backoffCeiling(a, options))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('stays within [ceiling/2, ceiling] for any random value', () => {
    for (const attempt of [0, 1, 4, 9, 50]) {
      const ceiling = backoffCeiling(attempt, options);
      expect(backoffDelay(attempt, { ...options, random: () => 0 })).toBe(ceiling / 2);
      expect(backoffDelay(attempt, { ...options, random: () => 0.999999 })).toBeLessThanOrEqual(
        ceiling,
      );
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, options);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('treats a misbehaving random source as bounded', () => {
    expect(backoffDelay(0, { ...options, random: () => Number.NaN })).toBe(500);
    expect(backoffDelay(0, { ...options, random: () => 7 })).toBe(1000);
    expect(backoffDelay(0, { ...options, random: () => -1 })).toBe(500);
  });

  it('counts attempts and resets', () => {
    const backoff = new Backoff({ ...options, random: () => 1 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([1000, 2000, 4000]);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
    expect(backoff.attempts).toBe(1);
  });

  it('jitters the first report uniformly within the window', () => {
    expect(initialJitter(30_000, () => 0)).toBe(0);
    expect(initialJitter(30_000, () => 0.5)).toBe(15_000);
    expect(initialJitter(30_000, () => 2)).toBe(30_000);
  });
});
