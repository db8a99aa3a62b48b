// Live updates: one stream per browser tab of "what changed" notices (services/events/), over
// server-sent events. The browser refetches what a notice names; the data itself never travels
// here, so a notice needs no more permission than reading the fleet (topics a role may not read
// are not sent to it: change-hub.ts).
import { TRPCError } from '@trpc/server';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const liveRouter = createTRPCRouter({
  changes: permittedProcedure('fleet.read').subscription(({ ctx, signal }) => {
    if (!ctx.changes)
      throw new TRPCError({
        code: 'METHOD_NOT_SUPPORTED',
        message: 'Live updates are not served by this process.',
      });
    const principal = ctx.apiToken
      ? `token:${ctx.apiToken.id}`
      : `session:${ctx.sessionToken ?? ctx.operator?.id ?? 'unknown'}`;
    return ctx.changes.subscribe(principal, ctx.role, signal);
  }),
});
