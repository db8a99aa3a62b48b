// The agent's side of /agent/v1: connect, answer the challenge (enroll or auth), then carry
// frames until the socket closes, and reconnect with capped, jittered exponential backoff.
// A malformed server frame is answered with an error frame and otherwise ignored.
import { Backoff, initialJitter } from '@eos-fleet/shared/backoff';
import {
  type AgentFrame,
  agentFrameSchema,
  CLOSE_CODES,
  type CommandFrame,
  type ErrorFrame,
  escapeUnstorableText,
  HANDSHAKE_TIMEOUT_MS,
  INVALID_FRAME_BUDGET,
  type Inventory,
  MAX_FRAME_BYTES,
  parseServerFrame,
  PROTOCOL_VERSION,
  type ServerFrame,
} from '@eos-fleet/shared/protocol/index';
import WebSocket from 'ws';
import { type Clock } from './clock';
import { type Identity } from './identity';
import { type Logger } from './logger';

export type ConnectionState =
  'idle' | 'connecting' | 'handshaking' | 'pending' | 'ready' | 'stopped';

export interface ConnectionOptions {
  url: string;
  enrollmentToken: string | undefined;
  /** PEM of the CA that signed the gateway's certificate, read once at start. */
  ca?: Buffer | undefined;
  identity: Identity;
  agentVersion: string;
  clock: Clock;
  log: Logger;
  reconnect: { initialDelayMs: number; maxDelayMs: number; firstConnectJitterMs: number };
  random?: () => number;
  /** Device facts for the enroll frame. */
  facts(): Promise<Inventory>;
  onReady(): void;
  /** The server answered the handshake with pending. */
  onPending?(): void;
  onCommand(frame: CommandFrame): void;
  /** `cancel {commandId}`: drop the command if it has not started. */
  onCancel?(commandId: string): void;
  /** `result_stored {commandId}`: the server has the result; stop re-sending it. */
  onResultStored?(commandId: string): void;
  /** An `error` frame from the server (about a frame we sent; maybe naming a command). */
  onServerError?(frame: ErrorFrame): void;
}

/** Close codes after which hammering the server is pointless: wait the longest delay. */
const REFUSED = new Set<number>([
  CLOSE_CODES.rejected,
  CLOSE_CODES.enrollmentRefused,
  CLOSE_CODES.unsupportedVersion,
]);
/** Watchdog after the handshake while the server has not told its heartbeat interval. */
const SILENT_SERVER_MS = 120_000;

export class AgentConnection {
  private socket: WebSocket | null = null;
  private state: ConnectionState = 'idle';
  private readonly backoff: Backoff;
  private cancelTimer: (() => void) | null = null;
  private cancelLiveness: (() => void) | null = null;
  private invalidFrames = 0;
  /** Set when auth failed although we hold a token: the server may have lost us, enroll again. */
  private enrollNext = false;
  private heartbeatMs = 0;
  lastCloseCode: number | null = null;

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = new Backoff({
      initialMs: options.reconnect.initialDelayMs,
      maxMs: options.reconnect.maxDelayMs,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  get status(): ConnectionState {
    return this.state;
  }

  /** Connects after a random part of the first-connect window, so a rebooted fleet spreads out. */
  start(): void {
    const delay = initialJitter(this.options.reconnect.firstConnectJitterMs, this.options.random);
    this.schedule(delay);
  }

  stop(): void {
    this.state = 'stopped';
    this.cancelTimer?.();
    this.cancelLiveness?.();
    this.socket?.close(1000, 'agent stopping');
    this.socket = null;
  }

  /** Sends a frame when the device is accepted; false otherwise (the caller keeps it journaled). */
  send(frame: AgentFrame): boolean {
    if (this.state !== 'ready' || !this.socket || this.socket.readyState !== WebSocket.OPEN)
      return false;
    return this.write(frame);
  }

  private write(frame: AgentFrame): boolean {
    const checked = agentFrameSchema.safeParse(frame);
    if (!checked.success) {
      this.options.log.error(
        `refusing to send an invalid ${frame.type} frame: ${checked.error.message}`,
      );
      return false;
    }
    const text = JSON.stringify(checked.data);
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      this.options.log.error(
        `refusing to send a ${frame.type} frame larger than ${MAX_FRAME_BYTES} bytes`,
      );
      return false;
    }
    this.socket?.send(text);
    return true;
  }

  private schedule(delayMs: number): void {
    if (this.state === 'stopped') return;
    this.state = 'idle';
    this.cancelTimer?.();
    this.cancelTimer = this.options.clock.setTimer(() => this.connect(), delayMs);
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    this.invalidFrames = 0;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url, {
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
    } catch (error) {
      this.options.log.error(`cannot connect to ${this.options.url}: ${(error as Error).message}`);
      this.schedule(this.backoff.next());
      return;
    }
    this.socket = socket;
    this.armLiveness(HANDSHAKE_TIMEOUT_MS * 2);
    socket.on('open', () => {
      this.state = 'handshaking';
    });
    // Frames are handled strictly in order: a command right behind `welcome` must not overtake
    // the (asynchronous) handling of the welcome itself.
    let inbox: Promise<void> = Promise.resolve();
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      inbox = inbox
        .then(() => (this.socket === socket ? this.onMessage(data, isBinary) : undefined))
        .catch((error: unknown) =>
          this.options.log.error(`frame handling: ${(error as Error).message}`),
        );
    });
    // Pings re-arm the watchdog once the handshake is done; before that its deadline stands.
    socket.on('ping', () => {
      if (this.state === 'pending' || this.state === 'ready') this.armLiveness(this.watchdogMs());
    });
    socket.on('error', (error) => {
      this.options.log.warn(`connection to ${this.options.url}: ${error.message}`);
    });
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.onClose(code, reason.toString());
    });
  }

  /** A server that stops pinging (half-open TCP) is noticed after two heartbeats. */
  private watchdogMs(): number {
    return this.heartbeatMs > 0 ? this.heartbeatMs * 2 + 5000 : SILENT_SERVER_MS;
  }

  private armLiveness(ms: number): void {
    this.cancelLiveness?.();
    const socket = this.socket;
    this.cancelLiveness = this.options.clock.setTimer(() => {
      if (socket && this.socket === socket) {
        this.options.log.warn('no ping from the server: dropping the connection');
        socket.terminate();
      }
    }, ms);
  }

  private onClose(code: number, reason: string): void {
    this.cancelLiveness?.();
    this.socket = null;
    this.lastCloseCode = code;
    if (this.state === 'stopped') return;
    const wasHandshaking = this.state === 'handshaking' || this.state === 'connecting';
    if (code === CLOSE_CODES.authFailed && wasHandshaking && this.options.enrollmentToken)
      this.enrollNext = true;
    const delay = REFUSED.has(code) ? this.options.reconnect.maxDelayMs : this.backoff.next();
    this.options.log.warn(
      `disconnected (${code}${reason ? ` ${reason}` : ''}); reconnecting in ${delay} ms`,
    );
    this.schedule(delay);
  }

  private async onMessage(data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    const parsed = isBinary
      ? ({
          ok: false,
          error: { code: 'invalid_frame', message: 'binary frames are not part of the protocol' },
        } as const)
      : parseServerFrame(data);
    if (!parsed.ok) {
      this.invalidFrames += 1;
      this.options.log.warn(`invalid frame from the server: ${parsed.error.message}`);
      if (this.socket?.readyState === WebSocket.OPEN) {
        this.socket.send(
          JSON.stringify({
            type: 'error',
            code: parsed.error.code,
            // The parser's message may quote the bad input: send only text the server can store.
            message: escapeUnstorableText(parsed.error.message.slice(0, 4096)),
          }),
        );
        if (this.invalidFrames > INVALID_FRAME_BUDGET)
          this.socket.close(CLOSE_CODES.tooManyInvalidFrames, 'too many invalid frames');
      }
      return;
    }
    try {
      await this.onFrame(parsed.value);
    } catch (error) {
      this.options.log.error(`handling ${parsed.value.type}: ${(error as Error).message}`);
    }
  }

  private unexpected(frame: ServerFrame): void {
    this.invalidFrames += 1;
    this.socket?.send(
      JSON.stringify({
        type: 'error',
        code: 'unexpected_frame',
        message: `unexpected ${frame.type} frame in state ${this.state}`,
      }),
    );
  }

  private async onFrame(frame: ServerFrame): Promise<void> {
    const { identity } = this.options;
    switch (frame.type) {
      case 'challenge': {
        if (this.state !== 'handshaking') return this.unexpected(frame);
        if (frame.protocolVersion !== PROTOCOL_VERSION) return;
        const enroll = !identity.enrolled || this.enrollNext;
        if (enroll && this.options.enrollmentToken) {
          const facts = await this.options.facts();
          this.write({
            type: 'enroll',
            protocolVersion: PROTOCOL_VERSION,
            deviceId: identity.deviceId,
            enrollmentToken: this.options.enrollmentToken,
            publicKey: identity.publicKey,
            signature: identity.signChallenge('enroll', frame.nonce),
            agentVersion: this.options.agentVersion,
            facts,
          });
        } else {
          if (enroll)
            this.options.log.warn(
              'not enrolled and no server.enrollmentToken configured: trying auth',
            );
          this.write({
            type: 'auth',
            protocolVersion: PROTOCOL_VERSION,
            deviceId: identity.deviceId,
            signature: identity.signChallenge('auth', frame.nonce),
            agentVersion: this.options.agentVersion,
          });
        }
        return;
      }
      case 'pending':
        if (this.state !== 'handshaking' || frame.deviceId !== identity.deviceId)
          return this.unexpected(frame);
        await identity.markEnrolled(this.options.clock);
        this.enrollNext = false;
        this.state = 'pending';
        this.backoff.reset();
        this.armLiveness(this.watchdogMs());
        this.options.log.info(`device ${identity.deviceId} is pending acceptance`);
        this.options.onPending?.();
        return;
      case 'welcome':
        if (
          (this.state !== 'handshaking' && this.state !== 'pending') ||
          frame.deviceId !== identity.deviceId
        ) {
          return this.unexpected(frame);
        }
        await identity.markEnrolled(this.options.clock);
        this.enrollNext = false;
        this.state = 'ready';
        this.backoff.reset();
        this.heartbeatMs = frame.heartbeatIntervalMs ?? 0;
        this.armLiveness(this.watchdogMs());
        this.options.log.info(`connected as ${identity.deviceId}`);
        this.options.onReady();
        return;
      case 'rejected':
        this.options.log.error(
          `the server refused this device: ${frame.reason}${frame.message ? ` (${frame.message})` : ''}`,
        );
        return;
      case 'command':
        if (this.state !== 'ready') return this.unexpected(frame);
        this.options.onCommand(frame);
        return;
      case 'cancel':
        if (this.state !== 'ready') return this.unexpected(frame);
        this.options.onCancel?.(frame.commandId);
        return;
      case 'result_stored':
        if (this.state !== 'ready') return this.unexpected(frame);
        this.options.onResultStored?.(frame.commandId);
        return;
      case 'error':
        this.options.log.warn(
          `server error ${frame.code}${frame.commandId ? ` about ${frame.commandId}` : ''}: ${frame.message}`,
        );
        this.options.onServerError?.(frame);
        return;
    }
  }
}
