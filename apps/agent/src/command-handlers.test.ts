import { COMMAND_TIMEOUTS, GET_KEY_TIMEOUT_MS } from '@eos-fleet/shared/command-timeouts';
import { type Command } from '@eos-fleet/shared/protocol/index';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock } from './clock';
import { decideAfterBoot, executeCommand, toolsEndBy } from './command-handlers';
import { InventoryCollector } from './inventory';
import { Journal } from './journal';
import { type ProcessRunner } from './process-runner';
import { StateStore } from './state-store';
import { FakeDevice } from './testing/fake-device';
import { parseGateReport } from './gate-report';

const expected = 'e'.repeat(40);
const old = 'o'.repeat(40).replace(/o/g, '0');
const apply = {
  id: 'apply-7',
  kind: 'apply',
  reboot: {
    expectedRootPrefixHash: expected,
    previousSlot: 'p.lxreadonly' as const,
    previousBootId: 'boot-1',
  },
};

describe('outcome of an apply after the reboot', () => {
  it('succeeds on the new slot with the expected hash once COMMIT_UPDATE is gone', () => {
    expect(
      decideAfterBoot(apply, {
        bootId: 'boot-3',
        activeSlot: 'p.lxrootclone1',
        rootPrefixHash: expected,
        commitPending: false,
      }),
    ).toEqual({
      kind: 'finished',
      verdict: {
        status: 'succeeded',
        data: {
          previousSlot: 'p.lxreadonly',
          activeSlot: 'p.lxrootclone1',
          rootPrefixHash: expected,
        },
      },
    });
  });

  it('waits while the commit is pending', () => {
    expect(
      decideAfterBoot(apply, {
        bootId: 'boot-2',
        activeSlot: 'p.lxrootclone1',
        rootPrefixHash: expected,
        commitPending: true,
      }).kind,
    ).toBe('wait');
  });

  it('fails as rolled back on the old slot (power cycle before commit)', () => {
    const decision = decideAfterBoot(apply, {
      bootId: 'boot-2',
      activeSlot: 'p.lxreadonly',
      rootPrefixHash: old,
      commitPending: false,
    });
    expect(decision).toMatchObject({
      kind: 'finished',
      verdict: { status: 'failed', error: { code: 'rolled_back' } },
    });
  });

  it('waits on the first boot of the new slot even with another prefix hash: the commit gate decides', () => {
    const decision = decideAfterBoot(apply, {
      bootId: 'boot-2',
      activeSlot: 'p.lxrootclone1',
      rootPrefixHash: old,
      commitPending: true,
    });
    expect(decision.kind).toBe('wait');
  });

  it('fails as content_mismatch on the old slot when the commit gate refused this apply for its content', () => {
    const report = parseGateReport(
      'result=rollback\n' +
        'reason=content_mismatch: apply apply-7: sha256 of the first 1048576 bytes of /dev/vda3 is ' +
        `${'a'.repeat(64)}, expected ${'b'.repeat(64)}\n` +
        'boot_id=boot-2\ncmdline=root=PARTUUID=x COMMIT_UPDATE\nat=2026-12-01T22:00:00Z\n',
    );
    const now = {
      bootId: 'boot-3',
      activeSlot: 'p.lxreadonly' as const,
      rootPrefixHash: old,
      commitPending: false,
    };
    const decision = decideAfterBoot(apply, now, report);
    expect(decision).toMatchObject({
      kind: 'finished',
      verdict: {
        status: 'failed',
        error: { code: 'content_mismatch' },
        data: { activeSlot: 'p.lxreadonly', previousSlot: 'p.lxreadonly' },
      },
    });
    const message = decision.kind === 'finished' ? (decision.verdict.error?.message ?? '') : '';
    expect(message).toContain(`is ${'a'.repeat(64)}, expected ${'b'.repeat(64)}`);
    // A report about another apply (an earlier update) or another reason does not decide this one.
    const other = parseGateReport(
      'result=rollback\nreason=content_mismatch: apply apply-70: sha256 ... differs\n',
    );
    expect(decideAfterBoot(apply, now, other)).toMatchObject({
      verdict: { error: { code: 'rolled_back' } },
    });
    const unhealthy = parseGateReport(
      'result=rollback\nreason=agent not healthy within 300s: apply apply-7:\n',
    );
    expect(decideAfterBoot(apply, now, unhealthy)).toMatchObject({
      verdict: { error: { code: 'rolled_back' } },
    });
  });

  it('fails verification when the new slot has another hash', () => {
    const decision = decideAfterBoot(apply, {
      bootId: 'boot-2',
      activeSlot: 'p.lxrootclone1',
      rootPrefixHash: old,
      commitPending: false,
    });
    expect(decision).toMatchObject({
      kind: 'finished',
      verdict: { error: { code: 'verification_failed' } },
    });
  });

  it('fails as interrupted when the boot is the same (the agent restarted, no reboot)', () => {
    const decision = decideAfterBoot(apply, {
      bootId: 'boot-1',
      activeSlot: 'p.lxreadonly',
      rootPrefixHash: old,
      commitPending: false,
    });
    expect(decision).toMatchObject({
      kind: 'finished',
      verdict: { error: { code: 'interrupted' } },
    });
  });

  it('judges a rollback by the slot it finds', () => {
    const rollback = {
      id: 'rb-1',
      kind: 'rollback',
      reboot: { previousSlot: 'p.lxrootclone1' as const, previousBootId: 'b1' },
    };
    expect(
      decideAfterBoot(rollback, {
        bootId: 'b2',
        activeSlot: 'p.lxreadonly',
        rootPrefixHash: old,
        commitPending: false,
      }),
    ).toMatchObject({
      verdict: { status: 'succeeded' },
    });
    expect(
      decideAfterBoot(rollback, {
        bootId: 'b2',
        activeSlot: 'p.lxrootclone1',
        rootPrefixHash: old,
        commitPending: false,
      }),
    ).toMatchObject({
      verdict: { status: 'failed', error: { code: 'rollback_failed' } },
    });
  });
});

describe('one timeout table (COMMAND_TIMEOUTS)', () => {
  const MINUTE = 60_000;
  let device: FakeDevice;
  beforeEach(async () => {
    device = await FakeDevice.create();
  });
  afterEach(async () => {
    await device.remove();
  });

  /** Runs one command with a recording tool runner; every tool run takes `toolTakesMs` of clock time. */
  async function timeoutsOf(
    command: Command,
    toolTakesMs: number,
  ): Promise<{ argv: string; timeoutMs: number | undefined }[]> {
    let now = Date.parse('2026-12-01T12:00:00Z');
    const clock: Clock = { now: () => new Date(now), setTimer: () => () => undefined };
    const config = device.config('ws://127.0.0.1:1/agent/v1');
    const current = await device.slotHash('p.lxreadonly');
    const runs: { argv: string; timeoutMs: number | undefined }[] = [];
    const run: ProcessRunner = (argv, options = {}) => {
      runs.push({ argv: argv.slice(1).join(' '), timeoutMs: options.timeoutMs });
      now += toolTakesMs;
      const update = command.kind === 'apply' ? command.params.expectedRootPrefixHash : current;
      const stdout = argv.includes('--check')
        ? `Current OS: ${current}  -\nUpdate OS : ${update}  -\n`
        : '';
      return Promise.resolve({
        exitCode: argv.includes('--getkey') ? 0 : 1,
        signal: null,
        stdout,
        stderr: '',
      });
    };
    const journal = await Journal.load(new StateStore(config.stateDir));
    await new StateStore(config.stateDir).ensureDir();
    const entry = {
      id: 'c-1',
      kind: command.kind,
      params: command.params,
      receivedAt: 'now',
      state: 'running' as const,
      confirmed: false,
    };
    await journal.put(entry);
    await executeCommand(command, {
      config,
      clock,
      run,
      inventory: new InventoryCollector({ config, clock, agentVersion: 'test' }),
      journal,
      entry,
      progress: () => undefined,
      reportInventory: () => Promise.resolve(),
      signal: new AbortController().signal,
      toolsEndBy: toolsEndBy(command.kind, clock),
    });
    return runs;
  }

  it('bounds the key fetch by GET_KEY_TIMEOUT_MS and the whole check by its toolMs', async () => {
    expect(COMMAND_TIMEOUTS.check.toolMs).toBeGreaterThan(GET_KEY_TIMEOUT_MS);
    const runs = await timeoutsOf({ kind: 'check', params: {} }, 1 * MINUTE);
    expect(runs).toEqual([
      { argv: '--getkey', timeoutMs: GET_KEY_TIMEOUT_MS },
      // The check gets what the key fetch left of the kind's time, not a fresh allowance.
      { argv: '--check', timeoutMs: COMMAND_TIMEOUTS.check.toolMs - 1 * MINUTE },
    ]);
  });

  it('bounds an apply by its toolMs when the deadline is later, and by the deadline when it is sooner', async () => {
    const params = {
      expectedRootPrefixHash: 'e'.repeat(40),
      expectedRootSha256: 'f'.repeat(64),
      expectedRootBytes: 1024,
    };
    const start = Date.parse('2026-12-01T12:00:00Z');
    const far = await timeoutsOf(
      {
        kind: 'apply',
        params: { ...params, deadline: new Date(start + 5 * 60 * MINUTE).toISOString() },
      },
      0,
    );
    expect(far.find((r) => r.argv === '--apply')?.timeoutMs).toBe(COMMAND_TIMEOUTS.apply.toolMs);
    const soon = await timeoutsOf(
      {
        kind: 'apply',
        params: { ...params, deadline: new Date(start + 10 * MINUTE).toISOString() },
      },
      0,
    );
    expect(soon.find((r) => r.argv === '--apply')?.timeoutMs).toBe(10 * MINUTE);
  });

  it('gives a flake pull its own, longer bound', async () => {
    const runs = await timeoutsOf(
      { kind: 'flake.pull', params: { engine: 'podman', uri: 'registry.opensuse.org/x' } },
      0,
    );
    expect(runs).toEqual([
      {
        argv: 'podman pull --uri registry.opensuse.org/x',
        timeoutMs: COMMAND_TIMEOUTS['flake.pull'].toolMs,
      },
    ]);
  });
});
