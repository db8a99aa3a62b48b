// What each A/B root slot of a device holds, and how we know. EOS reports only the running root
// (its prefix hash and partition label); the inactive slot is never read. So the active slot is a
// fact of the last inventory, and the other one is an inference from this device's command history:
// - the apply or rollback that last moved the device onto its current slot left the other slot
//   holding what ran before it (the running hash recorded when that command was sent, or a
//   succeeded check / slot change reported earlier);
// - an apply that failed after it began writing leaves the inactive slot overwritten, possibly
//   half-written (EOS's dd writes whatever arrives): its content is unknown from then on.
// Anything else is "unknown", said in words. The Static profile has one slot only.
import { ROOT_SLOTS, type RootSlot } from '@eos-fleet/shared/domain';
import { rootPrefixHashSchema } from '@eos-fleet/shared/protocol/index';
import type { ServiceContext } from '../context';
import { resolveDeviceVersions } from '../catalog/resolve-device-versions';

/** How far back the history is read: enough for any real device, bounded for a noisy one. */
const HISTORY_LIMIT = 200;

export type SlotKnowledge = 'running' | 'history' | 'overwritten' | 'unknown';

export interface SlotView {
  slot: RootSlot;
  active: boolean;
  rootPrefixHash: string | null;
  /** "EOS.x86_64-AB 2.0.0", "unknown build", or null when no hash is known */
  version: string | null;
  knowledge: SlotKnowledge;
  /** how we know, in words */
  evidence: string;
}

interface DeviceSlotFacts {
  id: string;
  activeSlot: string | null;
  rootPrefixHash: string | null;
  imageName: string | null;
  profile: string | null;
  facts: unknown;
}

interface HistoryCommand {
  id: string;
  kind: 'check' | 'apply' | 'rollback';
  state: string;
  result: unknown;
  createdAt: Date;
  completedAt: Date | null;
  /** it got as far as writing the inactive slot */
  wroteSlot: boolean;
  /** the device's running hash when the command was sent (command.created audit data) */
  runningWhenSent: string | null;
}

const hashOf = (value: unknown) => {
  const parsed = rootPrefixHashSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};
const slotOf = (value: unknown): RootSlot | null =>
  (ROOT_SLOTS as readonly unknown[]).includes(value) ? (value as RootSlot) : null;

function resultData(command: Pick<HistoryCommand, 'result'>): Record<string, unknown> {
  return (command.result as { data?: Record<string, unknown> } | null)?.data ?? {};
}

const when = (date: Date | null) => (date ? date.toISOString() : 'an unknown time');

/**
 * The inactive slot's content, from the history (newest first). Pure, so every case is testable.
 */
export function inferInactiveSlot(
  inactive: RootSlot,
  history: readonly HistoryCommand[],
): Pick<SlotView, 'rootPrefixHash' | 'knowledge' | 'evidence'> {
  for (const [index, command] of history.entries()) {
    const data = resultData(command);
    const movedHere =
      command.state === 'succeeded' &&
      (command.kind === 'apply' || command.kind === 'rollback') &&
      slotOf(data.previousSlot) === inactive;
    if (movedHere) {
      const before = command.runningWhenSent ?? runningBefore(history.slice(index + 1));
      const verb = command.kind === 'apply' ? 'the apply' : 'the rollback';
      return before
        ? {
            rootPrefixHash: before,
            knowledge: 'history',
            evidence: `ran there before ${verb} of ${when(command.completedAt)} moved the device off it`,
          }
        : {
            rootPrefixHash: null,
            knowledge: 'unknown',
            evidence: `left by ${verb} of ${when(command.completedAt)}, but what ran there before was not recorded`,
          };
    }
    if (command.kind === 'apply' && command.state !== 'succeeded' && command.wroteSlot)
      return command.completedAt === null
        ? {
            rootPrefixHash: null,
            knowledge: 'overwritten',
            evidence: 'an apply is writing it now',
          }
        : {
            rootPrefixHash: null,
            knowledge: 'overwritten',
            evidence: `an apply that ended ${command.state.replace('_', ' ')} at ${when(command.completedAt)} had begun writing it: it may be half-written`,
          };
    if (
      command.state === 'succeeded' &&
      slotOf(data.activeSlot) === inactive &&
      hashOf(data.rootPrefixHash)
    )
      // the device ran this slot after that command, and has moved since without a record
      return {
        rootPrefixHash: null,
        knowledge: 'unknown',
        evidence: 'the device left it without a recorded apply or rollback',
      };
  }
  return {
    rootPrefixHash: null,
    knowledge: 'unknown',
    evidence:
      'no apply or rollback of this device is recorded, and EOS does not read the inactive slot',
  };
}

/** What the device ran at the point `older` (newest first) ends: the latest report of it. */
function runningBefore(older: readonly HistoryCommand[]): string | null {
  for (const command of older) {
    if (command.state !== 'succeeded') continue;
    const data = resultData(command);
    const hash =
      command.kind === 'check' ? hashOf(data.currentRootPrefixHash) : hashOf(data.rootPrefixHash);
    if (hash) return hash;
  }
  return null;
}

export async function deviceSlots(
  ctx: Pick<ServiceContext, 'db'>,
  device: DeviceSlotFacts,
): Promise<SlotView[]> {
  const active = slotOf(device.activeSlot);
  const slots: RootSlot[] =
    device.profile?.toLowerCase() === 'static' ? ['p.lxreadonly'] : [...ROOT_SLOTS];
  const inactive = active ? slots.find((slot) => slot !== active) : undefined;

  let inferred: Pick<SlotView, 'rootPrefixHash' | 'knowledge' | 'evidence'> | null = null;
  if (inactive) {
    const rows = await ctx.db.command.findMany({
      where: { deviceId: device.id, kind: { in: ['check', 'apply', 'rollback'] } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: HISTORY_LIMIT,
      select: {
        id: true,
        kind: true,
        state: true,
        result: true,
        createdAt: true,
        completedAt: true,
        events: { where: { state: 'downloading' }, select: { id: true }, take: 1 },
      },
    });
    const slotChanges = rows.filter((row) => row.kind !== 'check').map((row) => row.id);
    const sent = slotChanges.length
      ? await ctx.db.auditEvent.findMany({
          where: {
            action: 'command.created',
            targetType: 'device',
            targetId: device.id,
            OR: slotChanges.map((id) => ({ data: { path: ['commandId'], equals: id } })),
          },
          select: { data: true },
        })
      : [];
    const runningWhenSent = new Map(
      sent.map((event) => {
        const data = event.data as { commandId?: string; rootPrefixHash?: unknown } | null;
        return [data?.commandId ?? '', hashOf(data?.rootPrefixHash)] as const;
      }),
    );
    inferred = inferInactiveSlot(
      inactive,
      rows.map((row) => ({
        id: row.id,
        kind: row.kind as HistoryCommand['kind'],
        state: row.state,
        result: row.result,
        createdAt: row.createdAt,
        completedAt: row.completedAt,
        wroteSlot: row.events.length > 0,
        runningWhenSent: runningWhenSent.get(row.id) ?? null,
      })),
    );
  }

  const views: Omit<SlotView, 'version'>[] = slots.map((slot) =>
    slot === active
      ? {
          slot,
          active: true,
          rootPrefixHash: device.rootPrefixHash,
          knowledge: device.rootPrefixHash ? 'running' : 'unknown',
          evidence: device.rootPrefixHash
            ? 'the device runs it: its root prefix hash, from the last inventory'
            : 'the device has not reported its root prefix hash',
        }
      : slot === inactive && inferred
        ? { slot, active: false, ...inferred }
        : {
            slot,
            active: false,
            rootPrefixHash: null,
            knowledge: 'unknown',
            evidence: 'the device has not reported which slot it runs',
          },
  );
  // each known hash in words, looked up in the catalog as the device's own version is
  const names = await resolveDeviceVersions(
    ctx,
    views.map((view) => ({
      id: view.slot,
      rootPrefixHash: view.rootPrefixHash,
      imageName: device.imageName,
      facts: device.facts,
    })),
  );
  return views.map((view) => ({ ...view, version: names.get(view.slot)?.runningVersion ?? null }));
}
