import { describe, expect, it } from 'vitest';
import { type AgentStatus, evaluateHealth } from './agent-status';

const status: AgentStatus = {
  bootId: 'boot-2',
  pid: 1,
  agentVersion: '0.1.0',
  startedAt: '2026-01-01T00:00:00Z',
  handshakeAt: '2026-01-01T00:00:05Z',
  deviceStatus: 'accepted',
};

describe('agent health', () => {
  it('is healthy once the agent of this boot reached the server (pending counts)', () => {
    expect(evaluateHealth(status, 'boot-2')).toEqual({ healthy: true });
    expect(evaluateHealth({ ...status, deviceStatus: 'pending' }, 'boot-2')).toEqual({
      healthy: true,
    });
  });

  it('is unhealthy without a status, from an earlier boot, or before the handshake', () => {
    expect(evaluateHealth(null, 'boot-2')).toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/not started/) as unknown,
    });
    expect(evaluateHealth(status, 'boot-3')).toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/this boot/) as unknown,
    });
    expect(evaluateHealth({ ...status, handshakeAt: null }, 'boot-2')).toMatchObject({
      healthy: false,
    });
  });
});
