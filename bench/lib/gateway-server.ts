// The bench's server process: the real web app server (HTTP + tRPC + auth) with the device
// gateway on one port, without Next.js (apps/web/src/server/http/fleet-server.ts). argv: DATABASE_URL HEARTBEAT_MS FLUSH_MS. Prints `LISTENING <port>`; answers
// `measure` messages with its memory, CPU time and the gateway's stats() (./ipc-measure.ts).
import { runHeadlessProcess } from '../../apps/web/src/server/gateway/testing/headless-process';
import { answerMeasurements } from './ipc-measure';

const [url, heartbeatArg, flushArg] = process.argv.slice(2);
if (!url || !heartbeatArg || !flushArg)
  throw new Error('usage: gateway-server.ts DATABASE_URL HEARTBEAT_MS FLUSH_MS');
const fleet = await runHeadlessProcess(
  url,
  {
    gatewayId: `bench-${process.pid}`,
    heartbeatMs: Number(heartbeatArg),
    flushMs: Number(flushArg),
  },
  // the pool of a production web process (apps/web/src/server/start.ts)
  { poolSize: 20 },
);
answerMeasurements(() => ({ ...fleet.gateway.stats() }));
