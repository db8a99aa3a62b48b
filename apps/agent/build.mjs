// Bundles the agent into one ESM file that runs on plain Node 20+ without node_modules.
// Written to a temp file and renamed, so a reader (a test, a running device) never sees half a file.
import { build } from 'esbuild';
import { mkdir, rename, writeFile } from 'node:fs/promises';

const outfile = new URL('./dist/eos-fleet-agent.mjs', import.meta.url).pathname;

const result = await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile,
  write: false,
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
const [output] = result.outputFiles;
await mkdir(new URL('./dist/', import.meta.url), { recursive: true });
const temp = `${outfile}.${process.pid}.tmp`;
await writeFile(temp, output.contents, { mode: 0o755 });
await rename(temp, outfile);
