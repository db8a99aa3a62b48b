// The device gateway: WebSocket endpoint /agent/v1 of a web process. It authenticates devices
// (enrolment token or a signature over a fresh nonce), keeps one session per device, delivers
// commands (rows first, frames second, re-sent on every reconnect until acked), turns agent frames
// into service calls, and watches liveness with ping/pong. Presence and inventory go to
// PostgreSQL in batches; commands and revocations for devices held by another process arrive
// through LISTEN/NOTIFY. Invariants: a frame is validated before anything reads it; a device has
// at most one live session here (a newer connection replaces the older); nothing an agent sends
// can crash the process.
import { handshakes } from '../metrics';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Db } from '@eos-fleet/db';
import {
  AGENT_PROTOCOL_PATH,
  CLOSE_CODES,
  HANDSHAKE_TIMEOUT_MS,
  INVALID_FRAME_BUDGET,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseAgentFrame,
  type AgentFrame,
  type AuthFrame,
  type EnrollFrame,
  type FrameErrorCode,
  type ResultFrame,
  type ServerFrame,
} from '@eos-fleet/shared/protocol/index';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger';
import {
  cancelsRequested,
  recordCommandAck,
  recordCommandProgress,
  recordCommandResult,
  takeCommandsToSend,
} from '../services/commands/command-lifecycle';
import { markGatewayOffline } from '../services/devices/device-reports';
import {
  LEASE_RENEWALS_PER_HEARTBEAT,
  gatewayLeaseMs,
  renewGatewayLease,
  retireGateway,
} from '../services/devices/gateway-processes';
import {
  authenticateDevice,
  enrollDevice,
  type IdentityVerdict,
} from '../services/devices/device-identity';
import type { FleetEvent } from '../services/events/fleet-events';
import { FrameBudget } from './frame-budget';
import { LogLimiter, slotFields } from './log-limiter';
import { ReportBatcher } from './report-batcher';

export interface GatewayOptions {
  db: Db;
  logger: Logger;
  /** names this process in device_presence */
  gatewayId: string;
  heartbeatMs?: number;
  handshakeTimeoutMs?: number;
  flushMs?: number;
}

type SessionState = 'handshake' | 'pending' | 'accepted' | 'closed';

interface Session {
  ws: WebSocket;
  ip: string | undefined;
  state: SessionState;
  /** the challenge of this connection; cleared at its first use so it cannot be replayed */
  nonce: string | null;
  deviceId?: string;
  alive: boolean;
  invalidFrames: number;
  /** frames of each kind this connection may still send (frame-budget.ts) */
  budget: FrameBudget;
  /** kept sending over budget: nothing more is read, the close waits for the frames admitted */
  flooding: boolean;
  /** command ids sent on this connection (a reconnect sends every unacked one again) */
  sent: Set<string>;
  /** frames of one session are handled in order */
  queue: Promise<void>;
}

const REJECTION_CLOSE: Record<Exclude<IdentityVerdict, { ok: true }>['reason'], number> = {
  auth_failed: CLOSE_CODES.authFailed,
  rejected: CLOSE_CODES.rejected,
  decommissioned: CLOSE_CODES.rejected,
  device_id_conflict: CLOSE_CODES.rejected,
  enrollment_refused: CLOSE_CODES.enrollmentRefused,
};

/** The command ids this server hands out; anything else cannot name one of its commands. */
const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Log lines per device and topic per minute: what one device does costs the log a few lines. */
const LOG_LINES_PER_MINUTE = 10;
/** a delivery that failed on our side (a saturated pool) is tried again after 1 to 3 s */
const REDELIVER_MS = 1_000;

export function createGateway(options: GatewayOptions) {
  const { db, logger, gatewayId } = options;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  const sessions = new Set<Session>();
  /** the live session of each device on this process */
  const byDevice = new Map<string, Session>();
  const reports = new ReportBatcher(db, gatewayId, logger, options.flushMs ?? 1_000);
  reports.start();
  const logs = new LogLimiter(LOG_LINES_PER_MINUTE);
  /** dropped frames: one line per device per minute says so, with the count of the minute before */
  const dropLogs = new LogLimiter(1);

  /** One line about a session, at most LOG_LINES_PER_MINUTE per device (or address) and topic. */
  function limitedLog(
    session: Session,
    topic: string,
    level: 'info' | 'warn' | 'error',
    fields: Record<string, unknown>,
    message: string,
    limiter = logs,
  ) {
    const slot = limiter.take(`${session.deviceId ?? session.ip ?? '?'}:${topic}`);
    if (!slot) return;
    logger[level](
      {
        deviceId: session.deviceId,
        ip: session.ip,
        ...fields,
        ...slotFields(slot, limiter.windowMs),
      },
      message,
    );
  }

  function send(session: Session, frame: ServerFrame) {
    if (session.ws.readyState === WebSocket.OPEN) session.ws.send(JSON.stringify(frame));
  }

  function close(session: Session, code: number, reason: string) {
    if (session.state === 'closed') return;
    session.state = 'closed';
    session.ws.close(code, reason.slice(0, 120));
    // a peer that never completes the closing handshake is cut off
    setTimeout(() => session.ws.terminate(), 5_000).unref();
  }

  function frameError(session: Session, code: FrameErrorCode, message: string, commandId?: string) {
    send(session, { type: 'error', code, message, ...(commandId ? { commandId } : {}) });
    limitedLog(session, 'invalid-frame', 'info', { code, message }, 'invalid frame from a device');
    session.invalidFrames++;
    if (session.invalidFrames > INVALID_FRAME_BUDGET)
      close(session, CLOSE_CODES.tooManyInvalidFrames, 'too many invalid frames');
  }

  // The rows are marked delivered (committed) before the frames go out: a command cancelled
  // outright is never sent, and one sent is never cancelled outright.
  async function deliver(session: Session) {
    if (session.state !== 'accepted' || !session.deviceId) return;
    const pending = await takeCommandsToSend(db, session.deviceId, session.sent);
    for (const command of pending) {
      session.sent.add(command.id);
      send(session, {
        type: 'command',
        id: command.id,
        kind: command.kind,
        params: command.params,
        issuedAt: command.issuedAt.toISOString(),
      });
      // a cancel requested while it was offline: the agent dedups the id and honours this
      if (command.cancelRequested) send(session, { type: 'cancel', commandId: command.id });
    }
  }

  /**
   * Delivery on a fleet event: a burst (a rollout's tick queues hundreds of applies at once) can
   * find the pool saturated, and nothing else would deliver before the device reconnects.
   */
  async function deliverOrRetry(session: Session) {
    try {
      await deliver(session);
    } catch (error) {
      limitedLog(
        session,
        'delivery',
        'warn',
        { err: error },
        'delivering commands failed; retrying',
      );
      if (session.state === 'closed') return;
      setTimeout(
        () => enqueue(session, () => deliverOrRetry(session)),
        REDELIVER_MS * (1 + 2 * Math.random()),
      ).unref();
    }
  }

  /** A result is answered `result_stored` only once committed; otherwise the agent sends it again. */
  async function storeResult(session: Session, deviceId: string, frame: ResultFrame) {
    let stored: Awaited<ReturnType<typeof recordCommandResult>>;
    try {
      stored = await recordCommandResult(db, deviceId, frame);
    } catch (error) {
      logger.warn({ err: error, deviceId, commandId: frame.commandId }, 'storing a result failed');
      return send(session, {
        type: 'error',
        code: 'internal',
        message: 'the result could not be stored; send it again',
        commandId: frame.commandId,
      });
    }
    if (stored === 'stored')
      return send(session, { type: 'result_stored', commandId: frame.commandId });
    frameError(
      session,
      'invalid_params',
      `no command ${frame.commandId} for this device`,
      frame.commandId,
    );
  }

  function enqueue(session: Session, work: () => Promise<void>) {
    session.queue = session.queue.then(work).catch((error: unknown) => {
      limitedLog(session, 'failure', 'error', { err: error }, 'gateway failed handling a device');
      send(session, {
        type: 'error',
        code: 'internal',
        message: 'the server failed to handle this frame',
      });
      // a handshake that failed on our side (e.g. a saturated database) cannot go on here, its
      // nonce is spent: tell the agent to come back after its backoff
      if (session.state === 'handshake')
        close(session, CLOSE_CODES.tryAgainLater, 'server busy, try again later');
    });
  }

  async function identify(session: Session, frame: EnrollFrame | AuthFrame) {
    const nonce = session.nonce;
    session.nonce = null;
    if (!nonce) return close(session, CLOSE_CODES.authFailed, 'one authentication per connection');
    const verdict =
      frame.type === 'enroll'
        ? await enrollDevice({ db, ipAddress: session.ip }, { ...frame, nonce })
        : await authenticateDevice(
            { db },
            { deviceId: frame.deviceId, nonce, signature: frame.signature },
          );
    if (session.state === 'closed') return;
    if (!verdict.ok) {
      handshakes.inc({ outcome: verdict.reason });
      logger.info(
        { deviceId: frame.deviceId, reason: verdict.reason, ip: session.ip },
        'device refused',
      );
      if (verdict.reason !== 'auth_failed') {
        send(session, {
          type: 'rejected',
          reason: verdict.reason,
          message: verdict.message,
        });
      }
      return close(session, REJECTION_CLOSE[verdict.reason], verdict.message);
    }
    const previous = byDevice.get(verdict.deviceId);
    if (previous && previous !== session)
      close(previous, CLOSE_CODES.replaced, 'replaced by a newer connection');
    session.deviceId = verdict.deviceId;
    byDevice.set(verdict.deviceId, session);
    reports.connected(verdict.deviceId);
    handshakes.inc({ outcome: verdict.status === 'pending' ? 'pending' : 'accepted' });
    if (verdict.status === 'pending') {
      session.state = 'pending';
      send(session, { type: 'pending', deviceId: verdict.deviceId });
    } else {
      welcome(session);
      await deliver(session);
    }
  }

  function welcome(session: Session) {
    if (!session.deviceId) return;
    session.state = 'accepted';
    send(session, {
      type: 'welcome',
      deviceId: session.deviceId,
      status: 'accepted',
      heartbeatIntervalMs: heartbeatMs,
      serverTime: new Date().toISOString(),
    });
  }

  async function handleFrame(session: Session, frame: AgentFrame) {
    if (session.state === 'closed') return;
    if (frame.type === 'enroll' || frame.type === 'auth') {
      if (session.state !== 'handshake')
        return close(session, CLOSE_CODES.authFailed, 'one authentication per connection');
      return identify(session, frame);
    }
    if (session.state === 'handshake' || !session.deviceId)
      return frameError(session, 'unauthorized', 'authenticate first');
    const deviceId = session.deviceId;
    switch (frame.type) {
      case 'inventory':
        reports.inventory(deviceId, frame.inventory);
        return;
      case 'error':
        limitedLog(
          session,
          'agent-error',
          'warn',
          { code: frame.code, message: frame.message.slice(0, 200) },
          'the agent reported an error about our frame',
        );
        return;
    }
    if (session.state !== 'accepted')
      return frameError(session, 'unauthorized', 'the device is not accepted yet');
    if (frame.type === 'result') {
      await reports.settle(deviceId);
      return storeResult(session, deviceId, frame);
    }
    const known =
      frame.type === 'ack'
        ? await recordCommandAck(db, deviceId, frame.commandId)
        : await recordCommandProgress(db, deviceId, frame);
    if (!known)
      frameError(
        session,
        'invalid_params',
        `no command ${frame.commandId} for this device`,
        frame.commandId,
      );
  }

  /**
   * Whether a parsed frame is handled at all: within its kind's budget, and naming a command id
   * this server could have sent. Runs before the frame is queued, so a flood costs no database work.
   */
  function admit(session: Session, frame: AgentFrame): boolean {
    if (frame.type === 'enroll' || frame.type === 'auth') return true;
    const admission = session.budget.admit(frame.type);
    if (admission !== 'admit') {
      limitedLog(
        session,
        'over-budget',
        'warn',
        { kind: frame.type },
        'frames over budget dropped',
        dropLogs,
      );
      if (admission === 'close') {
        session.flooding = true;
        limitedLog(
          session,
          'flood',
          'warn',
          {},
          'closing a connection that keeps flooding',
          dropLogs,
        );
        const shut = () => close(session, CLOSE_CODES.tryAgainLater, 'too many frames; slow down');
        enqueue(session, () => Promise.resolve(shut()));
        // a queue stuck on the database does not keep the flood's socket open
        setTimeout(shut, 5_000).unref();
      }
      return false;
    }
    if (frame.type !== 'error' && frame.type !== 'inventory' && !COMMAND_ID.test(frame.commandId)) {
      frameError(
        session,
        'invalid_params',
        `no command ${frame.commandId} for this device`,
        frame.commandId,
      );
      return false;
    }
    return true;
  }

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const session: Session = {
      ws,
      ip: req.socket.remoteAddress,
      state: 'handshake',
      nonce: randomBytes(24).toString('base64url'),
      alive: true,
      invalidFrames: 0,
      budget: new FrameBudget(),
      flooding: false,
      sent: new Set(),
      queue: Promise.resolve(),
    };
    sessions.add(session);
    const handshakeTimer = setTimeout(() => {
      if (session.state === 'handshake')
        close(session, CLOSE_CODES.handshakeTimeout, 'no authentication in time');
    }, options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();

    ws.on('pong', () => {
      session.alive = true;
      if (session.deviceId && session.state !== 'closed') reports.seen(session.deviceId);
    });
    ws.on('message', (data, isBinary) => {
      // frames still arriving after we closed are not read
      if (session.state === 'closed' || session.flooding) return;
      if (isBinary)
        return frameError(session, 'invalid_frame', 'binary frames are not part of the protocol');
      const parsed = parseAgentFrame(data);
      if (!parsed.ok) return frameError(session, parsed.error.code, parsed.error.message);
      if (!admit(session, parsed.value)) return;
      enqueue(session, () => handleFrame(session, parsed.value));
    });
    ws.on('error', (error) =>
      logger.debug({ err: error, deviceId: session.deviceId }, 'device socket error'),
    );
    ws.on('close', () => {
      clearTimeout(handshakeTimer);
      session.state = 'closed';
      sessions.delete(session);
      if (session.deviceId && byDevice.get(session.deviceId) === session) {
        byDevice.delete(session.deviceId);
        reports.disconnected(session.deviceId);
      }
    });
    send(session, {
      type: 'challenge',
      protocolVersion: PROTOCOL_VERSION,
      nonce: session.nonce ?? '',
      serverTime: new Date().toISOString(),
    });
  });

  // A connection that answered no ping since the last tick is dead (or half-open): cut it. A dead
  // peer is thus noticed within two heartbeat intervals.
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      if (!session.alive) {
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  // this process's lease; a dead process's devices go offline on the others within a heartbeat
  const leaseMs = gatewayLeaseMs(heartbeatMs);
  const renewLease = () =>
    renewGatewayLease(db, gatewayId, leaseMs).catch((error: unknown) =>
      logger.warn({ err: error }, 'renewing the gateway lease failed'),
    );
  void renewLease();
  const lease = setInterval(() => void renewLease(), heartbeatMs / LEASE_RENEWALS_PER_HEARTBEAT);
  lease.unref();

  // the command deadline sweep is a fleet-wide job (jobs/job-runner.ts), not a timer per process

  return {
    path: AGENT_PROTOCOL_PATH,
    /** the process's WebSocket upgrades for /agent/v1 */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    /** a fleet event from any process (LISTEN/NOTIFY) */
    onFleetEvent(event: FleetEvent) {
      const session = byDevice.get(event.deviceId);
      if (!session) return;
      switch (event.type) {
        case 'command.queued':
          return enqueue(session, () => deliverOrRetry(session));
        case 'command.cancel_requested':
          // not sent on this connection yet: the next delivery sends it with its cancel
          return enqueue(session, async () => {
            if (session.state === 'accepted' && session.sent.has(event.commandId))
              send(session, { type: 'cancel', commandId: event.commandId });
            else await deliver(session);
          });
        case 'device.accepted':
          return enqueue(session, async () => {
            if (session.state !== 'pending') return;
            welcome(session);
            await deliver(session);
          });
        case 'device.revoked':
          send(session, {
            type: 'rejected',
            reason: event.reason,
            message: `This device was ${event.reason}.`,
          });
          return close(session, CLOSE_CODES.rejected, event.reason);
      }
    },
    /** after missed events (the LISTEN connection dropped): deliver to every session again */
    resync() {
      for (const session of byDevice.values())
        enqueue(session, async () => {
          const sentBefore = [...session.sent];
          await deliver(session); // sends the cancels of what it sends now
          // a cancel requested while we were not listening, for a command sent on this connection
          for (const commandId of await cancelsRequested(db, sentBefore))
            send(session, { type: 'cancel', commandId });
        });
    },
    stats() {
      return {
        connections: sessions.size,
        devices: byDevice.size,
        statements: reports.statements,
        refusedReports: reports.refused,
      };
    },
    /** the batched presence and inventory writes of this process (tests inject rows here) */
    reports,
    flush: () => reports.flush(),
    async close() {
      clearInterval(heartbeat);
      clearInterval(lease);
      for (const session of sessions) close(session, 1001, 'server shutting down');
      wss.close();
      await reports.stop();
      await markGatewayOffline(db, gatewayId).catch(() => undefined);
      await retireGateway(db, gatewayId).catch(() => undefined);
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
