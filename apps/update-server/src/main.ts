// Entrypoint: `npm start -w @eos-fleet/update-server -- --config FILE [--http-port N ...]`.
import { ConfigError, mergeConfigLayers, parseUpdateServerConfig, readConfigFile } from './config';
import { readCommandLine } from './env';
import { startUpdateServer } from './update-server';

async function main(): Promise<void> {
  const cli = readCommandLine();
  const file = cli.configFile ? await readConfigFile(cli.configFile) : {};
  const config = parseUpdateServerConfig(mergeConfigLayers(file, cli.env, cli.flags));
  const server = await startUpdateServer(config);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `update-server: ${err instanceof ConfigError ? err.message : String((err as Error).stack ?? err)}\n`,
  );
  process.exit(2);
});
