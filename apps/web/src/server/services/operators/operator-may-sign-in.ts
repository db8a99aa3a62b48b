import type { ServiceContext } from '../context';

/** Whether a session may be opened for this operator: it exists and is not disabled. */
export async function operatorMaySignIn(
  ctx: Pick<ServiceContext, 'db'>,
  operatorId: string,
): Promise<boolean> {
  const operator = await ctx.db.operator.findUnique({
    where: { id: operatorId },
    select: { disabled: true },
  });
  return operator !== null && !operator.disabled;
}
