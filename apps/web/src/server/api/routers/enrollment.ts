import { z } from 'zod';
import {
  createEnrollmentToken,
  createEnrollmentTokenInput,
  listEnrollmentTokens,
  revokeEnrollmentToken,
} from '../../services/enrollment/enrollment-tokens';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const enrollmentRouter = createTRPCRouter({
  list: permittedProcedure('device.read').query(({ ctx }) => listEnrollmentTokens(ctx.service)),
  /** the token itself is in this answer only: it is stored hashed */
  create: permittedProcedure('device.enroll')
    .input(createEnrollmentTokenInput)
    .mutation(({ ctx, input }) => createEnrollmentToken(ctx.service, input)),
  revoke: permittedProcedure('device.enroll')
    .input(z.object({ tokenId: z.uuid() }))
    .mutation(({ ctx, input }) => revokeEnrollmentToken(ctx.service, input)),
});
