// One timeout table for both ends of a command. The agent bounds each tool run by `toolMs`; the
// server gives the device `toolMs + returnMs` after delivery before it marks the command
// timed_out. Neither side waits on what the other has given up on, and a hung tool never blocks
// the device's one-at-a-time queue for longer than its kind's `toolMs`.
import type { CommandKind } from './domain';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export interface CommandTimeout {
  /** The agent kills the tool (its whole process group) after this long. */
  toolMs: number;
  /**
   * What the server adds on top of `toolMs` for the result to arrive: the reboot after kexec or
   * `--rollback --reboot`, the commit gate, reconnecting.
   */
  returnMs: number;
}

/** `fleet --getkey`, run before every check, apply and rollback; part of that kind's `toolMs`. */
export const GET_KEY_TIMEOUT_MS = 2 * MINUTE;

export const COMMAND_TIMEOUTS: Readonly<Record<CommandKind, CommandTimeout>> = {
  // os-update --check reads 10 MiB of the stream and hashes 10 MiB of the root.
  check: { toolMs: 5 * MINUTE, returnMs: 1 * MINUTE },
  // Streams a whole root partition (about 1.2 GiB) from one update server, then kexec; the agent
  // of the new boot reports after the commit gate (which hashes the slot) and EOS's commit reboot.
  apply: { toolMs: 60 * MINUTE, returnMs: 20 * MINUTE },
  rollback: { toolMs: 5 * MINUTE, returnMs: 15 * MINUTE },
  'flake.register': { toolMs: 15 * MINUTE, returnMs: 1 * MINUTE },
  'flake.remove': { toolMs: 15 * MINUTE, returnMs: 1 * MINUTE },
  // Pulls a container or VM image of any size.
  'flake.pull': { toolMs: 2 * 60 * MINUTE, returnMs: 1 * MINUTE },
  'inventory.refresh': { toolMs: 1 * MINUTE, returnMs: 1 * MINUTE },
};

/** How long after delivery the server waits for a result of `kind`. */
export function commandResultDeadlineMs(kind: CommandKind): number {
  const t = COMMAND_TIMEOUTS[kind];
  return t.toolMs + t.returnMs;
}

/**
 * How long a command may wait undelivered (device offline) before it expires; an operator who
 * asked for a check does not want it to run three weeks later.
 */
export const QUEUED_COMMAND_TTL_MS = 24 * 60 * MINUTE;
