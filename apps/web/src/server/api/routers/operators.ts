import { createOperator, createOperatorInput } from '../../services/operators/create-operator';
import {
  changeOperatorRole,
  changeOperatorRoleInput,
  listOperators,
  resetOperatorPassword,
  resetOperatorPasswordInput,
  setOperatorDisabled,
  setOperatorDisabledInput,
} from '../../services/operators/manage-operator';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const operatorsRouter = createTRPCRouter({
  list: permittedProcedure('operator.read').query(({ ctx }) => listOperators(ctx.service)),
  create: permittedProcedure('operator.manage')
    .input(createOperatorInput)
    .mutation(({ ctx, input }) => createOperator(ctx.service, input)),
  changeRole: permittedProcedure('operator.manage')
    .input(changeOperatorRoleInput)
    .mutation(({ ctx, input }) => changeOperatorRole(ctx.service, input)),
  setDisabled: permittedProcedure('operator.manage')
    .input(setOperatorDisabledInput)
    .mutation(({ ctx, input }) => setOperatorDisabled(ctx.service, input)),
  resetPassword: permittedProcedure('operator.manage')
    .input(resetOperatorPasswordInput)
    .mutation(({ ctx, input }) => resetOperatorPassword(ctx.service, input)),
});
