// `dd of=PARTITION status=progress` onto a partition stand-in: a regular file that must never grow,
// because a block device cannot. Writing past its end fails with ENOSPC as the real dd does, after
// the part that fits was written (the slot is left half-written).
import { open } from 'node:fs/promises';
import { type Readable, type Writable } from 'node:stream';
import { summaryLines, transferLine } from './dd-format';

const RECORD_SIZE = 512;

export interface DdWriteOptions {
  /** Partition stand-in; its current size is the partition size. */
  target: string;
  input: Readable;
  stderr: Writable;
  /** GNU dd prints progress once per second. */
  progressIntervalMs?: number;
  /** Throttle, so tests can watch a slow download; unlimited by default. */
  bytesPerSecond?: number;
}

export interface DdWriteResult {
  exitCode: 0 | 1;
  bytesWritten: number;
}

export async function ddWrite(options: DdWriteOptions): Promise<DdWriteResult> {
  const { target, input, stderr } = options;
  const intervalMs = options.progressIntervalMs ?? 1000;
  const handle = await open(target, 'r+');
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  let capacity: number;
  let written = 0;
  let bytesIn = 0;
  let progressLength = 0;
  let lastProgressAt = Date.now();
  const printProgress = (): void => {
    const line = transferLine(written, elapsed(), true);
    const padding = progressLength > line.length ? ' '.repeat(progressLength - line.length) : '';
    stderr.write(`\r${line}${padding}`);
    progressLength = line.length;
  };
  const endProgressLine = (): void => {
    if (progressLength > 0) stderr.write('\n');
    progressLength = 0;
  };
  const records = () => {
    const fullOut = Math.floor(written / RECORD_SIZE);
    const partialOut = written % RECORD_SIZE === 0 ? 0 : 1;
    const fullIn = Math.floor(bytesIn / RECORD_SIZE);
    const partialIn = bytesIn % RECORD_SIZE === 0 ? 0 : 1;
    return { fullIn, partialIn, fullOut, partialOut };
  };
  try {
    capacity = (await handle.stat()).size;
    for await (const chunk of input) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      const room = capacity - written;
      const fitting = data.subarray(0, Math.max(0, room));
      if (fitting.length > 0) {
        await handle.write(fitting, 0, fitting.length, written);
        written += fitting.length;
      }
      if (fitting.length < data.length) {
        // dd read one more record than it could write before the device said ENOSPC.
        bytesIn = written + Math.min(RECORD_SIZE, data.length - fitting.length);
        input.destroy();
        endProgressLine();
        stderr.write(`dd: writing to '${target}': No space left on device\n`);
        const counts = records();
        stderr.write(
          summaryLines({ ...counts, fullIn: counts.fullOut + 1, partialIn: 0 }, written, elapsed()),
        );
        return { exitCode: 1, bytesWritten: written };
      }
      bytesIn = written;
      if (options.bytesPerSecond !== undefined && options.bytesPerSecond > 0) {
        const dueSeconds = written / options.bytesPerSecond;
        const waitMs = (dueSeconds - elapsed()) * 1000;
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      if (Date.now() - lastProgressAt >= intervalMs) {
        lastProgressAt = Date.now();
        printProgress();
      }
    }
    endProgressLine();
    stderr.write(summaryLines(records(), written, elapsed()));
    return { exitCode: 0, bytesWritten: written };
  } finally {
    await handle.close();
  }
}
