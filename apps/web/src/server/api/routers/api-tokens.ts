// API tokens are made, listed and revoked by signed-in operators only: a token cannot manage tokens.
import {
  createApiTokenInput,
  revokeApiTokenInput,
} from '../../services/api-tokens/api-token-input';
import {
  createApiToken,
  listApiTokens,
  revokeApiToken,
} from '../../services/api-tokens/manage-api-tokens';
import { createTRPCRouter, permittedSessionProcedure } from '../trpc';

export const apiTokensRouter = createTRPCRouter({
  list: permittedSessionProcedure('apiToken.create').query(({ ctx }) => listApiTokens(ctx.service)),
  /** the token itself is in this answer only: it is stored hashed */
  create: permittedSessionProcedure('apiToken.create')
    .input(createApiTokenInput)
    .mutation(({ ctx, input }) => createApiToken(ctx.service, input)),
  revoke: permittedSessionProcedure('apiToken.create')
    .input(revokeApiTokenInput)
    .mutation(({ ctx, input }) => revokeApiToken(ctx.service, input)),
});
