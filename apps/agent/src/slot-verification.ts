// `eos-fleet-agent --verify-slot`: the content check of the commit gate. On the first boot of a
// new slot (COMMIT_UPDATE) it hashes the running root device and compares it with what the
// journaled apply expects. EOS's apply pipeline has no pipefail: a stream cut short still leaves
// dd exiting 0, so os-update kexecs into a half-written slot and would commit it. This check,
// before update_commit.service runs, is what keeps such a slot from being committed.
// It only reads (journal, device); the running agent owns every write to the state directory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { type Clock } from './clock';
import { InventoryCollector } from './inventory';
import { type Journal, type JournalEntry } from './journal';

export type SlotVerdict =
  /** No apply with a whole-slot hash is journaled: an update started by hand, nothing to verify. */
  | { kind: 'nothing'; message: string }
  | { kind: 'match'; message: string }
  | { kind: 'mismatch'; message: string }
  /** The check could not be made (device unreadable, no root device known): fail closed. */
  | { kind: 'error'; message: string };

/** Exit codes of --verify-slot; the gate commits only on 0. */
export const VERIFY_SLOT_EXIT = { match: 0, nothing: 0, mismatch: 3, error: 4 } as const;

/** The apply whose slot this boot runs: the last one journaled as awaiting its reboot. */
export function pendingApply(journal: Journal): JournalEntry | null {
  const pending = journal
    .all()
    .filter((e) => e.kind === 'apply' && e.state === 'awaiting_reboot' && e.reboot);
  return pending[pending.length - 1] ?? null;
}

/** sha256 of the first `bytes` of `path` (fewer if the file is shorter), read as a stream. */
export async function sha256OfPrefix(
  path: string,
  bytes: number,
): Promise<{ sha256: string; bytesRead: number }> {
  const hash = createHash('sha256');
  let bytesRead = 0;
  const stream = createReadStream(path, {
    start: 0,
    end: bytes - 1,
    highWaterMark: 4 * 1024 * 1024,
  });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytesRead += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytesRead };
}

export async function verifySlot(
  config: AgentConfig,
  journal: Journal,
  clock: Clock,
): Promise<SlotVerdict> {
  const entry = pendingApply(journal);
  if (!entry?.reboot)
    return {
      kind: 'nothing',
      message: 'no apply from the fleet is waiting for this boot: nothing to verify',
    };
  const { expectedRootSha256: expected, expectedRootBytes: bytes } = entry.reboot;
  const name = `apply ${entry.id}`;
  if (expected === undefined || bytes === undefined) {
    return {
      kind: 'nothing',
      message: `${name}: journaled without a whole-slot hash (by an older agent): nothing to verify`,
    };
  }
  const inventory = new InventoryCollector({ config, clock, agentVersion: '' });
  const facts = await inventory.bootFacts();
  if (facts.bootId === entry.reboot.previousBootId) {
    return {
      kind: 'error',
      message: `${name}: journaled in this boot: the new slot has not booted yet`,
    };
  }
  const device = inventory.rootDevice(facts);
  if (device === null) {
    return {
      kind: 'error',
      message: `${name}: cannot tell the root device (no root=PARTUUID= on ${config.paths.cmdline}, no paths.rootDevice)`,
    };
  }
  const started = clock.now().getTime();
  let actual: { sha256: string; bytesRead: number };
  try {
    actual = await sha256OfPrefix(device, bytes);
  } catch (error) {
    return {
      kind: 'error',
      message: `${name}: cannot read ${device}: ${(error as Error).message}`,
    };
  }
  const seconds = ((clock.now().getTime() - started) / 1000).toFixed(1);
  if (actual.bytesRead < bytes) {
    return {
      kind: 'mismatch',
      message: `${name}: ${device} holds only ${actual.bytesRead} bytes, the image has ${bytes} (expected sha256 ${expected})`,
    };
  }
  if (actual.sha256 !== expected) {
    return {
      kind: 'mismatch',
      message: `${name}: sha256 of the first ${bytes} bytes of ${device} is ${actual.sha256}, expected ${expected}`,
    };
  }
  return {
    kind: 'match',
    message: `${name}: ${device} holds the expected image (sha256 ${expected} of ${bytes} bytes, ${seconds} s)`,
  };
}
