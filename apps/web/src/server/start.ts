// Start one EOS Fleet web process: database (embedded unless DATABASE_URL), migrations, the first
// admin, auth, Next.js, the HTTP server. Any failure before listening ends the process with one
// clear line and nothing half-started; SIGINT/SIGTERM shut everything down in order.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPrismaClient,
  openProjectDatabase,
  redact,
  type ProjectDatabase,
} from '@eos-fleet/db';
import next from 'next';
import { readEnv, type Env } from '../env';
import { loadAuthSecret } from './auth/auth-secret';
import { createAuth } from './auth/create-auth';
import { startFleetServer, type FleetServer } from './http/fleet-server';
import { startCatalogPoller } from './jobs/catalog-poller';
import { startOnlineSampler } from './jobs/online-sampler';
import { startJobRunner, type JobRunner } from './jobs/job-runner';
import { createLogger } from './logger';
import { ensureInitialAdmin } from './services/operators/ensure-initial-admin';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export class StartError extends Error {
  override name = 'StartError';
}

async function assertPortFree(host: string, port: number) {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          error.code === 'EADDRINUSE'
            ? `Port ${port} is already in use (is EOS Fleet already running?). Set PORT to use another.`
            : `Cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function printAdminBanner(email: string, password: string, publicUrl: string) {
  const lines = [
    'EOS Fleet: the first admin account was created.',
    `  sign in at   ${publicUrl}/sign-in`,
    `  email        ${email}`,
    `  password     ${password}`,
    'This one-time password is shown only now; you will choose a new one at first sign-in.',
  ];
  const width = Math.max(...lines.map((line) => line.length));
  const rule = '='.repeat(width);
  process.stdout.write(`\n${rule}\n${lines.join('\n')}\n${rule}\n\n`);
}

export async function start({ dev = false, env = readEnv() }: { dev?: boolean; env?: Env } = {}) {
  const logger = createLogger(env.LOG_LEVEL);
  await assertPortFree(env.HOST, env.PORT);

  const database: ProjectDatabase = await openProjectDatabase({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.EOS_FLEET_DATA_DIR,
    onLog: (line) => logger.debug({ postgres: line }),
  });
  // the gateway's handshakes and the dashboard share it: a burst of enrolments needs room
  const db = createPrismaClient(database.url, { poolSize: 20 });
  // the fleet-wide jobs (rollout ticks, the deadline sweep) have their own: thousands of devices
  // reconnecting at once cannot stall a rollout, nor a tick sending 500 applies their handshakes
  const jobsDb = createPrismaClient(database.url, { poolSize: 4 });
  logger.info(
    {
      database: database.embedded ? `embedded (${env.EOS_FLEET_DATA_DIR})` : redact(database.url),
      migrationsApplied: database.applied,
    },
    'database ready',
  );

  let fleet: FleetServer | undefined;
  let poller: ReturnType<typeof startCatalogPoller> | undefined;
  let sampler: ReturnType<typeof startOnlineSampler> | undefined;
  let jobs: JobRunner | undefined;
  const shutdown = async () => {
    await poller?.stop();
    await sampler?.stop();
    await jobs?.stop();
    await fleet?.close();
    await jobsDb.$disconnect().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    await database.close();
  };

  try {
    const publicUrl = (env.EOS_FLEET_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(
      /\/$/,
      '',
    );
    const admin = await ensureInitialAdmin(db, {
      email: env.EOS_FLEET_ADMIN_EMAIL,
      password: env.EOS_FLEET_ADMIN_PASSWORD,
    });
    if (admin.created) {
      if (admin.oneTimePassword) printAdminBanner(admin.email, admin.oneTimePassword, publicUrl);
      else logger.info({ email: admin.email }, 'first admin created with the configured password');
    }

    const allowedOrigins = new Set([new URL(publicUrl).origin]);
    const appSecret = await loadAuthSecret(env.EOS_FLEET_DATA_DIR, env.EOS_FLEET_AUTH_SECRET);
    const auth = createAuth({
      db,
      secret: appSecret,
      baseUrl: publicUrl,
      // the dashboard's own host (however an operator reached it) and the public URL
      trustedOrigins: (request) => {
        const host = request?.headers.get('host');
        const own = host ? [`${publicUrl.startsWith('https') ? 'https' : 'http'}://${host}`] : [];
        return [...allowedOrigins, ...own];
      },
    });

    if (!dev && !(await fs.stat(path.join(WEB_DIR, '.next', 'BUILD_ID')).catch(() => null))) {
      throw new StartError(
        'The dashboard is not built: run `npm start` from the repository root (it builds first) or `npm run build`.',
      );
    }
    // Next keeps rendered pages in .next/server/route-cache across restarts, and a rebuild that
    // turbo restores from its cache does not clear it: seen serving an old page after an update.
    // Start from an empty cache: the build's own pages are the ones to serve.
    if (!dev)
      await fs.rm(path.join(WEB_DIR, '.next', 'server', 'route-cache'), {
        recursive: true,
        force: true,
      });
    const nextApp = next({ dev, dir: WEB_DIR, hostname: env.HOST, port: env.PORT });
    await nextApp.prepare();
    const handleNext = nextApp.getRequestHandler();
    const nextUpgrade = nextApp.getUpgradeHandler();

    fleet = await startFleetServer({
      db,
      auth,
      logger,
      databaseUrl: database.url,
      gateway: { gatewayId: `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}` },
      allowedOrigins,
      secure: publicUrl.startsWith('https://'),
      trustedProxies: env.EOS_FLEET_TRUSTED_PROXIES,
      production: !dev,
      handlePage: (req, res) => handleNext(req, res),
      // Next's dev server has its hot-reload socket
      otherUpgrade: dev ? (req, socket, head) => void nextUpgrade(req, socket, head) : undefined,
      host: env.HOST,
      port: env.PORT,
    });
    // the fleet-wide jobs: the command deadline sweep and the rollout scheduler
    jobs = await startJobRunner({ db: jobsDb, databaseUrl: database.url, logger });
    const { port } = fleet;
    if (env.EOS_FLEET_CATALOG_POLL_SECONDS > 0)
      poller = startCatalogPoller({
        db,
        logger,
        appSecret,
        intervalMs: env.EOS_FLEET_CATALOG_POLL_SECONDS * 1000,
      });
    sampler = startOnlineSampler({ db, logger });
    logger.info({ url: `http://localhost:${port}`, publicUrl }, 'EOS Fleet is listening');
    return { port, shutdown, logger, db, appSecret };
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
}
