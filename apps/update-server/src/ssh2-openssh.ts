// What OpenSSH's sshd does at the end of a session channel and ssh2 (pinned 1.17.0) has no public
// API for: hearing the client's `eow@openssh.com` ("my reader is gone", what `os-update --check`
// triggers after its 10 MiB), sending `eow@openssh.com` itself, and cutting a TCP connection that no
// longer drains. ssh2 drops an unknown channel request silently, which is why EOS's check hung.
// Every private ssh2 field this project touches is in this file and checked on each connection,
// so an ssh2 upgrade that moves them refuses connections loudly instead of hanging clients again.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Connection, ServerChannel } from 'ssh2';

const require = createRequire(import.meta.url);

interface PacketWriter {
  allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
interface Ssh2Protocol {
  _handlers: Record<string, unknown>;
  _packetRW: { write: PacketWriter };
}
interface Ssh2Client {
  _protocol: Ssh2Protocol;
  _chanMgr: { get(id: number): unknown };
  _sock: Socket;
}
interface Ssh2Channel {
  _client: Ssh2Client;
  incoming: { state: string };
  outgoing: { id: number; state: string };
}

const protocolUtils = require('ssh2/lib/protocol/utils.js') as {
  sendPacket: (proto: Ssh2Protocol, packet: Buffer) => boolean;
};
const sendPacket = protocolUtils.sendPacket;
const MSG_CHANNEL_REQUEST = 98;
export const EOW = 'eow@openssh.com';

function internals(client: Connection): Ssh2Client {
  const c = client as unknown as Partial<Ssh2Client>;
  const proto = c._protocol;
  if (
    typeof proto?._handlers.CHANNEL_REQUEST !== 'function' ||
    typeof proto._packetRW.write.alloc !== 'function' ||
    typeof c._chanMgr?.get !== 'function' ||
    typeof c._sock?.destroy !== 'function' ||
    typeof sendPacket !== 'function'
  ) {
    throw new Error(
      'ssh2 internals changed (expected ssh2 1.17.0): eow@openssh.com cannot be handled',
    );
  }
  return c as Ssh2Client;
}

/**
 * Emits `EOW` on the exec/shell channel when the client sends `eow@openssh.com` (want_reply is
 * always false for it: nothing to answer). Every other request goes to ssh2 as before.
 */
export function emitEowOnChannels(client: Connection): void {
  const c = internals(client);
  const original = c._protocol._handlers.CHANNEL_REQUEST as (...args: unknown[]) => unknown;
  c._protocol._handlers.CHANNEL_REQUEST = (
    p: unknown,
    recipient: number,
    type: string,
    wantReply: boolean,
    data: unknown,
  ) => {
    if (type !== EOW) return original(p, recipient, type, wantReply, data);
    const session = c._chanMgr.get(recipient) as { _channel?: ServerChannel } | undefined;
    session?._channel?.emit(EOW);
    return undefined;
  };
}

/** Sends `eow@openssh.com` on a session channel, as sshd does when it stops writing to the command. */
export function sendEow(channel: ServerChannel): void {
  const ch = channel as unknown as Ssh2Channel;
  if (ch.outgoing.state !== 'open') return;
  const proto = ch._client._protocol;
  const w = proto._packetRW.write;
  let p = w.allocStart;
  const packet = w.alloc(1 + 4 + 4 + EOW.length + 1);
  packet[p] = MSG_CHANNEL_REQUEST;
  packet.writeUInt32BE(ch.outgoing.id, ++p);
  packet.writeUInt32BE(EOW.length, (p += 4));
  packet.write(EOW, (p += 4), 'ascii');
  packet[p + EOW.length] = 0; // want reply: false
  sendPacket(proto, w.finalize(packet));
}

/** Whether the client may still send data (it has sent neither EOF nor close). */
export function clientInputOpen(channel: ServerChannel): boolean {
  return (channel as unknown as Ssh2Channel).incoming.state === 'open';
}

/** Whether we may still send on the channel (we have sent neither EOF nor close). */
export function serverOutputOpen(channel: ServerChannel): boolean {
  return (channel as unknown as Ssh2Channel).outgoing.state === 'open';
}

/** Cuts the TCP connection at once: a graceful end would wait behind data the peer never reads. */
export function destroyConnection(client: Connection): void {
  internals(client)._sock.destroy();
}
