// A second web process for the scale-out test, on the database given as argv[2].
import { runHeadlessProcess } from './headless-process';

const url = process.argv[2];
if (!url) throw new Error('usage: gateway-process.ts DATABASE_URL');
await runHeadlessProcess(url, { gatewayId: `second-${process.pid}`, flushMs: 100 });
