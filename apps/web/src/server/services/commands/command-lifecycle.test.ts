// The transition table itself: what may never happen, whatever a device or an operator does.
import { COMMAND_STATES } from '@eos-fleet/shared/domain';
import { describe, expect, it } from 'vitest';
import { TRANSITIONS, sourcesOf } from './command-lifecycle';

describe('the command transition table', () => {
  it('never leaves an outcome a device reported, and never goes back to queued', () => {
    for (const final of ['succeeded', 'failed', 'rolled_back'] as const)
      expect(TRANSITIONS[final]).toEqual([]);
    expect(sourcesOf('queued')).toEqual([]);
    for (const state of COMMAND_STATES) expect(TRANSITIONS[state]).not.toContain(state);
  });

  it('lets a late result correct what the server assumed, and progress only move forward', () => {
    expect(TRANSITIONS.timed_out).toEqual(
      expect.arrayContaining(['succeeded', 'failed', 'rolled_back', 'cancelled']),
    );
    expect(TRANSITIONS.cancelled).toEqual(
      expect.arrayContaining(['succeeded', 'failed', 'rolled_back']),
    );
    expect(TRANSITIONS.rebooting).not.toContain('downloading');
    expect(TRANSITIONS.verifying).not.toContain('rebooting');
  });

  it('has no cycles, so the transitions of one command are bounded', () => {
    const visiting = new Set<string>();
    const longest = (state: (typeof COMMAND_STATES)[number]): number => {
      if (visiting.has(state)) throw new Error(`cycle through ${state}`);
      visiting.add(state);
      const depth = Math.max(0, ...TRANSITIONS[state].map((next) => 1 + longest(next)));
      visiting.delete(state);
      return depth;
    };
    expect(longest('queued')).toBeLessThanOrEqual(7);
  });
});
