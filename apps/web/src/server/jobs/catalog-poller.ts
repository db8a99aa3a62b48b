// The catalog poll timer of one web process: every interval, each registered update server whose
// catalog nobody polled within the interval is polled (poll-update-server.ts holds the per-server
// lock, so several processes share the work instead of repeating it). One small module so the
// rollout issue can move it into pg-boss as one job.
import { catalogPolls } from '../metrics';
import type { Db } from '@eos-fleet/db';
import type { Logger } from '../logger';
import { listUpdateServersToPoll, pollUpdateServer } from '../services/catalog/poll-update-server';

export interface CatalogPollerOptions {
  db: Db;
  logger: Logger;
  appSecret: string;
  intervalMs: number;
}

export function startCatalogPoller({ db, logger, appSecret, intervalMs }: CatalogPollerOptions) {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const log = logger.child({ component: 'catalog-poller' });

  async function round() {
    const servers = await listUpdateServersToPoll(db);
    for (const server of servers) {
      if (stopped) return;
      try {
        // a little under the interval: timer drift must not skip a whole round
        const outcome = await pollUpdateServer(db, server.id, {
          appSecret,
          minAgeMs: intervalMs * 0.8,
        });
        catalogPolls.inc({
          server: server.name,
          outcome:
            outcome.outcome === 'skipped' ? 'skipped' : outcome.reachable ? 'ok' : 'unreachable',
        });
        if (outcome.outcome === 'polled' && !outcome.reachable)
          log.warn({ updateServer: server.name, error: outcome.error }, 'catalog poll failed');
      } catch (error) {
        catalogPolls.inc({ server: server.name, outcome: 'failed' });
        log.warn({ updateServer: server.name, err: error }, 'catalog poll could not run');
      }
    }
  }

  const tick = () => {
    running = running.then(round).catch((error: unknown) => {
      log.warn({ err: error }, 'catalog poll round failed');
    });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
