// A result that arrives while PostgreSQL is down is not lost: the gateway answers `error
// {code: internal, commandId}` (never `result_stored` for what it did not commit), the agent sends
// it again, and once the database is back the result lands. On a cluster of this test's own,
// stopped and started for real.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations, startEmbeddedPostgres, type RunningPostgres } from '@eos-fleet/db';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { eventually } from '../testing/eventually';
import { createTestApp } from '../testing/test-app';
import { enroll, frameAfter, newIdentity, sendResultUntilStored } from './testing/simulated-agent';

describe('a result while PostgreSQL restarts', () => {
  let scratch: string;
  let postgres: RunningPostgres;
  let app: Awaited<ReturnType<typeof createTestApp>>;
  let http: Awaited<ReturnType<typeof app.listen>>;

  beforeAll(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-restart-pg-'));
    await fs.chmod(scratch, 0o755);
    postgres = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg') });
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('create database fleet');
    await admin.end();
    await applyMigrations(postgres.urlFor('fleet'));
    app = await createTestApp({ databaseUrl: postgres.urlFor('fleet') });
    http = await app.listen({ heartbeatMs: 1_000 });
  });
  afterAll(async () => {
    await http.close();
    await app.close();
    await postgres.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('is answered internal while the database is down, re-sent, stored after the restart: succeeded', async () => {
    const ctx = { db: app.db, actor: SYSTEM_ACTOR };
    const { token } = await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true });
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, token);
    await connection.next('welcome');
    const command = await createCommand(ctx, { deviceId: identity.deviceId, kind: 'check' });
    await connection.next('command');
    connection.send({ type: 'ack', commandId: command.id });
    await eventually(
      () => app.db.command.findUniqueOrThrow({ where: { id: command.id } }),
      (row) => row.ackedAt !== null,
    );

    await postgres.stop();
    const from = connection.frames.length;
    const sending = sendResultUntilStored(
      connection,
      {
        type: 'result',
        commandId: command.id,
        kind: 'check',
        status: 'succeeded',
        data: {
          currentRootPrefixHash: 'a'.repeat(40),
          updateRootPrefixHash: 'a'.repeat(40),
          updateAvailable: false,
        },
        finishedAt: new Date().toISOString(),
      },
      { retryMs: 300, timeoutMs: 90_000 },
    );
    // what the gateway says while it cannot store: an error naming the command, never stored
    const refused = await frameAfter(
      connection,
      from,
      (f) =>
        (f.type === 'error' || f.type === 'result_stored') &&
        'commandId' in f &&
        f.commandId === command.id,
      Date.now() + 30_000,
    );
    expect(refused).toMatchObject({ type: 'error', code: 'internal', commandId: command.id });

    postgres = await startEmbeddedPostgres({
      dataDir: path.join(scratch, 'pg'),
      port: postgres.port,
    });
    const { attempts } = await sending;
    expect(attempts).toBeGreaterThan(1);
    const row = await app.db.command.findUniqueOrThrow({
      where: { id: command.id },
      include: { events: { orderBy: { id: 'asc' } } },
    });
    expect(row.state).toBe('succeeded');
    expect(row.events.map((e) => e.state)).toEqual(['queued', 'delivered', 'succeeded']);
    connection.close();
  });
});
