// Bundles the agent into one ESM file that runs on plain Node 20+ without node_modules.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const outfile = new URL('./dist/eos-fleet-agent.mjs', import.meta.url).pathname;

await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // ws loads these optional native helpers in a try/catch; the agent does without them.
  external: ['bufferutil', 'utf-8-validate'],
  // ws is CommonJS and calls require() for Node built-ins; give the ESM bundle a real require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __eosCreateRequire } from 'node:module';\nconst require = __eosCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
