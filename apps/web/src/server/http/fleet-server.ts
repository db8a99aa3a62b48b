// One web process's serving side, wired once: the device gateway, its LISTEN connection for fleet
// events, and the HTTP server that carries the API, the pages and the gateway's upgrades. Used
// by the real start-up, the tests, the scale-out test's second process and the bench.
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Db } from '@eos-fleet/db';
import type { Auth } from '../auth/create-auth';
import { listenForFleetEvents } from '../gateway/event-listener';
import { createGateway, type GatewayOptions } from '../gateway/gateway';
import type { Logger } from '../logger';
import { trackDatabase, trackGateway } from '../metrics';
import { createChangeHub } from '../services/events/change-hub';
import { startChangePublisher } from '../services/events/change-notices';
import { createAppServer, type AppServerOptions } from './app-server';

export interface FleetServerOptions extends Pick<
  AppServerOptions,
  | 'allowedOrigins'
  | 'secure'
  | 'production'
  | 'handlePage'
  | 'trustedProxies'
  | 'signInLimits'
  | 'apiTokenLimits'
> {
  db: Db;
  auth: Auth;
  logger: Logger;
  /** the database the LISTEN connection opens */
  databaseUrl: string;
  gateway: Omit<GatewayOptions, 'db' | 'logger'>;
  host: string;
  port: number;
  /** upgrades that are not the gateway's (Next's dev server has one) */
  otherUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export async function startFleetServer(options: FleetServerOptions) {
  const { db, logger } = options;
  const gateway = createGateway({
    db,
    logger: logger.child({ component: 'gateway' }),
    ...options.gateway,
  });
  const untrack = [trackGateway(() => gateway.stats()), trackDatabase(db)];
  // live updates: this process's changes go out as NOTIFYs; everyone's come back to its browsers
  const changes = createChangeHub();
  const publisher = startChangePublisher(db, logger);
  const events = listenForFleetEvents(
    options.databaseUrl,
    logger,
    (event) => gateway.onFleetEvent(event),
    () => {
      gateway.resync();
      changes.publish(['*']); // notices sent while we were not listening are lost
    },
    (topics) => changes.publish(topics),
  );
  const server = createAppServer({
    db,
    auth: options.auth,
    logger,
    allowedOrigins: options.allowedOrigins,
    secure: options.secure,
    trustedProxies: options.trustedProxies,
    signInLimits: options.signInLimits,
    apiTokenLimits: options.apiTokenLimits,
    production: options.production,
    handlePage: options.handlePage,
    changes,
    handleUpgrade: (req, socket, head) => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname === gateway.path) gateway.handleUpgrade(req, socket, head);
      else if (options.otherUpgrade) options.otherUpgrade(req, socket, head);
      else socket.destroy();
    },
  });

  const close = async () => {
    for (const stop of untrack) stop();
    changes.close();
    await events.close();
    await gateway.close();
    await publisher.stop();
    await new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    await events.ready;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    server,
    gateway,
    changes,
    publisher,
    port: (server.address() as AddressInfo).port,
    close,
  };
}

export type FleetServer = Awaited<ReturnType<typeof startFleetServer>>;
