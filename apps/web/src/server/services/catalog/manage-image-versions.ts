// What operators decide about an image version: its label, whether it is the recommended target
// of its image name (at most one per name, across servers), whether it is blocked (never offered,
// refused for new applies). Each change is one audit event.
import { type z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { flagImageVersionInput, labelImageVersionInput } from './catalog-inputs';

export { flagImageVersionInput, labelImageVersionInput };

type Tx = Parameters<Parameters<ServiceContext['db']['$transaction']>[0]>[0];

async function load(tx: Tx, imageVersionId: string) {
  const version = await tx.imageVersion.findUnique({
    where: { id: imageVersionId },
    include: { image: { select: { name: true, updateServerId: true } } },
  });
  if (!version) throw new AppError('NOT_FOUND', 'No such image version.');
  return version;
}

function describe(version: Awaited<ReturnType<typeof load>>) {
  return {
    imageName: version.image.name,
    rootPrefixHash: version.rootPrefixHash,
    label: version.label,
  };
}

export async function labelImageVersion(
  ctx: ServiceContext,
  input: z.input<typeof labelImageVersionInput>,
) {
  const { imageVersionId, label } = labelImageVersionInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const version = await load(tx, imageVersionId);
    const next = label === '' ? null : label;
    if (next === version.label) return { id: imageVersionId, label: next };
    await tx.imageVersion.update({ where: { id: imageVersionId }, data: { label: next } });
    await recordAuditEvent(ctx, tx, {
      action: 'image_version.labelled',
      targetType: 'image_version',
      targetId: imageVersionId,
      data: { ...describe(version), label: { from: version.label, to: next } },
    });
    return { id: imageVersionId, label: next };
  });
}

export async function setImageVersionRecommended(
  ctx: ServiceContext,
  input: z.input<typeof flagImageVersionInput>,
) {
  const { imageVersionId, value } = flagImageVersionInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const version = await load(tx, imageVersionId);
    // one recommendation per image name: concurrent recommends of that name take turns
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`eos-fleet.recommend:${version.image.name}`}, 0))`;
    if (value) {
      if (version.blocked)
        throw new AppError('PRECONDITION_FAILED', 'A blocked version cannot be recommended.');
      if (!version.available)
        throw new AppError(
          'PRECONDITION_FAILED',
          'Its update server no longer offers this version: it cannot be recommended.',
        );
    }
    if (version.recommended === value) return { id: imageVersionId, recommended: value };
    const previous = value
      ? await tx.imageVersion.findMany({
          where: { recommended: true, image: { name: version.image.name } },
          select: { id: true, rootPrefixHash: true, label: true },
        })
      : [];
    if (previous.length > 0)
      await tx.imageVersion.updateMany({
        where: { id: { in: previous.map((row) => row.id) } },
        data: { recommended: false },
      });
    await tx.imageVersion.update({ where: { id: imageVersionId }, data: { recommended: value } });
    await recordAuditEvent(ctx, tx, {
      action: value ? 'image_version.recommended' : 'image_version.unrecommended',
      targetType: 'image_version',
      targetId: imageVersionId,
      data: {
        ...describe(version),
        ...(previous.length > 0 ? { replaces: previous } : {}),
      },
    });
    return { id: imageVersionId, recommended: value };
  });
}

/** Blocking the recommended version also withdraws the recommendation (said in the audit entry). */
export async function setImageVersionBlocked(
  ctx: ServiceContext,
  input: z.input<typeof flagImageVersionInput>,
) {
  const { imageVersionId, value } = flagImageVersionInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const version = await load(tx, imageVersionId);
    if (version.blocked === value) return { id: imageVersionId, blocked: value };
    const withdrawn = value && version.recommended;
    await tx.imageVersion.update({
      where: { id: imageVersionId },
      data: { blocked: value, ...(withdrawn ? { recommended: false } : {}) },
    });
    await recordAuditEvent(ctx, tx, {
      action: value ? 'image_version.blocked' : 'image_version.unblocked',
      targetType: 'image_version',
      targetId: imageVersionId,
      data: { ...describe(version), ...(withdrawn ? { recommendationWithdrawn: true } : {}) },
    });
    return { id: imageVersionId, blocked: value };
  });
}
