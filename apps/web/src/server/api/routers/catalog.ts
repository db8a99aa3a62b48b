// Update servers and their images: admins register servers; everyone reads the catalog; operators
// label, recommend and block versions.
import { z } from 'zod';
import type { Auth } from '../../auth/create-auth';
import {
  listImages,
  listImagesInput,
  listUpdateServers,
} from '../../services/catalog/list-catalog';
import {
  flagImageVersionInput,
  labelImageVersion,
  labelImageVersionInput,
  setImageVersionBlocked,
  setImageVersionRecommended,
} from '../../services/catalog/manage-image-versions';
import {
  createUpdateServer,
  createUpdateServerInput,
  removeUpdateServer,
  updateUpdateServer,
  updateUpdateServerInput,
} from '../../services/catalog/manage-update-servers';
import { pollUpdateServer } from '../../services/catalog/poll-update-server';
import { AppError } from '../../services/errors';
import {
  blockedOutput,
  imagesOutput,
  labelOutput,
  recommendedOutput,
  updateServersOutput,
} from '../openapi-outputs';
import { createTRPCRouter, permittedProcedure } from '../trpc';

/** The app secret (better-auth's, the one secret of the app): it seals catalog tokens. */
export function appSecretOf(auth: Auth): string {
  const secret = auth.options.secret;
  if (!secret) throw new AppError('PRECONDITION_FAILED', 'The app has no secret configured.');
  return secret;
}

const updateServerIdInput = z.object({ updateServerId: z.uuid() });

export const catalogRouter = createTRPCRouter({
  updateServers: permittedProcedure('updateServer.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/catalog/update-servers',
        tags: ['catalog'],
        summary: 'List update servers and their catalogs',
      },
    })
    .output(updateServersOutput)
    .query(({ ctx }) => listUpdateServers(ctx.service)),
  addUpdateServer: permittedProcedure('updateServer.manage')
    .input(createUpdateServerInput)
    .mutation(({ ctx, input }) => createUpdateServer(ctx.service, appSecretOf(ctx.auth), input)),
  editUpdateServer: permittedProcedure('updateServer.manage')
    .input(updateUpdateServerInput)
    .mutation(({ ctx, input }) => updateUpdateServer(ctx.service, appSecretOf(ctx.auth), input)),
  removeUpdateServer: permittedProcedure('updateServer.manage')
    .input(updateServerIdInput)
    .mutation(({ ctx, input }) => removeUpdateServer(ctx.service, input)),
  /** poll its catalog now (waits for a poll another process may be running) */
  pollNow: permittedProcedure('image.manage')
    .input(updateServerIdInput)
    .mutation(({ ctx, input }) =>
      pollUpdateServer(ctx.db, input.updateServerId, {
        appSecret: appSecretOf(ctx.auth),
        wait: true,
      }),
    ),
  images: permittedProcedure('image.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/catalog/images',
        tags: ['catalog'],
        summary: 'List images and their versions',
      },
    })
    .output(imagesOutput)
    .input(listImagesInput.optional())
    .query(({ ctx, input }) => listImages(ctx.service, input)),
  labelVersion: permittedProcedure('image.manage')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/v1/catalog/versions/{imageVersionId}/label',
        tags: ['catalog'],
        summary: 'Set the label of an image version',
      },
    })
    .output(labelOutput)
    .input(labelImageVersionInput)
    .mutation(({ ctx, input }) => labelImageVersion(ctx.service, input)),
  setRecommended: permittedProcedure('image.manage')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/v1/catalog/versions/{imageVersionId}/recommended',
        tags: ['catalog'],
        summary: 'Mark an image version recommended (or not)',
      },
    })
    .output(recommendedOutput)
    .input(flagImageVersionInput)
    .mutation(({ ctx, input }) => setImageVersionRecommended(ctx.service, input)),
  setBlocked: permittedProcedure('image.manage')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/v1/catalog/versions/{imageVersionId}/blocked',
        tags: ['catalog'],
        summary: 'Block an image version (or unblock it)',
      },
    })
    .output(blockedOutput)
    .input(flagImageVersionInput)
    .mutation(({ ctx, input }) => setImageVersionBlocked(ctx.service, input)),
});
