// The client's sessions run in UTC: Prisma writes DateTime as UTC into columns without a zone,
// and raw SQL (now(), ::timestamptz parameters) must land in the same zone even on a server whose
// own time zone is not UTC.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPrismaClient } from './client';
import { createTestDatabase, type TestDatabase } from './testing/test-database';

describe('the Prisma client', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(inject('postgresAdminUrl'));
    // a server far from UTC: new sessions default to Tokyo time
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`alter database ${database.name} set timezone = 'Asia/Tokyo'`);
    await admin.end();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('writes raw now() and timestamptz parameters as the UTC instants Prisma reads back', async () => {
    const db = createPrismaClient(database.url, { poolSize: 1 });
    try {
      const [zone] = await db.$queryRaw<{ TimeZone: string }[]>`SHOW TimeZone`;
      expect(zone?.TimeZone).toBe('UTC');
      const before = Date.now();
      const server = await db.updateServer.create({
        data: { name: 'tz', sshTarget: 'fleet@tz', httpUrl: 'http://127.0.0.1:1' },
      });
      const at = new Date('2026-06-01T12:00:00.000Z');
      await db.$executeRaw`
        UPDATE "update_server" SET "updatedAt" = now(), "createdAt" = ${at}::timestamptz
         WHERE "id" = ${server.id}::uuid`;
      const read = await db.updateServer.findUniqueOrThrow({ where: { id: server.id } });
      expect(read.createdAt.toISOString()).toBe(at.toISOString());
      // now() is this instant, not nine hours off
      expect(Math.abs(read.updatedAt.getTime() - before)).toBeLessThan(60_000);
    } finally {
      await db.$disconnect();
    }
  });
});
