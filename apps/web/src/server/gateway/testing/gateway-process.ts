// A second web process for the scale-out tests, on the database given as argv[2]; argv[3], if
// given, is its heartbeat interval in ms.
import { runHeadlessProcess } from './headless-process';

const url = process.argv[2];
if (!url) throw new Error('usage: gateway-process.ts DATABASE_URL [HEARTBEAT_MS]');
const heartbeatMs = process.argv[3] ? Number(process.argv[3]) : undefined;
await runHeadlessProcess(url, {
  gatewayId: `second-${process.pid}`,
  flushMs: 100,
  ...(heartbeatMs ? { heartbeatMs } : {}),
});
