import type { ServiceContext } from '../context';

/** One round trip: /healthz answers ok only while PostgreSQL answers. */
export async function checkDatabase(ctx: Pick<ServiceContext, 'db'>): Promise<void> {
  await ctx.db.$queryRaw`select 1`;
}
