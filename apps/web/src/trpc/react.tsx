'use client';
// The browser's tRPC client: one QueryClient per tab, batched HTTP calls, superjson for dates,
// and live updates: one server-sent-events stream per tab (live.changes) whose notices mark the
// queries they name stale (live-topics.ts), so pages do not poll.
import { Backoff } from '@eos-fleet/shared/backoff';
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import superjson from 'superjson';
import type { AppRouter } from '~/server/api/root';
import { queriesForTopics } from './live-topics';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        retry: (count, error) => {
          // an auth or permission answer will not change by asking again
          if (error instanceof TRPCClientError) {
            const code = (error.data as { code?: string } | undefined)?.code;
            if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || code === 'NOT_FOUND')
              return false;
          }
          return count < 2;
        },
      },
    },
  });
}

/** connecting: first attempt; reconnecting: lost, retrying; disconnected: lost for a while. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'disconnected';

/** How long a lost stream may stay lost before the page says its data may be stale. */
const DISCONNECTED_AFTER_MS = 8_000;

const LiveStatusContext = createContext<LiveStatus>('connecting');

/** The state of this tab's live-update stream (the dashboard shows it). */
export function useLiveStatus(): LiveStatus {
  return useContext(LiveStatusContext);
}

/**
 * Subscribe once per tab and invalidate what each notice names. The SSE link reconnects a dropped
 * stream itself; a stream that ends or fails for good (an error answer) is opened again here,
 * with capped, jittered backoff. After any reconnect everything is refetched: notices sent while
 * the stream was down are lost.
 */
function useLiveUpdates(trpcClient: TRPCClient<AppRouter>, queryClient: QueryClient): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  useEffect(() => {
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
    let stopped = false;
    let wasLive = false;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let staleTimer: ReturnType<typeof setTimeout> | undefined;
    let subscription: { unsubscribe(): void } | undefined;

    const trouble = () => {
      setStatus((current) =>
        current === 'disconnected' ? current : wasLive ? 'reconnecting' : 'connecting',
      );
      staleTimer ??= setTimeout(() => setStatus('disconnected'), DISCONNECTED_AFTER_MS);
    };
    const live = () => {
      clearTimeout(staleTimer);
      staleTimer = undefined;
      backoff.reset();
      if (wasLive) void queryClient.invalidateQueries();
      wasLive = true;
      setStatus('live');
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
      subscription = trpcClient.live.changes.subscribe(undefined, {
        onConnectionStateChange(state) {
          if (state.state === 'pending') live();
          else if (state.state === 'connecting' && state.error) trouble();
        },
        onData({ topics }) {
          void queryClient.invalidateQueries({ predicate: queriesForTopics(topics) });
        },
        onError: again,
        onComplete: again,
      });
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(staleTimer);
      subscription?.unsubscribe();
    };
  }, [trpcClient, queryClient]);
  return status;
}

/**
 * The live-update stream of this tab, for the signed-in part of the dashboard (its layout mounts
 * it once; it stays mounted across page changes): children read its state with useLiveStatus.
 */
export function LiveUpdatesProvider({ children }: { children: ReactNode }) {
  const status = useLiveUpdates(useTRPCClient(), useQueryClient());
  return <LiveStatusContext.Provider value={status}>{children}</LiveStatusContext.Provider>;
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: '/api/trpc', transformer: superjson }),
          false: httpBatchLink({ url: '/api/trpc', transformer: superjson }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** The message to show an operator for a failed call: the server's words, never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const zod = (
      error.data as { zodError?: { fieldErrors?: Record<string, string[]> } } | undefined
    )?.zodError;
    const fields = Object.entries(zod?.fieldErrors ?? {}).map(
      ([field, messages]) => `${field}: ${messages.join(', ')}`,
    );
    return fields.length ? fields.join('; ') : error.message;
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}
