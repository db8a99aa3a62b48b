// The stand-ins run as one esbuild bundle copied into each device (DIR/usr/lib/eos-testbed/):
// a node start of a bundle takes a quarter of what tsx needs per call, and a device stays runnable
// on its own whatever happens to the checkout's sources afterwards.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DEVICE_COMMAND = fileURLToPath(new URL('./device-command.ts', import.meta.url));
let bundle: Promise<Uint8Array> | undefined;

/** The bundled device-command (ESM), built once per process. */
export function deviceCommandBundle(): Promise<Uint8Array> {
  bundle ??= build({
    entryPoints: [DEVICE_COMMAND],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'warning',
    // Bundled CommonJS dependencies may call require().
    banner: {
      js: "import { createRequire as __testbedRequire } from 'node:module';\nconst require = __testbedRequire(import.meta.url);",
    },
  }).then((result) => {
    const [output] = result.outputFiles;
    if (!output) throw new Error('esbuild produced no bundle');
    return output.contents;
  });
  return bundle;
}
