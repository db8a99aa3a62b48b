// A fleet of EOS testbed devices with the real agent, and the update server they fetch from:
// what `npm run demo` runs and what the fleet integration test drives. Generated images, a fleet
// key made with ssh-keygen as an operator would, nothing downloaded.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildEosImage, type BuiltEosImage } from '@eos-fleet/image';
import {
  bootTestbedDevice,
  createTestbedDevice,
  testbedAgentPaths,
  type RunningTestbedDevice,
} from '@eos-fleet/image/testbed';
import { startUpdateServer, type RunningUpdateServer } from '@eos-fleet/update-server';
import { stringify } from 'yaml';

const run = promisify(execFile);
export const FLEET_IMAGE_NAME = 'EOS.x86_64-AB';
export const AGENT_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../agent',
);
export const AGENT_BUNDLE = path.join(AGENT_DIR, 'dist', 'eos-fleet-agent.mjs');

export interface FleetUpdateServer {
  /** running on the devices at first (published as `EOS.x86_64-AB-1.0`) */
  v1: BuiltEosImage;
  /** the update (published as `EOS.x86_64-AB`, the name the devices ask for) */
  v2: BuiltEosImage;
  updateServer: RunningUpdateServer;
  fleetKey: string;
  /** what the dashboard presents to its catalog API */
  catalogToken: string;
}

/** Two image versions, the fleet's shared SSH key, and an update server publishing both. */
export async function startFleetUpdateServer(
  work: string,
  { rootMiB = 16 } = {},
): Promise<FleetUpdateServer> {
  await fs.mkdir(work, { recursive: true });
  const sizes = { root: rootMiB, uefi: 2, spare: 1 };
  const [v1, v2] = await Promise.all([
    buildEosImage({ outPath: path.join(work, 'EOS-1.0.0.raw'), version: '1.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'EOS-2.0.0.raw'), version: '2.0.0', sizes }),
  ]);
  const fleetKey = path.join(work, 'id_fleet');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'eos-fleet', '-f', fleetKey]);
  await fs.writeFile(
    path.join(work, 'authorized_keys'),
    await fs.readFile(`${fleetKey}.pub`, 'utf8'),
  );
  await fs.writeFile(
    path.join(work, 'os-update.yml'),
    stringify({
      update: [
        { image: pathToFileURL(v2.path).href, name: `${FLEET_IMAGE_NAME}.raw` },
        { image: pathToFileURL(v1.path).href, name: `${FLEET_IMAGE_NAME}-1.0.raw` },
      ],
    }),
  );
  const updateServer = await startUpdateServer({
    osUpdateYml: path.join(work, 'os-update.yml'),
    publishDir: path.join(work, 'os-images'),
    stateDir: path.join(work, 'update-server'),
    fetchOnStart: false,
    catalogToken: 'fleet-catalog-token',
    http: { host: '127.0.0.1', port: 0 },
    ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
    logLevel: 'warn',
  });
  await updateServer.fetchNow();
  return { v1, v2, updateServer, fleetKey, catalogToken: 'fleet-catalog-token' };
}

export interface AgentDeviceOptions {
  dir: string;
  fleet: FleetUpdateServer;
  /** the gateway, e.g. ws://127.0.0.1:3000/agent/v1 */
  serverUrl: string;
  enrollmentToken: string;
  /** dd's pace: slow enough to watch, or fast for tests */
  bytesPerSecond: number;
  firstConnectJitterMs?: number;
  inventoryIntervalMs?: number;
}

/** Lay out a device booted from v1 with the agent as its service, and boot it. */
export async function bootAgentDevice(options: AgentDeviceOptions): Promise<RunningTestbedDevice> {
  const configFile = `${options.dir}-agent.yml`;
  await fs.writeFile(
    configFile,
    stringify({
      server: { url: options.serverUrl, enrollmentToken: options.enrollmentToken },
      ...testbedAgentPaths(options.dir),
      reconnect: {
        initialDelayMs: 100,
        maxDelayMs: 2_000,
        firstConnectJitterMs: options.firstConnectJitterMs ?? 0,
      },
      inventoryIntervalMs: options.inventoryIntervalMs ?? 1_000,
    }),
  );
  await createTestbedDevice({
    dir: options.dir,
    image: options.fleet.v1.path,
    updateServer: {
      host: '127.0.0.1',
      sshPort: options.fleet.updateServer.sshPort,
      user: 'ec2-user',
    },
    fleetKeyPath: options.fleet.fleetKey,
    name: FLEET_IMAGE_NAME,
    dd: { progressIntervalMs: 250, bytesPerSecond: options.bytesPerSecond },
    services: [
      {
        name: 'eos-fleet-agent',
        command: [process.execPath, AGENT_BUNDLE, '--config', configFile],
      },
    ],
  });
  return bootTestbedDevice(options.dir);
}
