// The pool gauges report every tracked client once: the gateway's and the jobs' pools add up, and
// one client tracked by two users (a test process's shared client) stays reported until both stop.
import { createPrismaClient } from '@eos-fleet/db';
import { afterAll, describe, expect, it } from 'vitest';
import { registry, trackDatabase } from './metrics';

// clients with pools that never connect: the gauges read their limits only
const gateway = createPrismaClient('postgresql://fleet@127.0.0.1:1/fleet', { poolSize: 20 });
const jobs = createPrismaClient('postgresql://fleet@127.0.0.1:1/fleet', { poolSize: 4 });

async function poolMax() {
  const metric = await registry.getSingleMetric('eos_fleet_db_pool_max')?.get();
  return metric?.values[0]?.value;
}

describe('the database pool gauges', () => {
  afterAll(async () => {
    await gateway.$disconnect();
    await jobs.$disconnect();
  });

  it('add up the pools tracked, and count a client tracked twice once until both untrack', async () => {
    const untrackGateway = trackDatabase(gateway);
    const untrackJobs = trackDatabase(jobs);
    expect(await poolMax()).toBe(24);
    const untrackAgain = trackDatabase(gateway);
    expect(await poolMax()).toBe(24);
    untrackAgain();
    untrackAgain();
    expect(await poolMax()).toBe(24);
    untrackJobs();
    expect(await poolMax()).toBe(20);
    untrackGateway();
    expect(await poolMax()).toBe(0);
  });
});
