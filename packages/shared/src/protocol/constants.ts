// Wire constants of the agent protocol. Changing any of them is a protocol change: bump the
// version (and the path) instead of editing a value agents in the field already rely on.

export const PROTOCOL_VERSION = 'v1' as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION;

/** HTTP path of the WebSocket endpoint; a new protocol version gets a new path. */
export const AGENT_PROTOCOL_PATH = `/agent/${PROTOCOL_VERSION}` as const;

/** Largest frame either side accepts (ws `maxPayload`); larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 256 * 1024;

/** Command output carried in a result is cut to its last this-many characters. */
export const MAX_OUTPUT_CHARS = 64 * 1024;

/** Invalid frames a peer may send before the other side closes with `too_many_invalid_frames`. */
export const INVALID_FRAME_BUDGET = 5;

/** The server closes a connection that has not authenticated within this time. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Close codes in the application range 4000-4999. 1000/1001 (normal, going away) and 1009 (frame
 * too large, sent by ws itself) keep their standard meaning. `reconnect` says what an agent does.
 */
export const CLOSE_CODES = {
  /** A frame broke the protocol in a way that cannot be answered with an error frame. */
  protocolError: 4000,
  /** Bad signature, unknown device id, or a second auth on one connection. Reconnect with backoff. */
  authFailed: 4001,
  /** The agent asked for a protocol version this server does not speak. */
  unsupportedVersion: 4002,
  /** The device is rejected or decommissioned. Reconnect only after a long delay. */
  rejected: 4003,
  /** The enrollment token is unknown, expired or used up. Reconnect only after a long delay. */
  enrollmentRefused: 4004,
  /** No enroll/auth frame arrived within HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeout: 4005,
  /** More than INVALID_FRAME_BUDGET invalid frames on this connection. */
  tooManyInvalidFrames: 4008,
  /** The same device connected again; the older connection is closed. */
  replaced: 4009,
  /** The server sheds load; reconnect with backoff. */
  tryAgainLater: 4029,
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;
export type CloseCode = (typeof CLOSE_CODES)[CloseCodeName];

/** Codes of `error` frames (about a frame, not about a command's outcome). */
export const FRAME_ERROR_CODES = [
  'invalid_frame', // not JSON, or does not match any schema
  'frame_too_large',
  'unexpected_frame', // valid frame in the wrong state (e.g. a command before welcome)
  'unsupported_version',
  'unauthorized', // frame needs an authenticated, accepted device
  'unknown_command', // command frame of a kind this agent does not know (also sent as a result)
  'invalid_params',
  'internal',
] as const;
export type FrameErrorCode = (typeof FRAME_ERROR_CODES)[number];

/** Codes carried by a failed command result. */
export const COMMAND_ERROR_CODES = [
  'unknown_command',
  'invalid_params',
  'not_supported', // e.g. apply on the Static profile, which has no second slot
  'key_unavailable', // `fleet --getkey` failed
  'check_failed', // os-update --check printed no hashes (unreachable server, missing key, ...)
  'image_mismatch', // the update stream's root prefix hash is not the expected one
  'apply_failed', // os-update --apply returned (no kexec happened), e.g. image larger than slot
  'rolled_back', // after the reboot the device runs the old slot again
  'verification_failed', // new slot booted but its root prefix hash is not the expected one
  'commit_failed', // new slot booted but COMMIT_UPDATE is still pending
  'rollback_failed',
  'deadline_exceeded',
  'flake_failed', // flake-ctl exited non-zero
  'interrupted', // the agent restarted while the command ran (not apply/rollback)
  'content_mismatch', // the new slot booted, but its whole-partition sha256 is not the expected one: not committed
  'cancelled', // the server sent `cancel` before the agent started the command; it never ran
  'internal',
] as const;
export type CommandErrorCode = (typeof COMMAND_ERROR_CODES)[number];
