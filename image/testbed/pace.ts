// `testbed-pace DIR BYTES_PER_SECOND`: copies stdin to stdout no faster than the device's
// `dd.bytesPerSecond`, in front of the real dd (hardware.ts), so tests can watch a slow download.
import { type Writable } from 'node:stream';

export async function paceMain(
  _dir: string,
  argv: string[],
  io: { stdout: Writable; stderr: Writable },
): Promise<number> {
  const bytesPerSecond = Number(argv[0]);
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
    io.stderr.write(`testbed-pace: not a rate in bytes per second: ${argv[0] ?? '(none)'}\n`);
    return 2;
  }
  // dd stopping (end of the partition) closes the pipe: that ends the copy, not an error.
  let closed = false;
  io.stdout.on('error', () => (closed = true));
  const started = Date.now();
  let copied = 0;
  for await (const chunk of process.stdin) {
    if (closed) break;
    const data = chunk as Buffer;
    if (!io.stdout.write(data)) await drainedOrClosed(io.stdout);
    copied += data.length;
    const waitMs = (copied / bytesPerSecond) * 1000 - (Date.now() - started);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  return 0;
}

function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
  });
}
