// The baseline of the connection bench: a bare `ws` WebSocketServer (same options as the
// gateway's: no compression, same frame limit) that holds connections and does nothing else.
// Prints `LISTENING <port>`; answers `measure` messages (./ipc-measure.ts).
import { MAX_FRAME_BYTES } from '@eos-fleet/shared/protocol/index';
import { WebSocketServer } from 'ws';
import { answerMeasurements } from './ipc-measure';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: false,
});
answerMeasurements(() => ({ connections: wss.clients.size }));
wss.on('connection', (ws) => ws.on('error', () => undefined));
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`LISTENING ${address && typeof address === 'object' ? address.port : 0}\n`);
});
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
