// Applying an image version to a device: picked from the versions its update server offers, never
// a pasted hash. The command is pinned to the version's content: expected root prefix hash, whole
// root sha256 and length, and the server's pinned name NAME@<rootPrefixHash>, so a server that has
// moved on cannot hand the device other bytes.
import { z } from 'zod';
import { createCommand } from '../commands/commands';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { versionSummary } from './list-catalog';
import { resolveDeviceVersions } from './resolve-device-versions';

export const applyImageVersionInput = z.object({
  deviceId: z.uuid(),
  imageVersionId: z.uuid(),
});

const MiB = 1024 * 1024;

async function loadDevice(ctx: Pick<ServiceContext, 'db'>, deviceId: string) {
  const device = await ctx.db.device.findUnique({
    where: { id: deviceId },
    select: { id: true, rootPrefixHash: true, imageName: true, facts: true, slotSize: true },
  });
  if (!device) throw new AppError('NOT_FOUND', 'No such device.');
  const resolution = (await resolveDeviceVersions(ctx, [device])).get(device.id);
  return { device, resolution };
}

/**
 * The versions a device can be given: offered by the update server it is configured for, not
 * blocked; each says whether it fits the device's inactive slot. Its own image name first.
 */
export async function listApplicableVersions(
  ctx: Pick<ServiceContext, 'db'>,
  input: { deviceId: string },
) {
  const { deviceId } = z.object({ deviceId: z.uuid() }).parse(input);
  const { device, resolution } = await loadDevice(ctx, deviceId);
  const server = resolution?.updateServer ?? null;
  if (!server)
    return {
      updateServer: null,
      problem:
        resolution?.updateServerProblem ??
        'The device has not reported which update server it uses (its /etc/os-update.yml).',
      slotSize: device.slotSize === null ? null : Number(device.slotSize),
      versions: [],
    };
  const images = await ctx.db.image.findMany({
    where: { updateServerId: server.id },
    include: {
      versions: { where: { available: true, blocked: false }, orderBy: { firstSeenAt: 'desc' } },
    },
  });
  images.sort(
    (a, b) =>
      Number(b.name === device.imageName) - Number(a.name === device.imageName) ||
      a.name.localeCompare(b.name),
  );
  const slot = device.slotSize;
  return {
    updateServer: server,
    problem: null,
    slotSize: slot === null ? null : Number(slot),
    versions: images.flatMap((image) =>
      image.versions.map((version) => ({
        ...versionSummary(version, image.name),
        /** null: the device has not reported its slot size */
        fits: slot === null ? null : version.rootPartitionSize <= slot,
        running: version.rootPrefixHash === device.rootPrefixHash,
        applicable: version.rootSha256 !== null,
      })),
    ),
  };
}

export async function applyImageVersion(
  ctx: ServiceContext,
  input: z.input<typeof applyImageVersionInput>,
  /** a rollout's apply: recorded on the command, and refused unless the server still offers the
   * content pinned when the rollout was created (never other bytes under the same name) */
  rollout?: { rolloutId: string; pinnedRootSha256: string },
) {
  const { deviceId, imageVersionId } = applyImageVersionInput.parse(input);
  const { device, resolution } = await loadDevice(ctx, deviceId);
  const version = await ctx.db.imageVersion.findUnique({
    where: { id: imageVersionId },
    include: { image: { include: { updateServer: { select: { id: true, name: true } } } } },
  });
  if (!version) throw new AppError('NOT_FOUND', 'No such image version.');
  const name = `${version.image.name} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`;
  if (version.blocked)
    throw new AppError('PRECONDITION_FAILED', `${name} is blocked: it is not applied any more.`);
  if (!version.available)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${name} is no longer offered by ${version.image.updateServer.name}.`,
    );
  if (version.rootSha256 === null)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${version.image.updateServer.name} does not publish the whole-root sha256 of ${name}: update that server.`,
    );
  if (rollout && version.rootSha256 !== rollout.pinnedRootSha256)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${version.image.updateServer.name} now publishes other content for ${name} than the rollout pinned.`,
    );
  const server = resolution?.updateServer;
  if (!server)
    throw new AppError(
      'PRECONDITION_FAILED',
      `The device's update server is unknown (${resolution?.updateServerProblem ?? 'not reported yet'}).`,
    );
  if (server.id !== version.image.updateServer.id)
    throw new AppError(
      'PRECONDITION_FAILED',
      `The device fetches from ${server.name}; ${name} is published by ${version.image.updateServer.name}.`,
    );
  if (device.slotSize !== null && version.rootPartitionSize > device.slotSize)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${name} does not fit: its root partition is ${(Number(version.rootPartitionSize) / MiB).toFixed(1)} MiB, the device's slot ${(Number(device.slotSize) / MiB).toFixed(1)} MiB.`,
    );
  return createCommand(
    ctx,
    {
      deviceId,
      kind: 'apply',
      params: {
        expectedRootPrefixHash: version.rootPrefixHash,
        expectedRootSha256: version.rootSha256,
        expectedRootBytes: Number(version.rootPartitionSize),
        imageName: `${version.image.name}@${version.rootPrefixHash}`,
      },
    },
    rollout ? { rolloutId: rollout.rolloutId } : {},
  );
}
