// A web process without Next for tests and benches run as child processes: the real serving side
// (gateway, fleet events, API) on an existing database. It prints `LISTENING <port>` once up and
// stops cleanly on SIGTERM.
import { createPrismaClient } from '@eos-fleet/db';
import pino from 'pino';
import { createAuth } from '../../auth/create-auth';
import { startFleetServer, type FleetServerOptions } from '../../http/fleet-server';

export async function runHeadlessProcess(
  databaseUrl: string,
  gateway: FleetServerOptions['gateway'],
  { poolSize = 4 } = {},
) {
  const db = createPrismaClient(databaseUrl, { poolSize });
  const auth = createAuth({
    db,
    secret: `headless-${gateway.gatewayId}-secret-for-tests`,
    baseUrl: 'http://localhost',
    trustedOrigins: [],
  });
  const fleet = await startFleetServer({
    db,
    auth,
    logger: pino({ level: 'warn' }),
    databaseUrl,
    gateway,
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
  return fleet;
}
