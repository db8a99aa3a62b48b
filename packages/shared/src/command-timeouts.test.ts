import { describe, expect, it } from 'vitest';
import { COMMAND_TIMEOUTS, commandResultDeadlineMs, GET_KEY_TIMEOUT_MS } from './command-timeouts';
import { COMMAND_KINDS } from './domain';

describe('command timeouts', () => {
  it('give every kind a tool bound and a server deadline beyond it', () => {
    for (const kind of COMMAND_KINDS) {
      const t = COMMAND_TIMEOUTS[kind];
      expect(t.toolMs).toBeGreaterThan(0);
      expect(commandResultDeadlineMs(kind)).toBeGreaterThan(t.toolMs);
    }
  });
  it('leave room for fetching the key inside the tool bound of commands that need it', () => {
    for (const kind of ['check', 'apply', 'rollback'] as const) {
      expect(COMMAND_TIMEOUTS[kind].toolMs).toBeGreaterThan(GET_KEY_TIMEOUT_MS);
    }
  });
});
