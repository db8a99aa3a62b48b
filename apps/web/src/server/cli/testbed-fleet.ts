// A fleet of EOS testbed devices with the real agent, and the update server they fetch from:
// what `npm run demo` runs and what the fleet integration test drives. Generated images, a fleet
// key made with ssh-keygen as an operator would, nothing downloaded.
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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

export const UPDATE_SERVER_MAIN = path.resolve(AGENT_DIR, '../update-server/src/main.ts');

/** What the fleet needs of its update server, in this process or in its own. */
export interface UpdateServerHandle {
  httpPort: number;
  sshPort: number;
  stop(): Promise<void>;
}

export interface FleetUpdateServer {
  /** running on the devices at first (published as `EOS.x86_64-AB-1.0`) */
  v1: BuiltEosImage;
  /** the update (published as `EOS.x86_64-AB`, the name the devices ask for) */
  v2: BuiltEosImage;
  updateServer: RunningUpdateServer | UpdateServerHandle;
  fleetKey: string;
  /** what the dashboard presents to its catalog API */
  catalogToken: string;
}

const CATALOG_TOKEN = 'fleet-catalog-token';

/** Two image versions, the fleet's shared SSH key, and the update server's os-update.yml. */
async function prepareFleetFiles(work: string, rootMiB: number) {
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
  const config = {
    osUpdateYml: path.join(work, 'os-update.yml'),
    publishDir: path.join(work, 'os-images'),
    stateDir: path.join(work, 'update-server'),
    catalogToken: CATALOG_TOKEN,
    http: { host: '127.0.0.1', port: 0 },
    ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
  };
  return { v1, v2, fleetKey, config };
}

/** Two image versions, the fleet's shared SSH key, and an update server publishing both. */
export async function startFleetUpdateServer(
  work: string,
  { rootMiB = 16 } = {},
): Promise<FleetUpdateServer> {
  const { v1, v2, fleetKey, config } = await prepareFleetFiles(work, rootMiB);
  const updateServer = await startUpdateServer({
    ...config,
    fetchOnStart: false,
    logLevel: 'warn',
  });
  await updateServer.fetchNow();
  return { v1, v2, updateServer, fleetKey, catalogToken: CATALOG_TOKEN };
}

/**
 * The same, with the update server in its own process (`apps/update-server`'s entry point, as in
 * production): stopping the dashboard does not cut the streams devices are reading. Ready once
 * it listens and its catalog lists both images with a version each; `stop()` ends it (SIGTERM,
 * then the server's own grace period for streams in progress).
 */
export async function spawnFleetUpdateServer(
  work: string,
  { rootMiB = 16, readyTimeoutMs = 120_000 } = {},
): Promise<FleetUpdateServer> {
  const { v1, v2, fleetKey, config } = await prepareFleetFiles(work, rootMiB);
  const configFile = path.join(work, 'update-server.yml');
  await fs.writeFile(configFile, stringify({ ...config, fetchOnStart: true, logLevel: 'info' }));
  const logFile = await fs.open(path.join(work, 'update-server.log'), 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', UPDATE_SERVER_MAIN, '--config', configFile],
    {
      cwd: path.dirname(path.dirname(UPDATE_SERVER_MAIN)),
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    void logFile.write(chunk);
  });
  // pino's JSON lines: the listening line carries the ports (both were 0: the kernel's choice)
  const ports = new Promise<{ httpPort: number; sshPort: number }>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      void logFile.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; httpPort?: number; sshPort?: number };
        if (entry.msg === 'update server listening' && entry.httpPort && entry.sshPort)
          resolve({ httpPort: entry.httpPort, sshPort: entry.sshPort });
      } catch {
        // not a log line
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await logFile.close().catch(() => undefined);
  };
  // never outlive the process that started it
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  try {
    const deadline = Date.now() + readyTimeoutMs;
    const failed = exited.then((code) => {
      throw new Error(`the update server exited (${code}) before it was ready:\n${stderr}`);
    });
    const { httpPort, sshPort } = await Promise.race([
      ports,
      failed,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('the update server did not listen in time')),
          readyTimeoutMs,
        ).unref(),
      ),
    ]);
    // ready when its catalog offers both images (its first fetch has run)
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1/catalog`, {
        headers: { authorization: `Bearer ${CATALOG_TOKEN}` },
      }).catch(() => null);
      if (response?.ok) {
        const catalog = (await response.json()) as { images: { versions: unknown[] }[] };
        if (
          catalog.images.length >= 2 &&
          catalog.images.every((image) => image.versions.length > 0)
        )
          break;
      }
      if (child.exitCode !== null) await failed;
      if (Date.now() > deadline)
        throw new Error(`the update server's catalog did not list both images in time:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    failed.catch(() => undefined);
    return {
      v1,
      v2,
      fleetKey,
      catalogToken: CATALOG_TOKEN,
      updateServer: {
        httpPort,
        sshPort,
        stop: async () => {
          process.off('exit', onExit);
          await stop();
        },
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
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
  /** the disk image it was flashed with (default: the fleet's v1), e.g. one with smaller slots */
  image?: string;
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
    image: options.image ?? options.fleet.v1.path,
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
