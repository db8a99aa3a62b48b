// npm run demo [-- --devices N] [--pending K] [--port P] [--data-dir DIR]
// A live fleet on one machine: the dashboard (embedded PostgreSQL), an update server publishing
// two generated EOS image versions, and N EOS testbed devices each running the real agent bundle,
// enrolled with demo tokens (K of them wait for acceptance). Everything stops on Ctrl-C.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildEosImage } from '@eos-fleet/image';
import {
  bootTestbedDevice,
  createTestbedDevice,
  testbedAgentPaths,
  type RunningTestbedDevice,
} from '@eos-fleet/image/testbed';
import { startUpdateServer } from '@eos-fleet/update-server';
import { stringify } from 'yaml';
import { readEnv, repoRoot } from '../../env';
import { SYSTEM_ACTOR } from '../services/context';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { start } from '../start';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const IMAGE_NAME = 'EOS.x86_64-AB';

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
  const agentBundle = path.join(repoRoot, 'apps/agent/dist/eos-fleet-agent.mjs');
  await fs.access(agentBundle).catch(() => {
    throw new Error(
      'The agent bundle is missing: run `npm run demo` from the repository root (it builds first).',
    );
  });
  // a fresh fleet every time; the dashboard's database (and its admin) is kept
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });

  console.log('demo: generating two EOS image versions…');
  const sizes = { root: 16, uefi: 2, spare: 1 };
  const [v1, v2] = await Promise.all([
    buildEosImage({ outPath: path.join(work, 'EOS-1.0.0.raw'), version: '1.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'EOS-2.0.0.raw'), version: '2.0.0', sizes }),
  ]);
  const fleetKey = path.join(work, 'id_fleet');
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'eos-fleet-demo',
    '-f',
    fleetKey,
  ]);
  await fs.writeFile(
    path.join(work, 'authorized_keys'),
    await fs.readFile(`${fleetKey}.pub`, 'utf8'),
  );
  await fs.writeFile(
    path.join(work, 'os-update.yml'),
    stringify({
      update: [
        { image: pathToFileURL(v2.path).href, name: `${IMAGE_NAME}.raw` },
        { image: pathToFileURL(v1.path).href, name: `${IMAGE_NAME}-1.0.raw` },
      ],
    }),
  );
  const updateServer = await startUpdateServer({
    osUpdateYml: path.join(work, 'os-update.yml'),
    publishDir: path.join(work, 'os-images'),
    stateDir: path.join(work, 'update-server'),
    fetchOnStart: false,
    catalogToken: 'demo-catalog-token',
    http: { host: '127.0.0.1', port: 0 },
    ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
    logLevel: 'warn',
  });
  await updateServer.fetchNow();

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

  console.log(`demo: booting ${deviceCount} EOS testbed devices with the agent…`);
  const devices: RunningTestbedDevice[] = [];
  for (let index = 0; index < deviceCount; index++) {
    const dir = path.join(work, `device-${String(index + 1).padStart(3, '0')}`);
    const configFile = path.join(work, `agent-${index + 1}.yml`);
    await fs.writeFile(
      configFile,
      stringify({
        server: {
          url: `ws://127.0.0.1:${dashboard.port}/agent/v1`,
          enrollmentToken: index < deviceCount - pendingCount ? autoToken : manualToken,
        },
        ...testbedAgentPaths(dir),
        reconnect: { initialDelayMs: 500, maxDelayMs: 10_000, firstConnectJitterMs: 2_000 },
        inventoryIntervalMs: 10_000,
      }),
    );
    await createTestbedDevice({
      dir,
      image: v1.path,
      updateServer: { host: '127.0.0.1', sshPort: updateServer.sshPort, user: 'ec2-user' },
      fleetKeyPath: fleetKey,
      name: IMAGE_NAME,
      // slow enough to watch the progress in the browser
      dd: { progressIntervalMs: 250, bytesPerSecond: 2 * MiB },
      services: [
        {
          name: 'eos-fleet-agent',
          command: [process.execPath, agentBundle, '--config', configFile],
        },
      ],
    });
    devices.push(await bootTestbedDevice(dir));
  }

  const summary = {
    dashboard: `http://localhost:${dashboard.port}`,
    devices: deviceCount,
    pending: pendingCount,
    update: { imageName: IMAGE_NAME, from: v1.rootPrefixHash, to: v2.rootPrefixHash },
    updateServer: {
      http: `http://127.0.0.1:${updateServer.httpPort}`,
      sshPort: updateServer.sshPort,
    },
  };
  console.log(
    [
      '',
      `EOS Fleet demo is running: ${summary.dashboard}`,
      `  ${deviceCount} devices run ${IMAGE_NAME} 1.0.0 (root prefix hash ${v1.rootPrefixHash});`,
      `  ${pendingCount} of them wait for acceptance under Devices.`,
      `  The update server offers 2.0.0: open a device and apply root prefix hash ${v2.rootPrefixHash}`,
      `  (${IMAGE_NAME}-1.0 is the old version, ${v1.rootPrefixHash}, to go back).`,
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
