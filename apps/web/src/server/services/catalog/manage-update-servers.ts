// Update servers as admins register them: the SSH target devices use, the HTTP/catalog URL, the
// catalog token (sealed, never returned), the cap on concurrent applies. Each change writes one
// audit event (never with the token in it).
import { Prisma } from '@eos-fleet/db';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { createUpdateServerInput, updateUpdateServerInput } from './catalog-inputs';
import { sealCatalogToken } from './seal-catalog-token';

export { createUpdateServerInput, updateUpdateServerInput };

function nameTaken(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

export async function createUpdateServer(
  ctx: ServiceContext,
  appSecret: string,
  input: z.input<typeof createUpdateServerInput>,
) {
  const { catalogToken, ...data } = createUpdateServerInput.parse(input);
  try {
    return await ctx.db.$transaction(async (tx) => {
      const row = await tx.updateServer.create({
        data: { ...data, catalogTokenSealed: sealCatalogToken(appSecret, catalogToken) },
        select: { id: true, name: true },
      });
      await recordAuditEvent(ctx, tx, {
        action: 'update_server.created',
        targetType: 'update_server',
        targetId: row.id,
        data: { ...data, catalogToken: 'set' },
      });
      return row;
    });
  } catch (error) {
    if (nameTaken(error))
      throw new AppError('CONFLICT', `An update server named "${data.name}" exists already.`, {
        field: 'name',
      });
    throw error;
  }
}

export async function updateUpdateServer(
  ctx: ServiceContext,
  appSecret: string,
  input: z.input<typeof updateUpdateServerInput>,
) {
  const { updateServerId, catalogToken, ...changes } = updateUpdateServerInput.parse(input);
  try {
    return await ctx.db.$transaction(async (tx) => {
      const before = await tx.updateServer.findUnique({ where: { id: updateServerId } });
      if (!before) throw new AppError('NOT_FOUND', 'No such update server.');
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      for (const [key, value] of Object.entries(changes)) {
        const old = before[key as keyof typeof changes];
        if (value !== undefined && value !== old) changed[key] = { from: old, to: value };
      }
      await tx.updateServer.update({
        where: { id: updateServerId },
        data: {
          ...changes,
          ...(catalogToken
            ? { catalogTokenSealed: sealCatalogToken(appSecret, catalogToken) }
            : {}),
        },
      });
      await recordAuditEvent(ctx, tx, {
        action: 'update_server.updated',
        targetType: 'update_server',
        targetId: updateServerId,
        data: {
          name: changes.name ?? before.name,
          changed,
          ...(catalogToken ? { catalogToken: 'replaced' } : {}),
        },
      });
      return { id: updateServerId };
    });
  } catch (error) {
    if (nameTaken(error))
      throw new AppError('CONFLICT', `An update server named "${changes.name}" exists already.`, {
        field: 'name',
      });
    throw error;
  }
}

/** Its images and versions go with it; devices configured for it then show "unknown server". */
export async function removeUpdateServer(ctx: ServiceContext, input: { updateServerId: string }) {
  const { updateServerId } = z.object({ updateServerId: z.uuid() }).parse(input);
  return ctx.db.$transaction(async (tx) => {
    const server = await tx.updateServer.findUnique({
      where: { id: updateServerId },
      include: {
        images: { include: { versions: { include: { _count: { select: { rollouts: true } } } } } },
      },
    });
    if (!server) throw new AppError('NOT_FOUND', 'No such update server.');
    const pinned = server.images.some((image) =>
      image.versions.some((version) => version._count.rollouts > 0),
    );
    if (pinned)
      throw new AppError(
        'PRECONDITION_FAILED',
        'Rollouts pin versions of this server: remove them first.',
      );
    await tx.updateServer.delete({ where: { id: updateServerId } });
    await recordAuditEvent(ctx, tx, {
      action: 'update_server.removed',
      targetType: 'update_server',
      targetId: updateServerId,
      data: { name: server.name, sshTarget: server.sshTarget, httpUrl: server.httpUrl },
    });
    return { id: updateServerId };
  });
}
