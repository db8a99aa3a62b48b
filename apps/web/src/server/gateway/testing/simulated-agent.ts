// A lightweight agent that speaks /agent/v1 with a real Ed25519 key: for gateway tests and the
// connection bench. It does what it is told (no EOS underneath): the real agent is apps/agent.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import {
  AGENT_PROTOCOL_PATH,
  PROTOCOL_VERSION,
  parseServerFrame,
  signedChallengeMessage,
  type AgentFrame,
  type Inventory,
  type ServerFrame,
} from '@eos-fleet/shared/protocol/index';
import { ed25519RawPublicKeyBase64 } from '@eos-fleet/shared/protocol/ed25519';
import { WebSocket } from 'ws';

export interface SimulatedIdentity {
  deviceId: string;
  privateKey: KeyObject;
  publicKey: string;
}

export function newIdentity(): SimulatedIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { deviceId: randomUUID(), privateKey, publicKey: ed25519RawPublicKeyBase64(publicKey) };
}

export function sampleInventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    rootPrefixHash: 'a'.repeat(40),
    activeSlot: 'p.lxreadonly',
    slotSizeBytes: 16 * 1024 * 1024,
    imageName: 'EOS.x86_64-AB',
    updateServer: 'fleet@127.0.0.1',
    arch: 'x86_64',
    profile: 'AB',
    osRelease: { name: 'SUSE EOS', versionId: '1' },
    kernelRelease: '6.4.0',
    bootId: randomUUID(),
    commitPending: false,
    flakes: [],
    agentVersion: 'simulated',
    stateDiskFreeBytes: 1024 * 1024 * 1024,
    collectedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function signChallenge(
  identity: SimulatedIdentity,
  purpose: 'enroll' | 'auth',
  nonce: string,
): string {
  const message = Buffer.from(
    signedChallengeMessage({ purpose, deviceId: identity.deviceId, nonce }),
    'utf8',
  );
  return sign(null, message, identity.privateKey).toString('base64');
}

export interface Connection {
  ws: WebSocket;
  frames: ServerFrame[];
  /** the first frame (already received or to come) that matches */
  next<T extends ServerFrame['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ServerFrame, { type: T }>>;
  send(frame: AgentFrame | Record<string, unknown>): void;
  sendRaw(data: string | Buffer): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Open a connection and wait for the challenge. */
export async function connect(baseUrl: string): Promise<Connection & { nonce: string }> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${AGENT_PROTOCOL_PATH}`);
  const frames: ServerFrame[] = [];
  const waiters: { type: string; resolve: (frame: ServerFrame) => void }[] = [];
  ws.on('message', (data) => {
    const parsed = parseServerFrame(data);
    if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.error.message}`);
    frames.push(parsed.value);
    for (const waiter of [...waiters]) {
      if (waiter.type === parsed.value.type) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed.value);
        return;
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  const seen = new Set<ServerFrame>();
  const connection: Connection = {
    ws,
    frames,
    closed,
    next(type, timeoutMs = 10_000) {
      const ready = frames.find((frame) => frame.type === type && !seen.has(frame));
      if (ready) {
        seen.add(ready);
        return Promise.resolve(ready as never);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no ${type} frame within ${timeoutMs} ms (got ${frames.map((f) => f.type).join(', ')})`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          type,
          resolve: (frame) => {
            clearTimeout(timer);
            seen.add(frame);
            resolve(frame as never);
          },
        });
      });
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    close: () => ws.close(),
  };
  const challenge = await connection.next('challenge');
  return { ...connection, nonce: challenge.nonce };
}

export async function enroll(
  baseUrl: string,
  identity: SimulatedIdentity,
  token: string,
  inventory = sampleInventory(),
) {
  const connection = await connect(baseUrl);
  connection.send({
    type: 'enroll',
    protocolVersion: PROTOCOL_VERSION,
    deviceId: identity.deviceId,
    enrollmentToken: token,
    publicKey: identity.publicKey,
    signature: signChallenge(identity, 'enroll', connection.nonce),
    agentVersion: 'simulated',
    facts: inventory,
  });
  return connection;
}

export async function authenticate(baseUrl: string, identity: SimulatedIdentity) {
  const connection = await connect(baseUrl);
  connection.send({
    type: 'auth',
    protocolVersion: PROTOCOL_VERSION,
    deviceId: identity.deviceId,
    signature: signChallenge(identity, 'auth', connection.nonce),
    agentVersion: 'simulated',
  });
  return connection;
}

/** The first frame from index `from` on that matches, polling until `until` (epoch ms). */
export async function frameAfter(
  connection: Connection,
  from: number,
  match: (frame: ServerFrame) => boolean,
  until: number,
): Promise<ServerFrame> {
  for (;;) {
    const found = connection.frames.slice(from).find(match);
    if (found) return found;
    if (Date.now() > until)
      throw new Error(
        `no matching frame in time (got ${connection.frames.map((f) => f.type).join(', ')})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * What the agent does with a result: send it, and again after `retryMs` while the server answers
 * `error {commandId}` (or nothing), until `result_stored` for it arrives.
 */
export async function sendResultUntilStored(
  connection: Connection,
  frame: Extract<AgentFrame, { type: 'result' }>,
  { retryMs = 200, answerMs = 5_000, timeoutMs = 60_000 } = {},
): Promise<{ attempts: number }> {
  const until = Date.now() + timeoutMs;
  for (let attempts = 1; ; attempts++) {
    const from = connection.frames.length;
    connection.send(frame);
    const answer = await frameAfter(
      connection,
      from,
      (f) =>
        (f.type === 'result_stored' || f.type === 'error') &&
        'commandId' in f &&
        f.commandId === frame.commandId,
      Math.min(until, Date.now() + answerMs),
    ).catch(() => undefined);
    if (answer?.type === 'result_stored') return { attempts };
    if (Date.now() > until) throw new Error(`result ${frame.commandId} not stored in time`);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
