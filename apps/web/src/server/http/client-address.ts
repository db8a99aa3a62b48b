// Who is on the other end of a request. X-Forwarded-For is believed only when the socket's peer is
// a configured proxy (EOS_FLEET_TRUSTED_PROXIES), and then only up to the first hop that is not
// one: everything left of it was written by the client and may be anything. This one address is
// what sessions record, the sign-in throttle counts and audit events carry.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';

/** "::ffff:10.0.0.1" (a v4 client on a dual-stack socket) is 10.0.0.1 */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return (mapped?.[1] ?? address).toLowerCase();
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
