// Parsing that never throws: a peer's bad frame is data to answer, not an exception to crash on.
import { type z } from 'zod';
import { type FrameErrorCode, MAX_FRAME_BYTES } from './constants';
import { type Command, commandSchema } from './commands';
import {
  type AgentFrame,
  agentFrameSchema,
  type CommandFrame,
  KNOWN_COMMAND_KINDS,
  type ServerFrame,
  serverFrameSchema,
} from './frames';

export interface ProtocolError<C extends string = FrameErrorCode> {
  code: C;
  message: string;
}
export type ParseResult<T, C extends string = FrameErrorCode> =
  { ok: true; value: T } | { ok: false; error: ProtocolError<C> };

/** "path.to.field: message; ..." for the first few issues: short enough for an error frame. */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  if (error.issues.length > limit) parts.push(`(+${error.issues.length - limit} more)`);
  return parts.join('; ');
}

type RawData = string | Buffer | ArrayBuffer | Buffer[];

function toText(data: RawData): ParseResult<string> {
  const buffer =
    typeof data === 'string'
      ? null
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
  const size = buffer ? buffer.length : Buffer.byteLength(data as string, 'utf8');
  if (size > MAX_FRAME_BYTES) {
    return {
      ok: false,
      error: {
        code: 'frame_too_large',
        message: `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`,
      },
    };
  }
  return { ok: true, value: buffer ? buffer.toString('utf8') : (data as string) };
}

function parseWith<T>(schema: z.ZodType<T>, data: RawData): ParseResult<T> {
  const text = toText(data);
  if (!text.ok) return text;
  let json: unknown;
  try {
    json = JSON.parse(text.value);
  } catch {
    return { ok: false, error: { code: 'invalid_frame', message: 'frame is not valid JSON' } };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: { code: 'invalid_frame', message: describeIssues(parsed.error) } };
  }
  return { ok: true, value: parsed.data };
}

/** For the gateway: a frame an agent sent. */
export function parseAgentFrame(data: RawData): ParseResult<AgentFrame> {
  return parseWith(agentFrameSchema, data);
}

/** For the agent: a frame the server sent. */
export function parseServerFrame(data: RawData): ParseResult<ServerFrame> {
  return parseWith(serverFrameSchema, data);
}

/** Narrows a command frame's loose kind/params to a typed command. */
export function parseCommand(
  frame: Pick<CommandFrame, 'kind' | 'params'>,
): ParseResult<Command, 'unknown_command' | 'invalid_params'> {
  if (!KNOWN_COMMAND_KINDS.includes(frame.kind)) {
    return {
      ok: false,
      error: { code: 'unknown_command', message: `unknown command kind "${frame.kind}"` },
    };
  }
  const parsed = commandSchema.safeParse({ kind: frame.kind, params: frame.params ?? {} });
  if (!parsed.success) {
    return { ok: false, error: { code: 'invalid_params', message: describeIssues(parsed.error) } };
  }
  return { ok: true, value: parsed.data };
}

/** Serialises a frame; the sender validates first so it never puts a bad frame on the wire. */
export function encodeFrame(frame: AgentFrame | ServerFrame): string {
  return JSON.stringify(frame);
}
