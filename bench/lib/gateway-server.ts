// The bench's server process: the real web app server (HTTP + tRPC + auth) with the device
// gateway on one port, without Next.js (apps/web/src/server/http/fleet-server.ts). argv: DATABASE_URL HEARTBEAT_MS FLUSH_MS. Prints `LISTENING <port>`; answers
// `measure` messages with its memory, CPU time and the gateway's stats() (./ipc-measure.ts).
import { createPrismaClient } from '@eos-fleet/db';
import pino from 'pino';
import { createAuth } from '../../apps/web/src/server/auth/create-auth';
import { startFleetServer } from '../../apps/web/src/server/http/fleet-server';
import { answerMeasurements } from './ipc-measure';

const [url, heartbeatArg, flushArg] = process.argv.slice(2);
if (!url || !heartbeatArg || !flushArg)
  throw new Error('usage: gateway-server.ts DATABASE_URL HEARTBEAT_MS FLUSH_MS');
// the pool size of a production web process (createPrismaClient's default)
const db = createPrismaClient(url);
const logger = pino({ level: 'warn' });
const auth = createAuth({
  db,
  secret: 'bench-process-secret-bench-process-secret',
  baseUrl: 'http://localhost',
  trustedOrigins: [],
});
const fleet = await startFleetServer({
  db,
  auth,
  logger,
  databaseUrl: url,
  gateway: {
    gatewayId: `bench-${process.pid}`,
    heartbeatMs: Number(heartbeatArg),
    flushMs: Number(flushArg),
  },
  allowedOrigins: new Set(),
  secure: false,
  production: true,
  host: '127.0.0.1',
  port: 0,
});
answerMeasurements(() => ({ ...fleet.gateway.stats() }));
process.stdout.write(`LISTENING ${fleet.port}\n`);
process.on('SIGTERM', () => {
  void fleet.close().then(async () => {
    await db.$disconnect();
    process.exit(0);
  });
});
