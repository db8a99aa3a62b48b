'use client';
// The browser's tRPC client: one QueryClient per tab, batched HTTP calls, superjson for dates.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import superjson from 'superjson';
import type { AppRouter } from '~/server/api/root';

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

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: '/api/trpc', transformer: superjson })],
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
