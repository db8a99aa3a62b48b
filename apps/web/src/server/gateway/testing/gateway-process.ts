// A second web process for the scale-out test: the real app server with its gateway, on the
// database given as argv[2], printing its port. (The test spawns it; it stops on SIGTERM.)
import { createPrismaClient } from '@eos-fleet/db';
import pino from 'pino';
import { createAuth } from '../../auth/create-auth';
import { createAppServer } from '../../http/app-server';
import { listenForFleetEvents } from '../event-listener';
import { createGateway } from '../gateway';

const url = process.argv[2];
if (!url) throw new Error('usage: gateway-process.ts DATABASE_URL');
const db = createPrismaClient(url, { poolSize: 4 });
const logger = pino({ level: 'warn' });
const gateway = createGateway({ db, logger, gatewayId: `second-${process.pid}`, flushMs: 100 });
const events = listenForFleetEvents(
  url,
  logger,
  (event) => gateway.onFleetEvent(event),
  () => gateway.resync(),
);
await events.ready;
const auth = createAuth({
  db,
  secret: 'second-process-secret-second-process',
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
