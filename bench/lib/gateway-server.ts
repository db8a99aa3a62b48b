// The bench's server process: the real web app server (HTTP + tRPC + auth) with the device
// gateway on one port, without Next.js, as apps/web/src/server/gateway/testing/gateway-process.ts
// builds it. argv: DATABASE_URL HEARTBEAT_MS FLUSH_MS. Prints `LISTENING <port>`; answers
// `measure` messages with its memory, CPU time and the gateway's stats() (./ipc-measure.ts).
import { createPrismaClient } from '@eos-fleet/db';
import pino from 'pino';
import { createAuth } from '../../apps/web/src/server/auth/create-auth';
import { listenForFleetEvents } from '../../apps/web/src/server/gateway/event-listener';
import { createGateway } from '../../apps/web/src/server/gateway/gateway';
import { createAppServer } from '../../apps/web/src/server/http/app-server';
import { answerMeasurements } from './ipc-measure';

const [url, heartbeatArg, flushArg] = process.argv.slice(2);
if (!url || !heartbeatArg || !flushArg)
  throw new Error('usage: gateway-server.ts DATABASE_URL HEARTBEAT_MS FLUSH_MS');
// the pool size of a production web process (createPrismaClient's default)
const db = createPrismaClient(url);
const logger = pino({ level: 'warn' });
const gateway = createGateway({
  db,
  logger,
  gatewayId: `bench-${process.pid}`,
  heartbeatMs: Number(heartbeatArg),
  flushMs: Number(flushArg),
});
const events = listenForFleetEvents(
  url,
  logger,
  (event) => gateway.onFleetEvent(event),
  () => gateway.resync(),
);
await events.ready;
const auth = createAuth({
  db,
  secret: 'bench-process-secret-bench-process-secret',
  baseUrl: 'http://localhost',
  trustedOrigins: [],
});
const server = createAppServer({
  db,
  auth,
  logger,
  allowedOrigins: new Set(),
  secure: false,
  production: true,
  handleUpgrade: (req, socket, head) => gateway.handleUpgrade(req, socket, head),
});
answerMeasurements(() => ({ ...gateway.stats() }));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${address && typeof address === 'object' ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  void (async () => {
    await events.close();
    await gateway.close();
    server.closeAllConnections();
    server.close();
    await db.$disconnect();
    process.exit(0);
  })();
});
