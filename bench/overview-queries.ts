// How long the Overview's queries take on a large fleet: an embedded PostgreSQL, N devices
// (default 100,000) with presence and a few commands each, 30 days of online samples; each query
// timed (median of 5 after a warm-up), and the counters' plan printed.
//   npx tsx bench/overview-queries.ts [--devices 100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyMigrations, createPrismaClient, Prisma, startEmbeddedPostgres } from '@eos-fleet/db';
import { getActiveRollouts } from '../apps/web/src/server/services/overview/active-rollouts';
import {
  countUpdateServersWithErrors,
  fleetCountersSql,
  getFleetCounters,
} from '../apps/web/src/server/services/overview/fleet-counters';
import { getVersionsByImageName } from '../apps/web/src/server/services/overview/fleet-versions';
import { getFleetOverview } from '../apps/web/src/server/services/overview/get-fleet-overview';
import {
  getOnlineHistory,
  sampleOnlineDevices,
} from '../apps/web/src/server/services/overview/online-samples';
import { getUpdateOutcomesPerDay } from '../apps/web/src/server/services/overview/update-outcomes';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '100000' } } });
const devices = Number(values.devices);
const dir = mkdtempSync(join(tmpdir(), 'eos-fleet-overview-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
const admin = createPrismaClient(pg.url, { poolSize: 1 });
try {
  await admin.$executeRawUnsafe('create database bench');
  const url = pg.urlFor('bench');
  await applyMigrations(url);
  const db = createPrismaClient(url, { poolSize: 8 });
  // seeding takes longer than a dashboard query may
  const seeder = createPrismaClient(url, {
    poolSize: 1,
    timeouts: { statementMs: 600_000, queryMs: 600_000 },
  });
  const started = Date.now();
  await seeder.$executeRawUnsafe(`
    insert into update_server (id, name, "sshTarget", "httpUrl", reachable, "updatedAt")
    values ('00000000-0000-0000-0000-000000000001', 'main', 'eos@update', 'http://update', true, now());
    insert into image (id, "updateServerId", name, "updatedAt")
    select ('00000000-0000-0000-0001-00000000000' || i)::uuid, '00000000-0000-0000-0000-000000000001',
      'EOS.image-' || i, now() from generate_series(1, 3) i;
    insert into image_version (id, "imageId", "rootPrefixHash", "imageSha1", label, recommended, "rootPartitionSize")
    select gen_random_uuid(), ('00000000-0000-0000-0001-00000000000' || i)::uuid, repeat(i::text || v::text, 20),
      repeat('f', 40), i || '.' || v || '.0', v = 4, 1024
    from generate_series(1, 3) i, generate_series(1, 4) v;
    insert into device (id, name, "publicKey", status, "imageName", "rootPrefixHash", "updatedAt")
    select gen_random_uuid(), 'device-' || n, 'key-' || n,
      (case when n % 50 = 0 then 'pending' when n % 97 = 0 then 'decommissioned' else 'accepted' end)::"DeviceStatus",
      'EOS.image-' || (1 + n % 3),
      case when n % 101 = 0 then repeat('9', 40) else repeat((1 + n % 3)::text || (1 + n % 4)::text, 20) end,
      now()
    from generate_series(1, ${devices}) n;
    insert into device_presence ("deviceId", online, "lastSeenAt")
    select id, random() < 0.8, (now() at time zone 'utc') - random() * interval '90 seconds' from device;
    insert into command (id, "deviceId", kind, state, "deadlineAt", "createdAt", "completedAt", "updatedAt")
    select gen_random_uuid(), d.id, (array['apply','check','apply','rollback'])[1 + (k + hashtext(d.id::text) & 3)]::"CommandKind",
      (array['succeeded','failed','timed_out','rolled_back','cancelled','queued','downloading','succeeded'])[1 + (hashtext(d.id::text || k) & 7)]::"CommandState",
      (now() at time zone 'utc') + (random() - 0.5) * interval '2 hours',
      (now() at time zone 'utc') - k * interval '3 days' - random() * interval '1 day',
      (now() at time zone 'utc') - k * interval '3 days',
      now()
    from device d, generate_series(0, 3) k;
    insert into online_sample (minute, online, devices)
    select date_trunc('minute', now() at time zone 'utc') - m * interval '1 minute', ${devices * 0.8}, ${devices}
    from generate_series(1, 30 * 24 * 60) m;
  `);
  await seeder.$executeRawUnsafe('vacuum analyze');
  await seeder.$disconnect();
  const commands = await db.command.count();
  console.log(`seeded ${devices} devices, ${commands} commands in ${Date.now() - started} ms`);

  const ctx = { db };
  const time = async (name: string, run: () => Promise<unknown>) => {
    await run();
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await run();
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(28)} median ${runs[2]?.toFixed(1)} ms  (min ${runs[0]?.toFixed(1)}, max ${runs[4]?.toFixed(1)})`,
    );
  };
  await time('counters', () => getFleetCounters(ctx));
  await time('update servers with errors', () => countUpdateServersWithErrors(ctx));
  await time('versions per image name', () => getVersionsByImageName(ctx));
  await time('outcomes per day', () => getUpdateOutcomesPerDay(ctx));
  await time('online history (24 h)', () => getOnlineHistory(ctx));
  await time('active rollouts', () => getActiveRollouts(ctx));
  await time('whole overview (parallel)', () => getFleetOverview(ctx));
  let minute = Date.UTC(2030, 0, 1);
  await time('one online sample', () => sampleOnlineDevices(ctx, new Date((minute += 60_000))));
  console.log(JSON.stringify(await getFleetCounters(ctx)));
  const plan = await db.$queryRaw<Record<string, string>[]>(
    Prisma.sql`explain (analyze, buffers) ${fleetCountersSql()}`,
  );
  console.log(plan.map((line) => Object.values(line).join(' ')).join('\n'));
  await db.$disconnect();
} finally {
  await admin.$disconnect();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
