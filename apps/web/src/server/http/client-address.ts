// Who is on the other end of a request. X-Forwarded-For is believed only when the socket's peer is
// a configured proxy (EOS_FLEET_TRUSTED_PROXIES), and then only up to the first hop that is not
// one: everything left of it was written by the client and may be anything. This one address is
// what sessions record, the sign-in throttle counts and audit events carry.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';

/** IPv6 in full: eight groups of four lower-case hex digits (better-auth records it so too). */
function expandIPv6(address: string): string {
  let text = address.toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.padStart(4, '0')).join(':');
}

/**
 * One spelling per address, the same in sessions, audit entries and the throttle:
 * "::ffff:10.0.0.1" (a v4 client on a dual-stack socket) is 10.0.0.1; IPv6 is written in full.
 */
export function normalizeAddress(address: string): string {
  if (!net.isIPv6(address)) return address.toLowerCase();
  const full = expandIPv6(address);
  const mapped = /^0000:0000:0000:0000:0000:ffff:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(full);
  if (!mapped) return full;
  const [high, low] = [parseInt(mapped[1] ?? '0', 16), parseInt(mapped[2] ?? '0', 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const family = net.isIP(address);
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : undefined;
}

/** Entries are IPs or CIDR ranges, validated by env.ts. */
function trustedList(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const normal = normalizeAddress(address);
    const family = familyOf(normal);
    if (!family) throw new Error(`not an IP address or CIDR range: ${entry}`);
    if (prefix === undefined) list.addAddress(normal, family);
    else list.addSubnet(normal, Number(prefix), family);
  }
  return list;
}

export type ClientAddressOf = (req: IncomingMessage) => string;

/** The peer that no address could be read for (a socket already gone) */
export const UNKNOWN_CLIENT = 'unknown';

export function clientAddressResolver(trustedProxies: readonly string[]): ClientAddressOf {
  const trusted = trustedList(trustedProxies);
  const isTrusted = (address: string) => {
    const family = familyOf(address);
    return family !== undefined && trusted.check(address, family);
  };
  return (req) => {
    const peer = req.socket.remoteAddress;
    if (!peer) return UNKNOWN_CLIENT;
    let client = normalizeAddress(peer);
    if (!isTrusted(client)) return client;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((hop) => hop.trim())
      .filter(Boolean);
    // right to left: each trusted hop vouches for the one before it
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      const hop = normalizeAddress(hops[index] ?? '');
      // a hop that is no address: the trusted hop after it is the last one we can vouch for
      if (!familyOf(hop)) return client;
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client;
  };
}
