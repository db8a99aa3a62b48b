// Wires the update server together: store, fetcher, HTTP and SSH channels, the fetch timer, and a
// clean stop (stop accepting, give streams in progress a grace period, then close everything).
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { buildCatalog } from './catalog';
import {
  parseUpdateServerConfig,
  type UpdateServerConfig,
  type UpdateServerConfigInput,
} from './config';
import { createHttpServer } from './http-server';
import { type FetchResult, ImageFetcher } from './image-fetcher';
import { ImageStore } from './image-store';
import { createSshServer, loadOrCreateHostKey } from './ssh-server';
import { StreamRegistry } from './stream-registry';

export interface RunningUpdateServer {
  httpPort: number;
  sshPort: number;
  /** The SSH host public key (OpenSSH format), for known_hosts. */
  hostPublicKey: string;
  config: UpdateServerConfig;
  /** Fetches every image in os-update.yml now and resolves with each outcome. */
  fetchNow(): Promise<FetchResult[]>;
  stop(): Promise<void>;
}

export async function startUpdateServer(
  input: UpdateServerConfig | UpdateServerConfigInput,
  options: { logger?: Logger } = {},
): Promise<RunningUpdateServer> {
  const config = parseUpdateServerConfig(input);
  const log =
    options.logger ?? pino({ level: config.logLevel, base: { service: 'update-server' } });
  const startedAt = new Date().toISOString();

  const store = new ImageStore(config.publishDir, config.keepVersions);
  await store.load();
  const streams = new StreamRegistry(store, config.streamStallSeconds * 1000);
  const fetcher = new ImageFetcher(
    store,
    {
      osUpdateYml: config.osUpdateYml,
      xzPath: config.xzPath,
      fetchTimeoutMs: config.fetchTimeoutSeconds * 1000,
    },
    log.child({ component: 'fetch' }),
  );
  const hostKey = await loadOrCreateHostKey(config.ssh.hostKeyFile, log);
  const hostPublicKey = (
    await readFile(`${config.ssh.hostKeyFile}.pub`, 'utf8').catch(() => '')
  ).trim();

  const http = createHttpServer({
    store,
    streams,
    catalog: () => buildCatalog(store, streams, fetcher, startedAt),
    catalogToken: config.catalogToken,
    log: log.child({ component: 'http' }),
  });
  const ssh = createSshServer({
    store,
    streams,
    publishDir: config.publishDir,
    authorizedKeysFile: config.ssh.authorizedKeysFile,
    hostKey,
    ciphers: config.ssh.ciphers,
    keepaliveIntervalMs: config.ssh.keepaliveIntervalSeconds * 1000,
    keepaliveCountMax: config.ssh.keepaliveCountMax,
    stallMs: config.streamStallSeconds * 1000,
    log: log.child({ component: 'ssh' }),
  });
  http.listen(config.http.port, config.http.host);
  await once(http, 'listening');
  ssh.listen(config.ssh.port, config.ssh.host);
  await once(ssh, 'listening');
  const httpPort = (http.address() as AddressInfo).port;
  const sshPort = (ssh.address() as AddressInfo).port;
  log.info(
    { httpPort, sshPort, publishDir: config.publishDir, osUpdateYml: config.osUpdateYml },
    'update server listening',
  );

  let fetchAll: Promise<FetchResult[]> | undefined;
  const fetchNow = (): Promise<FetchResult[]> => {
    // Runs never overlap: a request during a run starts a new run after it, so it sees upstream
    // as it is after the request (an unchanged image costs a download and a hash, no publish).
    const run = (fetchAll ?? Promise.resolve([])).catch(() => []).then(() => fetcher.fetchAll());
    fetchAll = run;
    return run;
  };
  const scheduled = (): void => {
    fetchNow().catch((err: unknown) =>
      log.error({ err: (err as Error).message }, 'fetch run failed'),
    );
  };
  const timer = setInterval(scheduled, config.fetchIntervalSeconds * 1000);
  timer.unref();
  if (config.fetchOnStart) scheduled();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ activeStreams: streams.size }, 'stopping');
      clearInterval(timer);
      fetcher.abort();
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      const sshClosed = new Promise<void>((resolve) => ssh.close(() => resolve()));
      http.closeIdleConnections();
      const cut = await streams.waitIdle(config.shutdownGraceMs);
      if (cut)
        log.warn(
          { activeStreams: streams.size },
          'cutting streams still running after the grace period',
        );
      http.closeAllConnections();
      for (const c of ssh.connections) c.end();
      await Promise.all([httpClosed, sshClosed, fetchAll?.catch(() => undefined)]);
      log.info('stopped');
    })();
    return stopping;
  };

  return { httpPort, sshPort, hostPublicKey, config, fetchNow, stop };
}
