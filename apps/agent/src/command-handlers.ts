// What each command kind does on the device. Pure decisions (like the post-boot verdict) are
// separate functions so every outcome can be tested without rebooting anything.
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { COMMAND_TIMEOUTS, GET_KEY_TIMEOUT_MS } from '@eos-fleet/shared/command-timeouts';
import { type RootSlot } from '@eos-fleet/shared/domain';
import {
  type ApplyParams,
  type CheckParams,
  type Command,
  type CommandErrorCode,
  escapeUnstorableText,
  type Inventory,
  type ProgressPhase,
  type ResultData,
} from '@eos-fleet/shared/protocol/index';
import { type Clock } from './clock';
import { flakePullArgv, flakeRegisterArgv, flakeRemoveArgv } from './flake-ctl';
import { contentMismatchOf, type GateReport } from './gate-report';
import { type InventoryCollector } from './inventory';
import {
  type JournalEntry,
  type Journal,
  type RebootExpectation,
  type StoredResult,
} from './journal';
import { DdProgressParser, KEXEC_LINE, osUpdateArgv, parseCheckOutput } from './os-update';
import { combinedOutput, type ProcessResult, type ProcessRunner } from './process-runner';

export type Verdict = Omit<StoredResult, 'finishedAt'>;
export type Outcome = { kind: 'finished'; verdict: Verdict } | { kind: 'awaiting_reboot' };

export interface ProgressUpdate {
  phase: ProgressPhase;
  bytesWritten?: number;
  totalBytes?: number;
  message?: string;
}

export interface HandlerContext {
  config: AgentConfig;
  clock: Clock;
  run: ProcessRunner;
  inventory: InventoryCollector;
  journal: Journal;
  entry: JournalEntry;
  progress(update: ProgressUpdate): void;
  /** Sends a fresh inventory now. */
  reportInventory(): Promise<void>;
  signal: AbortSignal;
  /**
   * Epoch ms by which every tool of this command must have ended: started + COMMAND_TIMEOUTS[kind]
   * .toolMs (see toolTimeoutMs). So a hung tool holds the one-at-a-time queue no longer than that.
   */
  toolsEndBy: number;
}

/** dd reports several times a second; the server needs far less. */
const PROGRESS_INTERVAL_MS = 1000;

const otherSlot = (slot: RootSlot): RootSlot =>
  slot === 'p.lxreadonly' ? 'p.lxrootclone1' : 'p.lxreadonly';

/** When a command of `kind` that starts now must have its tools finished (its kind's toolMs). */
export function toolsEndBy(kind: keyof typeof COMMAND_TIMEOUTS, clock: Clock): number {
  return clock.now().getTime() + COMMAND_TIMEOUTS[kind].toolMs;
}

/** Timeout for the next tool run: what is left of the command's time, and at most `capMs`. */
function toolTimeoutMs(ctx: HandlerContext, capMs = Number.POSITIVE_INFINITY): number {
  return Math.max(0, Math.min(capMs, ctx.toolsEndBy - ctx.clock.now().getTime()));
}

export const succeeded = (data?: ResultData, output?: string): Verdict => ({
  status: 'succeeded',
  ...(data ? { data } : {}),
  ...(output ? { output } : {}),
});

export const failed = (code: CommandErrorCode, message: string, output?: string): Verdict => ({
  status: 'failed',
  // Messages quote paths and tool output: keep them text the server can store.
  error: { code, message: escapeUnstorableText(message.slice(0, 4096)) },
  ...(output ? { output } : {}),
});

const finished = (verdict: Verdict): Outcome => ({ kind: 'finished', verdict });

function exitText(result: ProcessResult): string {
  if (result.spawnError) return result.spawnError;
  if (result.timedOut) return 'timed out and killed';
  return result.signal ? `killed by ${result.signal}` : `exit code ${String(result.exitCode)}`;
}

async function runChecked(
  ctx: HandlerContext,
  argv: string[],
  capMs?: number,
): Promise<{ ok: boolean; result: ProcessResult }> {
  const result = await ctx.run(argv, { signal: ctx.signal, timeoutMs: toolTimeoutMs(ctx, capMs) });
  return { ok: result.exitCode === 0 && !result.spawnError, result };
}

/** `fleet --getkey` provides /run/id_fleet, which lives on tmpfs and is gone after every boot. */
async function fetchKey(ctx: HandlerContext): Promise<Verdict | null> {
  ctx.progress({ phase: 'preparing', message: 'fleet --getkey' });
  const { ok, result } = await runChecked(
    ctx,
    osUpdateArgv.getKey(ctx.config.paths.fleet),
    GET_KEY_TIMEOUT_MS,
  );
  return ok
    ? null
    : failed(
        'key_unavailable',
        `fleet --getkey failed: ${exitText(result)}`,
        combinedOutput(result),
      );
}

async function runCheck(ctx: HandlerContext, params: CheckParams) {
  ctx.progress({ phase: 'checking' });
  const result = await ctx.run(osUpdateArgv.check(ctx.config.paths.osUpdate, params), {
    signal: ctx.signal,
    timeoutMs: toolTimeoutMs(ctx),
  });
  return { outcome: parseCheckOutput(result.stdout), result };
}

async function check(ctx: HandlerContext, params: CheckParams): Promise<Outcome> {
  const keyFailure = await fetchKey(ctx);
  if (keyFailure) return finished(keyFailure);
  const { outcome, result } = await runCheck(ctx, params);
  if (!outcome.ok)
    return finished(
      failed('check_failed', `${outcome.reason} (${exitText(result)})`, combinedOutput(result)),
    );
  const { ok: _ok, ...data } = outcome;
  return finished(succeeded(data, combinedOutput(result)));
}

async function apply(ctx: HandlerContext, params: ApplyParams): Promise<Outcome> {
  if (ctx.clock.now().getTime() > Date.parse(params.deadline)) {
    return finished(
      failed(
        'deadline_exceeded',
        `the deadline ${params.deadline} has passed; nothing was written`,
      ),
    );
  }
  const before = await ctx.inventory.collect();
  if (before.profile === 'Static')
    return finished(failed('not_supported', 'the Static profile has no second slot'));
  if (before.activeSlot === null)
    return finished(failed('not_supported', 'cannot tell which root slot is running'));
  if (before.rootPrefixHash === params.expectedRootPrefixHash) {
    return finished(
      succeeded(
        { rootPrefixHash: before.rootPrefixHash, activeSlot: before.activeSlot },
        'already running the expected image',
      ),
    );
  }
  const keyFailure = await fetchKey(ctx);
  if (keyFailure) return finished(keyFailure);
  const { outcome, result: checkResult } = await runCheck(ctx, params);
  if (!outcome.ok) {
    return finished(
      failed(
        'check_failed',
        `${outcome.reason} (${exitText(checkResult)})`,
        combinedOutput(checkResult),
      ),
    );
  }
  if (outcome.updateRootPrefixHash !== params.expectedRootPrefixHash) {
    // The update server replaced the image in place since the rollout pinned it (EOS hazard 1).
    return finished(
      failed(
        'image_mismatch',
        `the update server offers ${outcome.updateRootPrefixHash}, expected ${params.expectedRootPrefixHash}; nothing was written`,
      ),
    );
  }

  // os-update writes the whole stream even when it does not fit, leaving the slot half-written:
  // refuse before anything is written when the image is larger than the slot it goes to.
  const target = otherSlot(before.activeSlot);
  const targetBytes = await ctx.inventory.slotSizeOf(target);
  if (targetBytes !== null && targetBytes < params.expectedRootBytes) {
    return finished(
      failed(
        'apply_failed',
        `the image's root partition is ${params.expectedRootBytes} bytes, ${target} holds ${targetBytes}; nothing was written`,
      ),
    );
  }

  const reboot: RebootExpectation = {
    expectedRootPrefixHash: params.expectedRootPrefixHash,
    expectedRootSha256: params.expectedRootSha256,
    expectedRootBytes: params.expectedRootBytes,
    previousSlot: before.activeSlot,
    previousBootId: before.bootId,
    deadline: params.deadline,
  };
  await ctx.journal.update(ctx.entry.id, { state: 'awaiting_reboot', reboot });

  ctx.progress({ phase: 'downloading', bytesWritten: 0 });
  let lastProgressAt = 0;
  const dd = new DdProgressParser((bytes) => {
    const now = ctx.clock.now().getTime();
    if (now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
    lastProgressAt = now;
    ctx.progress({ phase: 'downloading', bytesWritten: bytes });
  });
  let stdoutSoFar = '';
  // Bounded by the command's deadline (past it the server has given up on this apply) and by the
  // kind's toolMs, whichever comes first: a stalled stream stops there.
  const untilDeadline = Date.parse(params.deadline) - ctx.clock.now().getTime();
  const result = await ctx.run(osUpdateArgv.apply(ctx.config.paths.osUpdate, params), {
    signal: ctx.signal,
    timeoutMs: toolTimeoutMs(ctx, untilDeadline),
    onStderr: (chunk) => dd.push(chunk),
    onStdout: (chunk) => {
      stdoutSoFar += chunk;
      if (stdoutSoFar.includes(KEXEC_LINE)) {
        stdoutSoFar = '';
        ctx.progress({
          phase: 'rebooting',
          ...(dd.bytesWritten !== null ? { bytesWritten: dd.bytesWritten } : {}),
        });
      } else if (stdoutSoFar.length > 4096) {
        stdoutSoFar = stdoutSoFar.slice(-256);
      }
    },
  });
  if (ctx.signal.aborted) return { kind: 'awaiting_reboot' };
  if (result.timedOut) {
    const bound =
      ctx.clock.now().getTime() >= Date.parse(params.deadline)
        ? `the deadline ${params.deadline}`
        : `its limit of ${COMMAND_TIMEOUTS.apply.toolMs / 60_000} min`;
    return finished(
      failed(
        'deadline_exceeded',
        `os-update --apply was still running at ${bound}: killed before kexec, the old slot stays`,
        combinedOutput(result),
      ),
    );
  }
  // On a device os-update --apply never returns: kexec ends every process. Returning means it
  // stopped before kexec (e.g. the image does not fit the slot), whatever the exit code says.
  return finished(
    failed(
      'apply_failed',
      `os-update --apply returned without kexec (${exitText(result)})`,
      combinedOutput(result),
    ),
  );
}

async function rollback(ctx: HandlerContext): Promise<Outcome> {
  const before = await ctx.inventory.collect();
  if (before.profile === 'Static')
    return finished(failed('not_supported', 'the Static profile has no second slot'));
  if (before.activeSlot === null)
    return finished(failed('not_supported', 'cannot tell which root slot is running'));
  await ctx.journal.update(ctx.entry.id, {
    state: 'awaiting_reboot',
    reboot: { previousSlot: before.activeSlot, previousBootId: before.bootId },
  });
  ctx.progress({ phase: 'rebooting' });
  const rolled = await runChecked(ctx, osUpdateArgv.rollback(ctx.config.paths.osUpdate));
  if (ctx.signal.aborted) return { kind: 'awaiting_reboot' };
  if (!rolled.ok) {
    return finished(
      failed(
        'rollback_failed',
        `os-update --rollback --reboot failed: ${exitText(rolled.result)}`,
        combinedOutput(rolled.result),
      ),
    );
  }
  // The reboot is under way; the agent after it decides from the slot it finds.
  return { kind: 'awaiting_reboot' };
}

async function flake(ctx: HandlerContext, argv: string[]): Promise<Outcome> {
  ctx.progress({ phase: 'running' });
  const { ok, result } = await runChecked(ctx, argv);
  await ctx.reportInventory();
  if (!ok)
    return finished(
      failed(
        'flake_failed',
        `${argv.slice(1, 3).join(' ')} failed: ${exitText(result)}`,
        combinedOutput(result),
      ),
    );
  return finished(succeeded(undefined, combinedOutput(result)));
}

export async function executeCommand(command: Command, ctx: HandlerContext): Promise<Outcome> {
  const flakeCtl = ctx.config.paths.flakeCtl;
  switch (command.kind) {
    case 'check':
      return check(ctx, command.params);
    case 'apply':
      return apply(ctx, command.params);
    case 'rollback':
      return rollback(ctx);
    case 'flake.register':
      return flake(ctx, flakeRegisterArgv(flakeCtl, command.params));
    case 'flake.remove':
      return flake(ctx, flakeRemoveArgv(flakeCtl, command.params));
    case 'flake.pull':
      return flake(ctx, flakePullArgv(flakeCtl, command.params));
    case 'inventory.refresh':
      await ctx.reportInventory();
      return finished(succeeded());
  }
}

export type AfterBoot = { kind: 'wait'; reason: string } | { kind: 'finished'; verdict: Verdict };

/**
 * The verdict on an apply or rollback journaled before a reboot, from what this boot looks like
 * (and, for an apply, the commit gate's report of the boot in between).
 * Apply: new slot with COMMIT_UPDATE on the cmdline => wait (the commit gate checks the whole
 * slot, then update_commit.service commits and reboots); new slot + expected hash + COMMIT_UPDATE
 * gone => succeeded; old slot => failed: content_mismatch when the gate refused this apply's slot
 * for its content, otherwise rolled_back (a power cycle, a boot failure, another gate check).
 */
export function decideAfterBoot(
  entry: Pick<JournalEntry, 'id' | 'kind' | 'reboot'>,
  now: Pick<Inventory, 'bootId' | 'activeSlot' | 'rootPrefixHash' | 'commitPending'>,
  gateReport: GateReport | null = null,
): AfterBoot {
  const reboot = entry.reboot;
  if (!reboot)
    return {
      kind: 'finished',
      verdict: failed('internal', 'journal entry lacks its reboot expectation'),
    };
  if (now.bootId === reboot.previousBootId) {
    // Same boot: the agent itself restarted, and systemd took os-update down with it. The
    // inactive slot may be half-written, but nothing boots it: the ESP still names this slot.
    return {
      kind: 'finished',
      verdict: failed(
        'interrupted',
        'the agent restarted before the device rebooted (the other slot may be half-written; it is not booted)',
      ),
    };
  }
  const where = {
    previousSlot: reboot.previousSlot,
    ...(now.activeSlot ? { activeSlot: now.activeSlot } : {}),
    ...(now.rootPrefixHash ? { rootPrefixHash: now.rootPrefixHash } : {}),
  };
  if (entry.kind === 'rollback') {
    return now.activeSlot !== null && now.activeSlot !== reboot.previousSlot
      ? { kind: 'finished', verdict: succeeded(where) }
      : {
          kind: 'finished',
          verdict: {
            ...failed('rollback_failed', 'the device booted the same slot again'),
            data: where,
          },
        };
  }
  if (now.activeSlot === reboot.previousSlot) {
    const mismatch = contentMismatchOf(gateReport, entry.id);
    if (mismatch !== null) {
      return {
        kind: 'finished',
        verdict: {
          ...failed(
            'content_mismatch',
            `the commit gate refused the new slot, back on ${reboot.previousSlot}: ${mismatch}`,
          ),
          data: where,
        },
      };
    }
    return {
      kind: 'finished',
      verdict: {
        ...failed(
          'rolled_back',
          `back on ${reboot.previousSlot} after the reboot: the new slot was not committed`,
        ),
        data: where,
      },
    };
  }
  // The first boot of the new slot: the commit gate decides (and hashes the whole slot, which
  // says more than the prefix); judging here would end the entry before the gate can find it.
  if (now.commitPending)
    return {
      kind: 'wait',
      reason: 'booted the new slot; waiting for the commit gate and the commit',
    };
  if (now.activeSlot === null) {
    return {
      kind: 'finished',
      verdict: failed(
        'verification_failed',
        'cannot tell which root slot is running after the reboot',
      ),
    };
  }
  if (now.rootPrefixHash !== reboot.expectedRootPrefixHash) {
    return {
      kind: 'finished',
      verdict: {
        ...failed(
          'verification_failed',
          `the new slot has root prefix hash ${String(now.rootPrefixHash)}, expected ${String(reboot.expectedRootPrefixHash)}`,
        ),
        data: where,
      },
    };
  }
  return { kind: 'finished', verdict: succeeded(where) };
}
