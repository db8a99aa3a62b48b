// npm run demo:scale [-- --devices N] [--port P] [--data-dir DIR]
// The dashboard over a simulated fleet of N devices (default 10,000): what the Devices table, the
// Overview and bulk previews look like at scale, without booting N testbed devices. The devices
// are rows only (varied labels, image names, versions, presence and update states from
// server/testing/seed-fleet.ts); no agent answers their commands. Seeded once per data directory.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readEnv, repoRoot } from '../../env';
import { start } from '../start';
import { seedFleet } from '../testing/seed-fleet';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
const deviceCount = Number(values.devices);
if (!Number.isInteger(deviceCount) || deviceCount < 1 || deviceCount > 1_000_000) {
  console.error('usage: npm run demo:scale -- [--devices 1..1000000] [--port P] [--data-dir DIR]');
  process.exit(2);
}

const env = readEnv({
  ...process.env,
  EOS_FLEET_DATA_DIR: path.resolve(values['data-dir'] ?? path.join(repoRoot, '.data', 'scale')),
  ...(values.port ? { PORT: values.port } : {}),
  NODE_ENV: 'production',
});

async function main() {
  const dashboard = await start({ env });
  const existing = await dashboard.db.device.count();
  if (existing < deviceCount) {
    console.log(`scale demo: seeding ${deviceCount - existing} simulated devices…`);
    const started = Date.now();
    await seedFleet(dashboard.db, deviceCount - existing);
    console.log(`scale demo: seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const summary = {
    dashboard: `http://localhost:${dashboard.port}`,
    devices: await dashboard.db.device.count(),
  };
  console.log(
    `\nEOS Fleet scale demo is running: ${summary.dashboard} (${summary.devices} simulated devices). Ctrl-C stops it.\n`,
  );
  // one machine-readable line for scripts (the e2e tests start it)
  console.log(`SCALE-READY ${JSON.stringify(summary)}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await dashboard.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(
    `scale demo did not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
