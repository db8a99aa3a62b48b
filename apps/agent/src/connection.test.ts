// Connection timing with an injected clock: the first connect is jittered, reconnects back off
// within bounds, and a refused device waits the longest delay instead of hammering the server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock } from './clock';
import { AgentConnection, type ConnectionOptions } from './connection';
import { Identity } from './identity';
import { silentLogger } from './logger';
import { StateStore } from './state-store';
import { TestGateway } from './testing/test-gateway';

/** Records timers instead of running them; `fire()` runs the earliest one. */
class ManualClock implements Clock {
  timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  now = () => new Date();
  setTimer(fn: () => void, ms: number) {
    const timer = { ms, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
  pending() {
    return this.timers.filter((t) => !t.cancelled);
  }
  delays(): number[] {
    return this.pending().map((t) => t.ms);
  }
  fireLatest(): void {
    const timer = this.pending().at(-1);
    if (!timer) throw new Error('no timer');
    timer.cancelled = true;
    timer.fn();
  }
}

let dir: string;
let gateway: TestGateway;
let connection: AgentConnection | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eos-agent-conn-'));
  gateway = await TestGateway.start();
});
afterEach(async () => {
  connection?.stop();
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
});

async function connect(clock: ManualClock, overrides: Partial<ConnectionOptions> = {}) {
  const identity = await Identity.loadOrCreate(new StateStore(dir), clock);
  connection = new AgentConnection({
    url: gateway.url,
    enrollmentToken: 'token',
    identity,
    agentVersion: 'test',
    clock,
    log: silentLogger,
    reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000, firstConnectJitterMs: 20_000 },
    random: () => 0.5,
    facts: () => Promise.reject(new Error('no facts in this test')),
    onReady: () => undefined,
    onCommand: () => undefined,
    ...overrides,
  });
  return { connection, identity };
}

describe('connection timing', () => {
  it('jitters the first connect within the window', async () => {
    const clock = new ManualClock();
    const { connection } = await connect(clock);
    connection.start();
    expect(clock.delays()).toEqual([10_000]);
    expect(connection.status).toBe('idle');
  });

  it('backs off after failures and waits the longest delay once refused', async () => {
    const clock = new ManualClock();
    const { connection, identity } = await connect(clock, { url: 'ws://127.0.0.1:1/agent/v1' });
    connection.start();
    clock.fireLatest();
    await gateway.waitFor(() => connection.status === 'idle');
    // random 0.5 => 3/4 of the capped step: 750 ms, then 1500 ms.
    expect(clock.pending().at(-1)?.ms).toBe(750);
    clock.fireLatest();
    await gateway.waitFor(() => connection.status === 'idle' && clock.pending().at(-1)?.ms !== 750);
    expect(clock.pending().at(-1)?.ms).toBe(1500);

    // A device the server rejects: the next try comes after maxDelayMs.
    gateway.devices.set(identity.deviceId, { publicKey: identity.publicKey, status: 'rejected' });
    await identity.markEnrolled(clock);
    const refused = await connect(clock);
    refused.connection.start();
    clock.fireLatest();
    await gateway.waitFor(() => refused.connection.lastCloseCode === 4003);
    expect(clock.pending().at(-1)?.ms).toBe(60_000);
  });

  it('keeps a pending connection open with a long watchdog instead of the handshake deadline', async () => {
    gateway.autoAccept = false;
    const clock = new ManualClock();
    const identity = await Identity.loadOrCreate(new StateStore(dir), clock);
    await identity.markEnrolled(clock);
    const { connection } = await connect(clock);
    gateway.devices.set(identity.deviceId, { publicKey: identity.publicKey, status: 'pending' });
    connection.start();
    clock.fireLatest();
    await gateway.waitFor(() => connection.status === 'pending');
    expect(clock.delays()).toEqual([120_000]);
  });
});
