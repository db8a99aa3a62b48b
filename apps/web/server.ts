// `npm start` (production) and `npm run dev`: one EOS Fleet web process.
import { StartupError } from '@eos-fleet/db';
import { EnvError } from './src/env';
import { StartError, start } from './src/server/start';

const dev = process.argv.includes('--dev');

try {
  const { shutdown, logger } = await start({ dev });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (error instanceof EnvError || error instanceof StartupError || error instanceof StartError) {
    console.error(`EOS Fleet did not start: ${error.message}`);
  } else {
    console.error('EOS Fleet did not start:', error);
  }
  process.exit(1);
}
