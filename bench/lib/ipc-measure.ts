// The measuring side of a bench child process: on a `measure` message over the IPC channel it
// collects garbage (node --expose-gc) and answers with process.memoryUsage(), its CPU time and
// whatever `extra` returns. The child exits when its parent goes away (the channel closes).
export interface MeasureRequest {
  type: 'measure';
  id: number;
}

export interface Measurement {
  type: 'measurement';
  id: number;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  extra: Record<string, unknown>;
}

function isMeasureRequest(message: unknown): message is MeasureRequest {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'measure' &&
    typeof (message as { id?: unknown }).id === 'number'
  );
}

/** Full collections until the heap stops shrinking (at most 5): a settled heap to compare. */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run node with --expose-gc');
  let previous = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (previous - used < 64 * 1024) break;
    previous = used;
  }
  return process.memoryUsage();
}

export function answerMeasurements(extra: () => Record<string, unknown> = () => ({})) {
  if (!process.send) throw new Error('start this process with an IPC channel');
  process.on('message', (message: unknown) => {
    if (!isMeasureRequest(message)) return;
    void settledMemory().then((memory) => {
      const answer: Measurement = {
        type: 'measurement',
        id: message.id,
        memory,
        cpu: process.cpuUsage(),
        extra: extra(),
      };
      process.send?.(answer);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
