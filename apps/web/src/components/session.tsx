'use client';
import { useQuery } from '@tanstack/react-query';
import type { Permission } from '~/server/api/permissions';
import { useTRPC } from '~/trpc/react';

/** The signed-in operator. The server checks every permission; the UI only hides what it would refuse. */
export function useMe() {
  const trpc = useTRPC();
  return useQuery(trpc.account.me.queryOptions(undefined, { staleTime: 60_000 }));
}

export function useCan(permission: Permission): boolean {
  const me = useMe();
  return me.data?.permissions.includes(permission) ?? false;
}
