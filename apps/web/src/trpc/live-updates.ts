// The browser side of live updates, without React: one live.changes stream per browser, not per
// tab. Over plain HTTP/1.1 a browser opens at most 6 connections to a host, and each open stream
// holds one: six dashboard tabs would leave none for the pages' own requests. So the tabs of one
// browser elect a leader with the Web Locks API; the leader holds the stream and passes notices
// and its state to the other tabs over a BroadcastChannel. Where Web Locks are missing (a plain
// http:// address that is not localhost is not a secure context) every tab holds its own stream.
//
// The stream: the SSE link reconnects a dropped connection by itself; a stream that ends or fails
// for good (an error answer) is opened again here with capped, jittered backoff. After any
// reconnect, and when a tab takes over the stream, everything is refetched: notices sent while no
// one was listening are lost.
import { Backoff } from '@eos-fleet/shared/backoff';

/** connecting: first attempt; reconnecting: lost, retrying; disconnected: lost for a while. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'disconnected';

/** How long a lost stream may stay lost before the page says its data may be stale. */
export const DISCONNECTED_AFTER_MS = 8_000;

/**
 * Refetches a tab starts, at most one round a second: a busy fleet (every device reporting) would
 * otherwise refetch the device list with every message. The first notice is acted on at once.
 */
export const INVALIDATE_EVERY_MS = 1_000;

const LOCK_NAME = 'eos-fleet-live-updates';
const CHANNEL_NAME = 'eos-fleet-live-updates';

interface StreamHandlers {
  onConnectionStateChange(state: { state: string; error: unknown }): void;
  onData(batch: { topics: string[] }): void;
  onError(): void;
  onComplete(): void;
}

export interface LiveUpdatesOptions {
  /** open live.changes (trpcClient.live.changes.subscribe) */
  subscribe(handlers: StreamHandlers): { unsubscribe(): void };
  /** mark stale what `topics` name; null: everything */
  invalidate(topics: readonly string[] | null): void;
  setStatus(status: LiveStatus): void;
}

type TabMessage =
  | { type: 'status'; status: LiveStatus }
  | { type: 'topics'; topics: string[] }
  | { type: 'resync' }
  | { type: 'hello' };

/** Hold the stream in this tab until the returned function is called. */
function holdStream(
  options: LiveUpdatesOptions,
  { resyncFirst }: { resyncFirst: boolean },
): () => void {
  const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
  let stopped = false;
  let wasLive = resyncFirst;
  let status: LiveStatus = 'connecting';
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let staleTimer: ReturnType<typeof setTimeout> | undefined;
  let subscription: { unsubscribe(): void } | undefined;
  const heard = new Set<string>();
  let lastInvalidated = 0;
  let invalidateTimer: ReturnType<typeof setTimeout> | undefined;

  const invalidateHeard = () => {
    invalidateTimer = undefined;
    lastInvalidated = Date.now();
    const topics = [...heard];
    heard.clear();
    if (!stopped) options.invalidate(topics);
  };
  const show = (next: LiveStatus) => {
    if (next === status || stopped) return;
    status = next;
    options.setStatus(next);
  };
  const trouble = () => {
    if (status !== 'disconnected') show(wasLive ? 'reconnecting' : 'connecting');
    staleTimer ??= setTimeout(() => show('disconnected'), DISCONNECTED_AFTER_MS);
  };
  const live = () => {
    clearTimeout(staleTimer);
    staleTimer = undefined;
    backoff.reset();
    if (wasLive) options.invalidate(null);
    wasLive = true;
    show('live');
  };
  const open = () => {
    let ended = false;
    const again = () => {
      if (ended || stopped) return;
      ended = true;
      subscription?.unsubscribe();
      trouble();
      retryTimer = setTimeout(open, backoff.next());
    };
    subscription = options.subscribe({
      onConnectionStateChange(state) {
        if (state.state === 'pending') live();
        else if (state.state === 'connecting' && state.error) trouble();
      },
      onData({ topics }) {
        for (const topic of topics) heard.add(topic);
        if (invalidateTimer) return;
        const wait = lastInvalidated + INVALIDATE_EVERY_MS - Date.now();
        if (wait <= 0) invalidateHeard();
        else invalidateTimer = setTimeout(invalidateHeard, wait);
      },
      onError: again,
      onComplete: again,
    });
  };
  options.setStatus(status);
  open();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    clearTimeout(staleTimer);
    clearTimeout(invalidateTimer);
    subscription?.unsubscribe();
  };
}

/** Start live updates for this tab; returns the function that stops them. */
export function startLiveUpdates(options: LiveUpdatesOptions): () => void {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (!locks || typeof BroadcastChannel === 'undefined')
    return holdStream(options, { resyncFirst: false });

  const channel = new BroadcastChannel(CHANNEL_NAME);
  let closed = false;
  const post = (message: TabMessage) => {
    if (!closed) channel.postMessage(message);
  };
  let leading = false;
  let leaderStatus: LiveStatus = 'connecting';
  let heardLive = false;

  channel.onmessage = (event: MessageEvent<TabMessage>) => {
    const message = event.data;
    if (leading) {
      if (message.type === 'hello') post({ type: 'status', status: leaderStatus });
      return;
    }
    if (message.type === 'status') {
      if (message.status === 'live') heardLive = true;
      options.setStatus(message.status);
    } else if (message.type === 'topics') options.invalidate(message.topics);
    else if (message.type === 'resync') options.invalidate(null);
  };
  options.setStatus('connecting');
  post({ type: 'hello' });

  const abort = new AbortController();
  let release: (() => void) | undefined;
  locks
    .request(LOCK_NAME, { signal: abort.signal }, () => {
      if (closed) return; // granted as this tab was stopping: give it up at once
      leading = true;
      // a tab that takes over may have missed notices between the old leader and itself
      const stop = holdStream(
        {
          subscribe: (handlers) => options.subscribe(handlers),
          invalidate(topics) {
            options.invalidate(topics);
            post(topics ? { type: 'topics', topics: [...topics] } : { type: 'resync' });
          },
          setStatus(status) {
            leaderStatus = status;
            options.setStatus(status);
            post({ type: 'status', status });
          },
        },
        { resyncFirst: heardLive },
      );
      return new Promise<void>((resolve) => {
        release = () => {
          stop();
          resolve();
        };
      });
    })
    .catch(() => undefined); // aborted: this tab closed before it led

  return () => {
    closed = true;
    abort.abort();
    release?.();
    channel.close();
  };
}
