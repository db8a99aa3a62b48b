// npm run demo [-- --devices N] [--pending K] [--port P] [--data-dir DIR]
// A live fleet on one machine: the dashboard (embedded PostgreSQL), an update server (its own
// process) publishing two generated EOS image versions, and N EOS testbed devices each running the real agent bundle,
// enrolled with demo tokens (K of them wait for acceptance). Everything stops on Ctrl-C.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunningTestbedDevice } from '@eos-fleet/image/testbed';
import { readEnv, repoRoot } from '../../env';
import { SYSTEM_ACTOR } from '../services/context';
import { labelImageVersion } from '../services/catalog/manage-image-versions';
import { createUpdateServer } from '../services/catalog/manage-update-servers';
import { pollUpdateServer } from '../services/catalog/poll-update-server';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { start } from '../start';
import {
  AGENT_BUNDLE,
  FLEET_IMAGE_NAME,
  bootAgentDevice,
  spawnFleetUpdateServer,
} from './testbed-fleet';

const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '12' },
    pending: { type: 'string', default: '2' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
const deviceCount = Number(values.devices);
const pendingCount = Math.min(Number(values.pending), deviceCount);
if (
  !Number.isInteger(deviceCount) ||
  deviceCount < 1 ||
  deviceCount > 200 ||
  !Number.isInteger(pendingCount) ||
  pendingCount < 0
) {
  console.error(
    'usage: npm run demo -- [--devices 1..200] [--pending K] [--port P] [--data-dir DIR]',
  );
  process.exit(2);
}

const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot, '.data', 'demo'));
const work = path.join(dataDir, 'fleet');
const env = readEnv({
  ...process.env,
  EOS_FLEET_DATA_DIR: dataDir,
  ...(values.port ? { PORT: values.port } : {}),
  NODE_ENV: 'production',
});

async function main() {
  await fs.access(AGENT_BUNDLE).catch(() => {
    throw new Error(
      'The agent bundle is missing: run `npm run demo` from the repository root (it builds first).',
    );
  });
  // a fresh fleet every time; the dashboard's database (and its admin) is kept
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });

  console.log('demo: generating two EOS image versions…');
  // its own process, as in production: the dashboard can stop without cutting device streams
  const fleet = await spawnFleetUpdateServer(work);
  const { v1, v2, updateServer } = fleet;

  const dashboard = await start({ env });
  const ctx = { db: dashboard.db, actor: { ...SYSTEM_ACTOR, label: 'demo' } };
  const autoToken = (
    await createEnrollmentToken(ctx, {
      name: `demo ${new Date().toISOString()}`,
      autoAccept: true,
      labels: { demo: 'yes' },
    })
  ).token;
  const manualToken = (
    await createEnrollmentToken(ctx, {
      name: `demo, needs acceptance ${new Date().toISOString()}`,
      labels: { demo: 'yes' },
    })
  ).token;

  // the dashboard knows its update server and its two versions by name from the start
  const existing = await dashboard.db.updateServer.findUnique({ where: { name: 'demo' } });
  if (existing) await dashboard.db.updateServer.delete({ where: { id: existing.id } });
  const registered = await createUpdateServer(ctx, dashboard.appSecret, {
    name: 'demo',
    sshTarget: 'ec2-user@127.0.0.1',
    sshPort: updateServer.sshPort,
    httpUrl: `http://127.0.0.1:${updateServer.httpPort}`,
    catalogToken: fleet.catalogToken,
  });
  const polled = await pollUpdateServer(dashboard.db, registered.id, {
    appSecret: dashboard.appSecret,
    wait: true,
  });
  if (polled.outcome !== 'polled' || !polled.reachable)
    throw new Error(
      `the demo's update server did not answer its catalog: ${JSON.stringify(polled)}`,
    );
  for (const [built, label] of [
    [v1, '1.0.0'],
    [v2, '2.0.0'],
  ] as const) {
    const versions = await dashboard.db.imageVersion.findMany({
      where: { rootPrefixHash: built.rootPrefixHash, image: { updateServerId: registered.id } },
    });
    for (const version of versions)
      await labelImageVersion(ctx, { imageVersionId: version.id, label });
  }

  console.log(`demo: booting ${deviceCount} EOS testbed devices with the agent…`);
  const devices: RunningTestbedDevice[] = [];
  for (let index = 0; index < deviceCount; index++) {
    devices.push(
      await bootAgentDevice({
        dir: path.join(work, `device-${String(index + 1).padStart(3, '0')}`),
        fleet,
        serverUrl: `ws://127.0.0.1:${dashboard.port}/agent/v1`,
        enrollmentToken: index < deviceCount - pendingCount ? autoToken : manualToken,
        // slow enough to watch the progress in the browser
        bytesPerSecond: 2 * MiB,
        firstConnectJitterMs: 2_000,
        inventoryIntervalMs: 10_000,
      }),
    );
  }

  const summary = {
    dashboard: `http://localhost:${dashboard.port}`,
    devices: deviceCount,
    pending: pendingCount,
    update: {
      imageName: FLEET_IMAGE_NAME,
      from: v1.rootPrefixHash,
      to: v2.rootPrefixHash,
      toRootSha256: v2.rootSha256,
      toRootBytes: v2.root.size,
    },
    updateServer: {
      http: `http://127.0.0.1:${updateServer.httpPort}`,
      sshPort: updateServer.sshPort,
    },
  };
  console.log(
    [
      '',
      `EOS Fleet demo is running: ${summary.dashboard}`,
      `  ${deviceCount} devices run ${FLEET_IMAGE_NAME} 1.0.0 (root prefix hash ${v1.rootPrefixHash});`,
      `  ${pendingCount} of them wait for acceptance under Devices.`,
      `  The update server "demo" is registered (Update servers, Images) and offers 2.0.0:`,
      `  open a device and pick ${FLEET_IMAGE_NAME} 2.0.0 under "Apply update"`,
      `  (${FLEET_IMAGE_NAME}-1.0 1.0.0 is the old version, to go back).`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  // one machine-readable line for scripts (the e2e tests start the demo)
  console.log(`DEMO-READY ${JSON.stringify(summary)}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('demo: stopping…');
    await Promise.allSettled(devices.map((device) => device.shutdown()));
    await dashboard.shutdown();
    await updateServer.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`demo did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
