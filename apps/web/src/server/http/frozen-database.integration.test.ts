// PostgreSQL frozen (every postgres process SIGSTOPped: a hung VM, a stalled disk): /healthz and
// the API answer within seconds, saying the database is not answering, and recover by themselves
// once it runs again. A cluster of its own: freezing the shared test cluster would stall the
// other test files.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  applyMigrations,
  createPrismaClient,
  startEmbeddedPostgres,
  type Db,
  type RunningPostgres,
} from '@eos-fleet/db';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../auth/create-auth';
import { SYSTEM_ACTOR } from '../services/context';
import { createOperator } from '../services/operators/create-operator';
import { startFleetServer, type FleetServer } from './fleet-server';
import { rawRequest, sessionCookieOf, type RawResponse } from './testing/raw-request';

/** The postmaster (from its postmaster.pid) and every process it forked. */
async function postgresProcesses(dataDir: string): Promise<number[]> {
  const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  const postmaster = Number(text.split('\n')[0]);
  const children: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

async function timed(request: Promise<RawResponse>) {
  const started = Date.now();
  const response = await request;
  return { ...response, ms: Date.now() - started };
}

const ANSWER_WITHIN_MS = 5_000;

describe('PostgreSQL frozen: /healthz and the API answer 503 within seconds, then recover', () => {
  let scratch: string;
  let postgres: RunningPostgres;
  let db: Db;
  let fleet: FleetServer;
  let baseUrl: string;
  let frozen: number[] = [];

  const signal = (pids: number[], name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // a backend that exited meanwhile
      }
    }
  };

  beforeAll(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-frozen-pg-'));
    await fs.chmod(scratch, 0o755);
    postgres = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg') });
    await applyMigrations(postgres.url);
    db = createPrismaClient(postgres.url, { poolSize: 4 });
    const auth = createAuth({
      db,
      secret: 'test-secret-test-secret-test-secret-123',
      baseUrl: 'http://localhost',
      trustedOrigins: [],
    });
    fleet = await startFleetServer({
      db,
      auth,
      logger: pino({ level: 'silent' }),
      databaseUrl: postgres.url,
      gateway: { gatewayId: 'frozen-test', flushMs: 100 },
      allowedOrigins: new Set(),
      secure: false,
      production: true,
      host: '127.0.0.1',
      port: 0,
    });
    baseUrl = `http://127.0.0.1:${fleet.port}`;
  });

  afterAll(async () => {
    signal(frozen, 'SIGCONT');
    await fleet?.close();
    await db?.$disconnect();
    await postgres?.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('answers 503 with a reason while frozen, and 200 again after SIGCONT', async () => {
    await createOperator(
      { db, actor: SYSTEM_ACTOR },
      {
        email: 'admin@test.local',
        name: 'Admin',
        role: 'admin',
        password: 'correct horse battery',
      },
    );
    const signedIn = await rawRequest(baseUrl, '/api/auth/sign-in/email', {
      method: 'POST',
      body: JSON.stringify({ email: 'admin@test.local', password: 'correct horse battery' }),
    });
    expect(signedIn.status).toBe(200);
    const cookie = sessionCookieOf(signedIn) ?? '';
    expect((await rawRequest(baseUrl, '/healthz')).status).toBe(200);

    frozen = await postgresProcesses(postgres.dataDir);
    expect(frozen.length).toBeGreaterThan(1);
    signal(frozen, 'SIGSTOP');
    try {
      const health = await timed(rawRequest(baseUrl, '/healthz'));
      expect(health.status).toBe(503);
      expect(health.ms).toBeLessThan(ANSWER_WITHIN_MS);
      expect(JSON.parse(health.text)).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(/PostgreSQL/),
      });

      const api = await timed(rawRequest(baseUrl, '/api/trpc/account.me', { headers: { cookie } }));
      expect(api.status).toBe(503);
      expect(api.text).toContain('The database is not answering');
      expect(api.ms).toBeLessThan(ANSWER_WITHIN_MS + 1_000);

      const signIn = await timed(
        rawRequest(baseUrl, '/api/auth/sign-in/email', {
          method: 'POST',
          body: JSON.stringify({ email: 'admin@test.local', password: 'correct horse battery' }),
        }),
      );
      expect(signIn.status).toBe(503);
      expect(signIn.ms).toBeLessThan(ANSWER_WITHIN_MS + 1_000);

      // several at once: none waits behind another's timeout for longer than the bound
      const burst = await Promise.all(
        Array.from({ length: 6 }, () => timed(rawRequest(baseUrl, '/healthz'))),
      );
      expect(burst.map((response) => response.status)).toEqual(Array(6).fill(503));
      expect(Math.max(...burst.map((response) => response.ms))).toBeLessThan(ANSWER_WITHIN_MS);
    } finally {
      signal(frozen, 'SIGCONT');
    }

    const until = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < until && status !== 200) {
      status = (await rawRequest(baseUrl, '/healthz')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    const me = await rawRequest(baseUrl, '/api/trpc/account.me', { headers: { cookie } });
    expect(me.status).toBe(200);
  });
});
