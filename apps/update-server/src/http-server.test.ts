import { describe, expect, it } from 'vitest';
import { etagOf, ifRangeHolds } from './http-server';
import type { ImageVersion, ServedFile } from './image-store';

const version = (sha1: string, firstSeen: string): ImageVersion => ({
  sha1,
  rootPrefixHash: 'b'.repeat(40),
  rootSha256: 'c'.repeat(64),
  imageBytes: 100,
  root: { offset: 0, size: 50 },
  firmware: { offset: 50, size: 50 },
  source: 'file:///x',
  firstSeen,
  lastSeen: firstSeen,
  osVersion: null,
});
const served = (v: ImageVersion): ServedFile => ({
  fileName: 'EOS.raw.dev',
  image: 'EOS',
  part: 'dev',
  version: v,
  pinned: false,
  path: '/x',
  offset: 0,
  size: 50,
});

describe('ifRangeHolds', () => {
  const v2 = served(version('2'.repeat(40), '2026-12-01T10:00:05.900Z'));
  const date = 'Tue, 01 Dec 2026 10:00:05 GMT';

  it('matches the strong entity tag only', () => {
    expect(ifRangeHolds(etagOf(v2), v2, [])).toBe(true);
    expect(ifRangeHolds(`W/${etagOf(v2)}`, v2, [])).toBe(false);
    expect(ifRangeHolds(`"${'1'.repeat(40)}.dev"`, v2, [])).toBe(false);
  });

  it('matches an exact date, unless another kept version was first seen in the same second', () => {
    expect(ifRangeHolds(date, v2, ['2026-12-01T09:00:00.000Z'])).toBe(true);
    expect(ifRangeHolds('Tue, 01 Dec 2026 10:00:06 GMT', v2, [])).toBe(false);
    // v1 at 10:00:05.100 and v2 at 10:00:05.900 share the date: it cannot tell them apart.
    expect(ifRangeHolds(date, v2, ['2026-12-01T10:00:05.100Z'])).toBe(false);
    expect(ifRangeHolds('not a date', v2, [])).toBe(false);
  });
});
