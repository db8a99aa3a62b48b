'use client';
// The browser's tRPC client: one QueryClient per tab, batched HTTP calls, superjson for dates,
// and live updates: one server-sent-events stream (live.changes, shared by the tabs: see
// live-updates.ts) whose notices mark the queries they name stale (live-topics.ts): no polling.
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
import { startLiveUpdates, type LiveStatus } from './live-updates';

export type { LiveStatus } from './live-updates';

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

const LiveStatusContext = createContext<LiveStatus>('connecting');

/** The state of this tab's live updates (the dashboard shows it). */
export function useLiveStatus(): LiveStatus {
  return useContext(LiveStatusContext);
}

/** Live updates for this tab (live-updates.ts): notices mark stale the queries they name. */
function useLiveUpdates(trpcClient: TRPCClient<AppRouter>, queryClient: QueryClient): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  useEffect(
    () =>
      startLiveUpdates({
        subscribe: (handlers) => trpcClient.live.changes.subscribe(undefined, handlers),
        invalidate(topics) {
          void queryClient.invalidateQueries(
            topics ? { predicate: queriesForTopics(topics) } : undefined,
          );
        },
        setStatus,
      }),
    [trpcClient, queryClient],
  );
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
