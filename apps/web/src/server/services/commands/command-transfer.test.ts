import { describe, expect, it } from 'vitest';
import { transferOf } from './command-transfer';

const start = new Date('2026-01-01T00:00:00.000Z');
const downloading = [{ state: 'downloading', data: { bytesWritten: 0 }, createdAt: start }];

describe("an apply's transfer", () => {
  it('percent of the pinned root length, average rate since the phase began, time left', () => {
    const transfer = transferOf(
      { phase: 'downloading', bytesWritten: 300, at: '2026-01-01T00:00:10.000Z' },
      { expectedRootBytes: 1200 },
      downloading,
    );
    expect(transfer).toMatchObject({
      percent: 25,
      totalBytes: 1200,
      bytesPerSecond: 30,
      secondsLeft: 30,
    });
  });

  it("the device's own total wins; without any total there is no percent nor time left", () => {
    expect(
      transferOf(
        { phase: 'downloading', bytesWritten: 50, totalBytes: 100, at: '2026-01-01T00:00:05Z' },
        { expectedRootBytes: 1200 },
        downloading,
      )?.percent,
    ).toBe(50);
    expect(
      transferOf(
        { phase: 'downloading', bytesWritten: 50, at: '2026-01-01T00:00:05Z' },
        {},
        downloading,
      ),
    ).toMatchObject({ percent: null, secondsLeft: null, bytesPerSecond: 10 });
  });

  it('no rate before time has passed or without the phase start; nothing outside downloading', () => {
    expect(
      transferOf(
        { phase: 'downloading', bytesWritten: 10, at: start.toISOString() },
        { expectedRootBytes: 100 },
        downloading,
      ),
    ).toMatchObject({ bytesPerSecond: null, secondsLeft: null, percent: 10 });
    expect(
      transferOf(
        { phase: 'downloading', bytesWritten: 10, at: start.toISOString() },
        { expectedRootBytes: 100 },
        [],
      )?.bytesPerSecond,
    ).toBeNull();
    expect(
      transferOf(
        { phase: 'rebooting', bytesWritten: 100, at: start.toISOString() },
        {},
        downloading,
      ),
    ).toBeNull();
  });
});
