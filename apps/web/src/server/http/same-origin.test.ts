import { describe, expect, it } from 'vitest';
import { checkSameOrigin, isJsonBody } from './same-origin';

const allowed = new Set(['https://fleet.example.org']);

describe('checkSameOrigin', () => {
  it('allows a same-origin browser request', () => {
    expect(
      checkSameOrigin(
        {
          host: 'localhost:3000',
          origin: 'http://localhost:3000',
          'sec-fetch-site': 'same-origin',
        },
        allowed,
        false,
      ),
    ).toEqual({ ok: true });
  });
  it('allows the configured public origin behind a proxy', () => {
    expect(
      checkSameOrigin(
        { host: '10.0.0.5:3000', origin: 'https://fleet.example.org' },
        allowed,
        false,
      ).ok,
    ).toBe(true);
  });
  it('refuses another site by Sec-Fetch-Site', () => {
    const verdict = checkSameOrigin(
      { host: 'localhost:3000', 'sec-fetch-site': 'cross-site' },
      allowed,
      false,
    );
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining('cross-site') });
  });
  it('refuses same-site (a sibling subdomain) too', () => {
    expect(
      checkSameOrigin({ host: 'fleet.example.org', 'sec-fetch-site': 'same-site' }, allowed, true)
        .ok,
    ).toBe(false);
  });
  it('refuses a foreign Origin even without Sec-Fetch-Site', () => {
    expect(
      checkSameOrigin({ host: 'localhost:3000', origin: 'http://evil.test' }, allowed, false).ok,
    ).toBe(false);
  });
  it('refuses http origin on an https deployment', () => {
    expect(
      checkSameOrigin(
        { host: 'fleet.example.org', origin: 'http://fleet.example.org' },
        new Set(),
        true,
      ).ok,
    ).toBe(false);
  });
  it('lets a non-browser client through to its credential check', () => {
    expect(checkSameOrigin({ host: 'localhost:3000' }, allowed, false).ok).toBe(true);
  });
});

describe('isJsonBody', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['application/jsonp', false],
  ])('%s -> %s', (type, expected) => {
    expect(isJsonBody({ 'content-type': type })).toBe(expected);
  });
  it('refuses a body without a content type', () => {
    expect(isJsonBody({})).toBe(false);
  });
});
