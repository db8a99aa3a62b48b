import { TRPCError } from '@trpc/server';
import {
  changeOwnPassword,
  changeOwnPasswordInput,
} from '../../services/operators/change-own-password';
import { permissionsOf } from '../permissions';
import { authedProcedure, createTRPCRouter } from '../trpc';

export const accountRouter = createTRPCRouter({
  me: authedProcedure.meta({ beforePasswordChange: true }).query(({ ctx }) => ({
    ...ctx.operator,
    permissions: permissionsOf(ctx.operator.role),
  })),

  changePassword: authedProcedure
    .meta({ beforePasswordChange: true })
    .input(changeOwnPasswordInput)
    .mutation(async ({ ctx, input }) => {
      if (!ctx.sessionToken) throw new TRPCError({ code: 'UNAUTHORIZED' });
      await changeOwnPassword(ctx.service, input, ctx.sessionToken);
      return { ok: true };
    }),
});
