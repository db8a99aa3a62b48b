// A simulated fleet of N devices for the devices bench and e2e: one update server with two image
// names and a few catalog versions (one recommended, one blocked), devices with varied labels,
// image names, running versions (some unknown builds), presence and update states. Inserted with
// multi-row INSERT ... SELECT FROM generate_series, so 100,000 devices take seconds.
import { createHash } from 'node:crypto';
import type { Db } from '@eos-fleet/db';

export const SEED_IMAGES = ['EOS.x86_64-AB', 'EOS.aarch64-AB'] as const;
const SEED_CHUNK = 10_000;
export const SEED_SITES = ['berlin', 'nuremberg', 'prague', 'austin', 'taipei'] as const;

function hash(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

export interface SeededFleet {
  updateServerId: string;
  /** per image name: version ids by label (1.0.0, 1.1.0, 2.0.0 recommended, 2.1.0-rc blocked) */
  versions: Record<string, Record<string, { id: string; rootPrefixHash: string }>>;
}

/** Insert `count` devices (names `sim-000001`...), plus the catalog they run. */
export async function seedFleet(db: Db, count: number): Promise<SeededFleet> {
  // a second call adds devices to the same catalog (recommended stays one per image name)
  const server =
    (await db.updateServer.findUnique({ where: { name: 'seed-fleet' } })) ??
    (await db.updateServer.create({
      data: {
        name: 'seed-fleet',
        sshTarget: 'eos@seed-fleet.example',
        httpUrl: 'http://127.0.0.1:1',
      },
    }));
  const versions: SeededFleet['versions'] = {};
  for (const name of SEED_IMAGES) {
    const image = await db.image.upsert({
      where: { updateServerId_name: { updateServerId: server.id, name } },
      create: { updateServerId: server.id, name },
      update: {},
    });
    versions[name] = {};
    for (const label of ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc']) {
      const rootPrefixHash = hash(`${name}-${label}`);
      const row = await db.imageVersion.upsert({
        where: { imageId_rootPrefixHash: { imageId: image.id, rootPrefixHash } },
        update: {},
        create: {
          imageId: image.id,
          rootPrefixHash,
          imageSha1: hash(`sha1-${name}-${label}`),
          rootSha256: createHash('sha256').update(`${name}-${label}`).digest('hex'),
          label,
          recommended: label === '2.0.0',
          blocked: label === '2.1.0-rc',
          rootPartitionSize: BigInt(label.startsWith('2.1') ? 3 * 1024 : 1024) * 1024n * 1024n,
        },
      });
      versions[name][label] = { id: row.id, rootPrefixHash };
    }
  }
  const hashes = SEED_IMAGES.flatMap((name) =>
    ['1.0.0', '1.1.0', '2.0.0'].map((label) => versions[name]?.[label]?.rootPrefixHash ?? ''),
  );
  const first = (await db.device.count()) + 1;
  // in chunks: each statement stays well under the client's statement timeout
  for (let start = first; start < first + count; start += SEED_CHUNK) {
    const end = Math.min(first + count, start + SEED_CHUNK) - 1;
    // one statement: i picks the image (i % 2), the version (i % 7: 6 known, 1 unknown build), the
    // site label, presence and update state
    await db.$executeRaw`
    INSERT INTO "device" ("id", "name", "status", "publicKey", "labels", "facts", "rootPrefixHash",
      "imageName", "slotSize", "lastSeenAt", "acceptedAt", "updateState", "updateStateAt",
      "updateDeadlineAt", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), 'sim-' || lpad(i::text, 6, '0'),
      (CASE WHEN i % 97 = 0 THEN 'pending' ELSE 'accepted' END)::"DeviceStatus",
      'seed-' || i || '-' || md5(random()::text),
      jsonb_build_object('site', (${[...SEED_SITES]}::text[])[1 + i % 5], 'ring', 'r' || (i % 3))
        || (CASE WHEN i % 10 = 0 THEN '{"canary":"yes"}'::jsonb ELSE '{}'::jsonb END),
      jsonb_build_object('updateServer', ${server.sshTarget}::text),
      (CASE WHEN i % 7 = 6 THEN md5('unknown' || i) || 'abcdefgh'
        ELSE (${hashes}::text[])[1 + (i % 2) * 3 + (i % 7) % 3] END),
      (${[...SEED_IMAGES]}::text[])[1 + i % 2],
      (CASE WHEN i % 13 = 0 THEN 512 ELSE 2048 END)::bigint * 1024 * 1024,
      now() - ((i % 240) || ' hours')::interval,
      now() - interval '30 days',
      (ARRAY['none','none','none','succeeded','failed','in_progress','stuck','cancelled'])[1 + i % 8]::"DeviceUpdateState",
      now() - interval '1 hour',
      (CASE WHEN i % 16 = 5 THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END),
      now() - (i || ' seconds')::interval, now()
    FROM generate_series(${start}::int, ${end}::int) AS i`;
    // a third of them online now
    await db.$executeRaw`
    INSERT INTO "device_presence" ("deviceId", "online", "lastSeenAt", "connectedAt")
    SELECT d."id", true, now(), now() - interval '1 hour' FROM "device" d
    WHERE d."name" LIKE 'sim-%' AND (substring(d."name" from 5))::int % 3 = 0
      AND (substring(d."name" from 5))::int BETWEEN ${start}::int AND ${end}::int
    ON CONFLICT ("deviceId") DO NOTHING`;
  }
  await db.$executeRaw`ANALYZE "device"`;
  await db.$executeRaw`ANALYZE "device_presence"`;
  return { updateServerId: server.id, versions };
}
