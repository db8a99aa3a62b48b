// Every minute, on the minute (UTC): count the online devices into online_sample, and drop samples
// past the retention. Safe in every web process at once: the minute is the row's key, so the second
// process's insert does nothing (services/overview/online-samples.ts).
import type { Db } from '@eos-fleet/db';
import { Cron } from 'croner';
import type { Logger } from '../logger';
import { pruneOnlineSamples, sampleOnlineDevices } from '../services/overview/online-samples';

export interface OnlineSamplerOptions {
  db: Db;
  logger: Logger;
}

export function startOnlineSampler({ db, logger }: OnlineSamplerOptions) {
  const log = logger.child({ component: 'online-sampler' });
  let running: Promise<void> = Promise.resolve();

  async function round() {
    await sampleOnlineDevices({ db });
    await pruneOnlineSamples({ db });
  }

  // protect: a slow round (a busy database) is not overlapped by the next one
  const job = new Cron('* * * * *', { timezone: 'UTC', protect: true, unref: true }, () => {
    running = round().catch((error: unknown) => {
      log.warn({ err: error }, 'online sample failed');
    });
    return running;
  });
  // the first sample now, rather than up to a minute after start
  running = round().catch((error: unknown) => log.warn({ err: error }, 'online sample failed'));

  return {
    async stop() {
      job.stop();
      await running;
    },
  };
}
