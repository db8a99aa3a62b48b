// `npm start` (production) and `npm run dev`: one EOS Fleet web process.
import { StartupError } from '@eos-fleet/db';
import { EnvError } from './src/env';
import { StartError, start } from './src/server/start';

const dev = process.argv.includes('--dev');

// the signal handlers come first: a SIGTERM that arrives while start() is still on its way (it
// logs "listening" just before it returns) is kept and honoured, cleanly, once it has returned
let stopping: string | null = null;
let running: Awaited<ReturnType<typeof start>> | undefined;
function shutDown({ shutdown, logger }: NonNullable<typeof running>, signal: string) {
  logger.info({ signal }, 'shutting down');
  shutdown().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
function stop(signal: string) {
  if (stopping) {
    running?.logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = signal;
  if (running) shutDown(running, signal);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

try {
  running = await start({ dev });
  if (stopping) shutDown(running, stopping);
} catch (error) {
  if (error instanceof EnvError || error instanceof StartupError || error instanceof StartError) {
    console.error(`EOS Fleet did not start: ${error.message}`);
  } else {
    console.error('EOS Fleet did not start:', error);
  }
  process.exit(1);
}
