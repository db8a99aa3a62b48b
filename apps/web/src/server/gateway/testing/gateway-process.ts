// A second web process for the scale-out test: the real serving side (without Next) on the
// database given as argv[2], printing its port. The test spawns it; it stops on SIGTERM.
import { createPrismaClient } from '@eos-fleet/db';
import pino from 'pino';
import { createAuth } from '../../auth/create-auth';
import { startFleetServer } from '../../http/fleet-server';

const url = process.argv[2];
if (!url) throw new Error('usage: gateway-process.ts DATABASE_URL');
const db = createPrismaClient(url, { poolSize: 4 });
const logger = pino({ level: 'warn' });
const auth = createAuth({
  db,
  secret: 'second-process-secret-second-process',
  baseUrl: 'http://localhost',
  trustedOrigins: [],
});
const fleet = await startFleetServer({
  db,
  auth,
  logger,
  databaseUrl: url,
  gateway: { gatewayId: `second-${process.pid}`, flushMs: 100 },
  allowedOrigins: new Set(),
  secure: false,
  production: true,
  host: '127.0.0.1',
  port: 0,
});
process.stdout.write(`LISTENING ${fleet.port}\n`);
process.on('SIGTERM', () => {
  void fleet.close().then(async () => {
    await db.$disconnect();
    process.exit(0);
  });
});
