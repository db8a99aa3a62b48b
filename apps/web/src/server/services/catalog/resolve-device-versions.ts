// What a device runs, in words: its root prefix hash looked up in every known catalog
// ("EOS.x86_64-AB 2.0.0", or "unknown build"), whether its image name has a recommended version it
// does not run (out of date), and which registered update server its /etc/os-update.yml names.
import type { ServiceContext } from '../context';

export interface DeviceVersionFacts {
  id: string;
  rootPrefixHash: string | null;
  imageName: string | null;
  facts: unknown;
}

export interface DeviceVersionResolution {
  /** "EOS.x86_64-AB 2.0.0", "unknown build", or null when the device has not reported a hash */
  runningVersion: string | null;
  runningVersionId: string | null;
  /** the recommended version of its image name, when there is one */
  recommendedVersion: { id: string; displayName: string } | null;
  outOfDate: boolean;
  /** `server:` from its /etc/os-update.yml */
  configuredServer: string | null;
  /** the registered update server with that SSH target */
  updateServer: { id: string; name: string } | null;
  /** why updateServer is null although configuredServer is not */
  updateServerProblem: string | null;
}

function label(imageName: string, version: { label: string | null; rootPrefixHash: string }) {
  return `${imageName} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`;
}

/** `user@host` compared as ssh would: the host case-insensitively. */
export function sameSshTarget(a: string, b: string): boolean {
  const split = (target: string) => {
    const at = target.lastIndexOf('@');
    return at < 0
      ? { user: '', host: target.toLowerCase() }
      : { user: target.slice(0, at), host: target.slice(at + 1).toLowerCase() };
  };
  const x = split(a.trim());
  const y = split(b.trim());
  return x.host === y.host && (x.user === '' || y.user === '' || x.user === y.user);
}

export function configuredServerOf(facts: unknown): string | null {
  const value = (facts as { updateServer?: unknown } | null)?.updateServer;
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export async function resolveDeviceVersions(
  ctx: Pick<ServiceContext, 'db'>,
  devices: readonly DeviceVersionFacts[],
): Promise<Map<string, DeviceVersionResolution>> {
  const hashes = [
    ...new Set(devices.map((d) => d.rootPrefixHash).filter((h): h is string => h !== null)),
  ];
  const [servers, known, recommended] = await Promise.all([
    ctx.db.updateServer.findMany({ select: { id: true, name: true, sshTarget: true } }),
    hashes.length
      ? ctx.db.imageVersion.findMany({
          where: { rootPrefixHash: { in: hashes } },
          select: {
            id: true,
            rootPrefixHash: true,
            label: true,
            image: { select: { name: true, updateServerId: true } },
          },
          orderBy: { firstSeenAt: 'asc' },
        })
      : [],
    ctx.db.imageVersion.findMany({
      where: { recommended: true },
      select: { id: true, rootPrefixHash: true, label: true, image: { select: { name: true } } },
    }),
  ]);
  const recommendedByName = new Map(recommended.map((v) => [v.image.name, v]));

  const result = new Map<string, DeviceVersionResolution>();
  for (const device of devices) {
    const configuredServer = configuredServerOf(device.facts);
    const matches = configuredServer
      ? servers.filter((server) => sameSshTarget(server.sshTarget, configuredServer))
      : [];
    const updateServer = matches.length === 1 && matches[0] ? matches[0] : null;
    const updateServerProblem = !configuredServer
      ? null
      : matches.length === 0
        ? `no registered update server has the SSH target ${configuredServer}`
        : matches.length > 1
          ? `${matches.length} registered update servers have the SSH target ${configuredServer}`
          : null;

    const candidates = known.filter((v) => v.rootPrefixHash === device.rootPrefixHash);
    // the same content may be on several servers: prefer the device's own, then its image name
    const version =
      candidates.find((v) => v.image.updateServerId === updateServer?.id) ??
      candidates.find((v) => v.image.name === device.imageName) ??
      candidates[0];
    const imageName = device.imageName ?? version?.image.name ?? null;
    const target = imageName ? recommendedByName.get(imageName) : undefined;
    result.set(device.id, {
      runningVersion: device.rootPrefixHash
        ? version
          ? label(version.image.name, version)
          : 'unknown build'
        : null,
      runningVersionId: version?.id ?? null,
      recommendedVersion: target
        ? { id: target.id, displayName: label(target.image.name, target) }
        : null,
      outOfDate: Boolean(
        target && device.rootPrefixHash && target.rootPrefixHash !== device.rootPrefixHash,
      ),
      configuredServer,
      updateServer: updateServer ? { id: updateServer.id, name: updateServer.name } : null,
      updateServerProblem,
    });
  }
  return result;
}
