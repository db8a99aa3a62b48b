// Every frame of /agent/v1, both directions, discriminated on `type`. One JSON object per
// WebSocket text message. Objects are not strict: a receiver ignores fields it does not know, so
// adding an optional field is compatible; anything else needs a new protocol version.
import { z } from 'zod';
import { COMMAND_KINDS } from '../domain';
import {
  COMMAND_ERROR_CODES,
  FRAME_ERROR_CODES,
  MAX_OUTPUT_CHARS,
  PROTOCOL_VERSION,
} from './constants';
import { inventorySchema } from './inventory';
import { escapeUnstorableText, rootPrefixHashSchema, rootSlotSchema, storableText } from './values';

export const deviceIdSchema = z.uuid();
export const commandIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/);
const base64Schema = z.base64().max(256);
const nonceSchema = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[A-Za-z0-9+/=_-]+$/);
const messageSchema = storableText(4096);
const isoTime = z.iso.datetime({ offset: true });

// ---------------------------------------------------------------------------- server -> agent

/** First frame on every connection, sent by the server right after the upgrade. */
export const challengeFrameSchema = z.object({
  type: z.literal('challenge'),
  protocolVersion: z.literal(PROTOCOL_VERSION),
  nonce: nonceSchema,
  serverTime: isoTime,
});

/** The device is accepted; commands may follow. Sent after auth/enroll, or later after pending. */
export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  deviceId: deviceIdSchema,
  status: z.literal('accepted'),
  /** The server pings this often; a dead connection is dropped after two missed pongs. */
  heartbeatIntervalMs: z.int().positive().optional(),
  serverTime: isoTime,
});

/** Enrolled but waiting for an operator. The connection stays open; `welcome` follows on accept. */
export const pendingFrameSchema = z.object({
  type: z.literal('pending'),
  deviceId: deviceIdSchema,
});

/** Refused for good (followed by close 4003/4004). */
export const rejectedFrameSchema = z.object({
  type: z.literal('rejected'),
  reason: z.enum(['rejected', 'decommissioned', 'enrollment_refused', 'device_id_conflict']),
  message: messageSchema.optional(),
});

/**
 * A command. `kind` and `params` are validated per kind by `parseCommand` so that an unknown
 * kind or bad params becomes a failed result for that id, not a protocol error.
 */
export const commandFrameSchema = z.object({
  type: z.literal('command'),
  id: commandIdSchema,
  kind: z.string().min(1).max(64),
  params: z.unknown(),
  issuedAt: isoTime.optional(),
});

/**
 * The operator cancelled a command the agent has (or may have) received. The agent honours it only
 * if it has not started the command: it then answers `result {status: failed, error.code:
 * cancelled}`. A command already running or finished is not stopped; its real result follows.
 */
export const cancelFrameSchema = z.object({
  type: z.literal('cancel'),
  commandId: commandIdSchema,
});

/**
 * The result of `commandId` is stored on the server. The agent keeps a result (and re-sends it on
 * the same connection, with backoff) until this arrives; after it, the agent may forget it.
 */
export const resultStoredFrameSchema = z.object({
  type: z.literal('result_stored'),
  commandId: commandIdSchema,
});

export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.enum(FRAME_ERROR_CODES),
  message: messageSchema,
  /** The command id the error is about, when there is one. */
  commandId: commandIdSchema.optional(),
});

export const serverFrameSchema = z.discriminatedUnion('type', [
  challengeFrameSchema,
  welcomeFrameSchema,
  pendingFrameSchema,
  rejectedFrameSchema,
  commandFrameSchema,
  cancelFrameSchema,
  resultStoredFrameSchema,
  errorFrameSchema,
]);

// ---------------------------------------------------------------------------- agent -> server

/** First connection: enrollment token + public key + facts, signed over the challenge. */
export const enrollFrameSchema = z.object({
  type: z.literal('enroll'),
  protocolVersion: z.literal(PROTOCOL_VERSION),
  /** Minted by the agent (UUID v4) with its key pair, kept for the device's life. */
  deviceId: deviceIdSchema,
  enrollmentToken: z.string().min(1).max(512),
  /** Ed25519 public key, base64 of the raw 32 bytes or of the SPKI DER. */
  publicKey: base64Schema,
  /** Signature over signedChallengeMessage({ purpose: 'enroll', deviceId, nonce }). */
  signature: base64Schema,
  agentVersion: storableText(64),
  facts: inventorySchema,
});

/** Every later connection. */
export const authFrameSchema = z.object({
  type: z.literal('auth'),
  protocolVersion: z.literal(PROTOCOL_VERSION),
  deviceId: deviceIdSchema,
  /** Signature over signedChallengeMessage({ purpose: 'auth', deviceId, nonce }). */
  signature: base64Schema,
  agentVersion: storableText(64),
});

export const inventoryFrameSchema = z.object({
  type: z.literal('inventory'),
  inventory: inventorySchema,
});

/** The command id is journaled (fsynced) on the device; the server stops re-sending it. */
export const ackFrameSchema = z.object({
  type: z.literal('ack'),
  commandId: commandIdSchema,
});

export const PROGRESS_PHASES = [
  'preparing',
  'checking',
  'downloading',
  'rebooting',
  'verifying',
  'running',
] as const;
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

export const progressFrameSchema = z.object({
  type: z.literal('progress'),
  commandId: commandIdSchema,
  phase: z.enum(PROGRESS_PHASES),
  bytesWritten: z.int().nonnegative().optional(),
  totalBytes: z.int().nonnegative().optional(),
  message: messageSchema.optional(),
});

export const resultDataSchema = z.object({
  /** check: the running and the offered root prefix hash. */
  currentRootPrefixHash: rootPrefixHashSchema.optional(),
  updateRootPrefixHash: rootPrefixHashSchema.optional(),
  updateAvailable: z.boolean().optional(),
  /** apply / rollback: where the device runs now. */
  rootPrefixHash: rootPrefixHashSchema.optional(),
  activeSlot: rootSlotSchema.optional(),
  previousSlot: rootSlotSchema.optional(),
});
export type ResultData = z.infer<typeof resultDataSchema>;

export const resultFrameSchema = z.object({
  type: z.literal('result'),
  commandId: commandIdSchema,
  /** The kind as received (may be one this agent does not know). */
  kind: storableText(64),
  status: z.enum(['succeeded', 'failed']),
  error: z.object({ code: z.enum(COMMAND_ERROR_CODES), message: messageSchema }).optional(),
  /** Tail of the tool's stdout+stderr, at most MAX_OUTPUT_CHARS. */
  output: z.string().max(MAX_OUTPUT_CHARS).transform(escapeUnstorableText).optional(),
  data: resultDataSchema.optional(),
  finishedAt: isoTime,
});

export const agentFrameSchema = z.discriminatedUnion('type', [
  enrollFrameSchema,
  authFrameSchema,
  inventoryFrameSchema,
  ackFrameSchema,
  progressFrameSchema,
  resultFrameSchema,
  errorFrameSchema,
]);

export type ChallengeFrame = z.infer<typeof challengeFrameSchema>;
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;
export type PendingFrame = z.infer<typeof pendingFrameSchema>;
export type RejectedFrame = z.infer<typeof rejectedFrameSchema>;
export type CommandFrame = z.infer<typeof commandFrameSchema>;
export type CancelFrame = z.infer<typeof cancelFrameSchema>;
export type ResultStoredFrame = z.infer<typeof resultStoredFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type EnrollFrame = z.infer<typeof enrollFrameSchema>;
export type AuthFrame = z.infer<typeof authFrameSchema>;
export type InventoryFrame = z.infer<typeof inventoryFrameSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type ProgressFrame = z.infer<typeof progressFrameSchema>;
export type ResultFrame = z.infer<typeof resultFrameSchema>;
export type AgentFrame = z.infer<typeof agentFrameSchema>;

/** Kept in step with the domain list; a kind outside it is answered with `unknown_command`. */
export const KNOWN_COMMAND_KINDS: readonly string[] = COMMAND_KINDS;
