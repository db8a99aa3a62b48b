// The tab's side of live updates, its transport scripted (the real stream is covered by
// server/http/live-updates.integration.test.ts and e2e/tests/zz-live-updates.spec.ts): states,
// backoff after a failed stream, a full refetch after a reconnect, and the refetch rate bound.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DISCONNECTED_AFTER_MS,
  INVALIDATE_EVERY_MS,
  startLiveUpdates,
  type LiveStatus,
} from './live-updates';

type Handlers = Parameters<Parameters<typeof startLiveUpdates>[0]['subscribe']>[0];

function harness() {
  const streams: { handlers: Handlers; closed: boolean }[] = [];
  const statuses: LiveStatus[] = [];
  const invalidated: (readonly string[] | null)[] = [];
  const stop = startLiveUpdates({
    subscribe(handlers) {
      const stream = { handlers, closed: false };
      streams.push(stream);
      return { unsubscribe: () => void (stream.closed = true) };
    },
    invalidate: (topics) => void invalidated.push(topics),
    setStatus: (status) => void statuses.push(status),
  });
  const current = () => {
    const stream = streams.at(-1);
    if (!stream) throw new Error('no stream');
    return stream.handlers;
  };
  return { streams, statuses, invalidated, stop, current };
}

describe('live updates in a tab', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('goes live, says reconnecting when the link retries, disconnected when that lasts, and refetches all on return', () => {
    const tab = harness();
    expect(tab.statuses.at(-1)).toBe('connecting');
    tab.current().onConnectionStateChange({ state: 'pending', error: null });
    expect(tab.statuses.at(-1)).toBe('live');
    expect(tab.invalidated).toEqual([]); // the first connection misses nothing

    tab.current().onConnectionStateChange({ state: 'connecting', error: new Error('lost') });
    expect(tab.statuses.at(-1)).toBe('reconnecting');
    vi.advanceTimersByTime(DISCONNECTED_AFTER_MS);
    expect(tab.statuses.at(-1)).toBe('disconnected');
    tab.current().onConnectionStateChange({ state: 'pending', error: null });
    expect(tab.statuses.at(-1)).toBe('live');
    expect(tab.invalidated).toEqual([null]);
    expect(tab.streams).toHaveLength(1); // the link reconnected by itself
    tab.stop();
    expect(tab.streams[0]?.closed).toBe(true);
  });

  it('opens a failed stream again with growing, capped delays', () => {
    const tab = harness();
    const gaps: number[] = [];
    for (let failure = 0; failure < 8; failure++) {
      const before = tab.streams.length;
      tab.current().onError();
      tab.current().onComplete(); // the same end, reported twice: one retry
      let waited = 0;
      while (tab.streams.length === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      expect(tab.streams).toHaveLength(before + 1);
      gaps.push(waited);
    }
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(30_000);
    expect(tab.statuses.at(-1)).toBe('disconnected');
    tab.current().onConnectionStateChange({ state: 'pending', error: null });
    expect(tab.statuses.at(-1)).toBe('live');
    tab.stop();
  });

  it('acts on the first notice at once and on a flood at most once a second', () => {
    const tab = harness();
    tab.current().onConnectionStateChange({ state: 'pending', error: null });
    tab.current().onData({ topics: ['catalog'] });
    expect(tab.invalidated).toEqual([['catalog']]);
    for (let message = 0; message < 20; message++)
      tab.current().onData({ topics: ['devices', `device:${message % 3}`] });
    expect(tab.invalidated).toHaveLength(1);
    vi.advanceTimersByTime(INVALIDATE_EVERY_MS);
    expect(tab.invalidated).toHaveLength(2);
    expect([...(tab.invalidated[1] ?? [])].sort()).toEqual([
      'device:0',
      'device:1',
      'device:2',
      'devices',
    ]);
    tab.stop();
    tab.current().onData({ topics: ['audit'] });
    vi.advanceTimersByTime(INVALIDATE_EVERY_MS);
    expect(tab.invalidated).toHaveLength(2); // nothing after stop
  });
});
