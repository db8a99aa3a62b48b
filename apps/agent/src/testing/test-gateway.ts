// A small real gateway for tests: a ws server speaking /agent/v1 that issues challenges, verifies
// Ed25519 signatures with node:crypto, enrolls devices (accepting or leaving them pending), and
// records every frame an agent sends.
import { type AddressInfo } from 'node:net';
import {
  AGENT_PROTOCOL_PATH,
  type AgentFrame,
  CLOSE_CODES,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  type ServerFrame,
} from '@eos-fleet/shared/protocol/index';
import {
  createChallengeNonce,
  ed25519PublicKeyFromBase64,
  verifyChallengeSignature,
} from '@eos-fleet/shared/protocol/ed25519';
import { WebSocket, WebSocketServer } from 'ws';

export interface ReceivedFrame {
  deviceId: string | null;
  frame: AgentFrame;
}

export class TestGateway {
  readonly frames: ReceivedFrame[] = [];
  readonly invalid: string[] = [];
  /** deviceId -> raw public key base64, as stored at enrollment. */
  readonly devices = new Map<
    string,
    { publicKey: string; status: 'pending' | 'accepted' | 'rejected' }
  >();
  autoAccept = true;
  /** Drops the connection on the next result frame, before recording it. */
  loseNextResult = false;
  /**
   * How the next result frames are answered, one entry each: `stored` (result_stored, what the
   * real gateway does once the row is written), `internal` (error, as when PostgreSQL is down) or
   * `unknown` (error invalid_params: the server has no such command), or `none` (no answer).
   * Once empty, every result is answered `stored`.
   */
  readonly resultAnswers: ('stored' | 'internal' | 'unknown' | 'none')[] = [];
  /** Commands sent in the same tick as `welcome`, as a gateway delivering queued commands does. */
  readonly onWelcome: { id: string; kind: string; params?: unknown }[] = [];
  private readonly sockets = new Map<string, WebSocket>();
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<TestGateway> {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      path: AGENT_PROTOCOL_PATH,
      maxPayload: MAX_FRAME_BYTES,
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const { port } = wss.address() as AddressInfo;
    const gateway = new TestGateway(wss, `ws://127.0.0.1:${port}${AGENT_PROTOCOL_PATH}`);
    wss.on('connection', (socket) => gateway.onConnection(socket));
    return gateway;
  }

  private onConnection(socket: WebSocket): void {
    const nonce = createChallengeNonce();
    let deviceId: string | null = null;
    this.send(socket, {
      type: 'challenge',
      protocolVersion: 'v1',
      nonce,
      serverTime: new Date().toISOString(),
    });
    socket.on('message', (data: Buffer) => {
      const parsed = parseAgentFrame(data);
      if (!parsed.ok) {
        this.invalid.push(parsed.error.message);
        return;
      }
      const frame = parsed.value;
      if (frame.type === 'result' && this.loseNextResult) {
        // A result lost with its connection: neither recorded nor answered.
        this.loseNextResult = false;
        socket.terminate();
        return;
      }
      this.frames.push({ deviceId, frame });
      this.notify();
      if (frame.type === 'result') {
        const answer = this.resultAnswers.shift() ?? 'stored';
        if (answer === 'stored')
          this.send(socket, { type: 'result_stored', commandId: frame.commandId });
        if (answer === 'internal') {
          this.send(socket, {
            type: 'error',
            code: 'internal',
            message: 'could not store the result',
            commandId: frame.commandId,
          });
        }
        if (answer === 'unknown') {
          this.send(socket, {
            type: 'error',
            code: 'invalid_params',
            message: `no command ${frame.commandId} for this device`,
            commandId: frame.commandId,
          });
        }
      }
      if (frame.type === 'enroll' || frame.type === 'auth') {
        if (deviceId !== null) return socket.close(CLOSE_CODES.authFailed, 'already authenticated');
        const known = this.devices.get(frame.deviceId);
        const publicKeyText = frame.type === 'enroll' ? frame.publicKey : known?.publicKey;
        const publicKey = publicKeyText ? ed25519PublicKeyFromBase64(publicKeyText) : null;
        const valid =
          publicKey !== null &&
          (frame.type === 'auth' || known === undefined || known.publicKey === frame.publicKey) &&
          verifyChallengeSignature({
            publicKey,
            purpose: frame.type,
            deviceId: frame.deviceId,
            nonce,
            signature: frame.signature,
          });
        if (!valid || !publicKeyText)
          return socket.close(CLOSE_CODES.authFailed, 'authentication failed');
        const device = known ?? {
          publicKey: publicKeyText,
          status: this.autoAccept ? 'accepted' : 'pending',
        };
        this.devices.set(frame.deviceId, device);
        if (device.status === 'rejected') {
          this.send(socket, { type: 'rejected', reason: 'rejected' });
          return socket.close(CLOSE_CODES.rejected, 'rejected');
        }
        deviceId = frame.deviceId;
        this.sockets.get(deviceId)?.close(CLOSE_CODES.replaced, 'replaced');
        this.sockets.set(deviceId, socket);
        if (device.status === 'pending') this.send(socket, { type: 'pending', deviceId });
        else this.welcome(deviceId);
      }
    });
    socket.on('close', () => {
      if (deviceId && this.sockets.get(deviceId) === socket) this.sockets.delete(deviceId);
    });
  }

  private welcome(deviceId: string): void {
    const socket = this.sockets.get(deviceId);
    if (!socket) return;
    this.send(socket, {
      type: 'welcome',
      deviceId,
      status: 'accepted',
      serverTime: new Date().toISOString(),
    });
    for (const command of this.onWelcome)
      this.send(socket, {
        type: 'command',
        id: command.id,
        kind: command.kind,
        params: command.params ?? {},
      });
  }

  accept(deviceId: string): void {
    const device = this.devices.get(deviceId);
    if (device) device.status = 'accepted';
    this.welcome(deviceId);
  }

  send(socket: WebSocket, frame: ServerFrame): void {
    socket.send(JSON.stringify(frame));
  }

  sendTo(deviceId: string, frame: ServerFrame | string): void {
    const socket = this.sockets.get(deviceId);
    if (!socket) throw new Error(`device ${deviceId} is not connected`);
    socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  command(deviceId: string, id: string, kind: string, params: unknown = {}): void {
    this.sendTo(deviceId, { type: 'command', id, kind, params });
  }

  cancel(deviceId: string, commandId: string): void {
    this.sendTo(deviceId, { type: 'cancel', commandId });
  }

  /** Result frames received for one command id, in order. */
  resultsOf(commandId: string) {
    return this.framesOf('result').filter((r) => r.commandId === commandId);
  }

  connected(deviceId: string): boolean {
    return this.sockets.get(deviceId)?.readyState === WebSocket.OPEN;
  }

  framesOf<T extends AgentFrame['type']>(type: T): Extract<AgentFrame, { type: T }>[] {
    return this.frames
      .map((r) => r.frame)
      .filter((f): f is Extract<AgentFrame, { type: T }> => f.type === type);
  }

  /** Resolves once `predicate` holds over the frames received so far (checked on every frame). */
  async waitFor<T>(
    predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
    timeoutMs = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await predicate();
      if (value) return value;
      if (Date.now() > deadline) throw new Error('timed out waiting for the agent');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
