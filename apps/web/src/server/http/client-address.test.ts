import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../env';
import { clientAddressResolver, normalizeAddress } from './client-address';

function request(peer: string | undefined, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('client address: X-Forwarded-For only from trusted proxies', () => {
  it('ignores X-Forwarded-For when no proxy is trusted (the default)', () => {
    const of = clientAddressResolver(readEnv({}).EOS_FLEET_TRUSTED_PROXIES);
    expect(of(request('203.0.113.7', '198.51.100.1'))).toBe('203.0.113.7');
    expect(of(request('::ffff:203.0.113.7', '198.51.100.1'))).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const of = clientAddressResolver(['10.0.0.0/8']);
    expect(of(request('203.0.113.7', '198.51.100.1, 10.0.0.5'))).toBe('203.0.113.7');
  });

  it('takes the right-most untrusted hop behind trusted proxies, not the spoofable left-most', () => {
    const of = clientAddressResolver(['10.0.0.0/8', 'fd00::1']);
    // the client wrote "1.2.3.4"; the first proxy appended the client's real address
    expect(of(request('10.0.0.2', '1.2.3.4, 198.51.100.9, 10.0.0.3'))).toBe('198.51.100.9');
    expect(of(request('::ffff:10.0.0.2', ['1.2.3.4', '198.51.100.9']))).toBe('198.51.100.9');
    expect(of(request('fd00::1', '2001:db8::5'))).toBe('2001:0db8:0000:0000:0000:0000:0000:0005');
    // no header: the proxy itself is the client
    expect(of(request('10.0.0.2'))).toBe('10.0.0.2');
    // garbage where an address belongs: the last hop a trusted proxy vouched for
    expect(of(request('10.0.0.2', 'not-an-ip, 10.0.0.9'))).toBe('10.0.0.9');
  });

  it('spells each address one way: IPv4-mapped as IPv4, IPv6 in full', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(normalizeAddress('::1')).toBe('0000:0000:0000:0000:0000:0000:0000:0001');
    expect(normalizeAddress('fe80::1:2:3:4:5')).toBe('fe80:0000:0000:0001:0002:0003:0004:0005');
    expect(normalizeAddress('::ffff:c000:0201')).toBe('192.0.2.1');
    expect(normalizeAddress('64:ff9b::192.0.2.1')).toBe('0064:ff9b:0000:0000:0000:0000:c000:0201');
  });

  it('env: EOS_FLEET_TRUSTED_PROXIES is a list of IPs and CIDRs, and names a bad entry', () => {
    expect(
      readEnv({ EOS_FLEET_TRUSTED_PROXIES: ' 10.0.0.0/8, 127.0.0.1 ,fd00::/8' })
        .EOS_FLEET_TRUSTED_PROXIES,
    ).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
    expect(readEnv({}).EOS_FLEET_TRUSTED_PROXIES).toEqual([]);
    expect(() => readEnv({ EOS_FLEET_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/10\.0\.0\.0\/33/);
    expect(() => readEnv({ EOS_FLEET_TRUSTED_PROXIES: 'proxy.local' })).toThrow(
      /EOS_FLEET_TRUSTED_PROXIES: proxy\.local is not an IP/,
    );
  });
});
