import { describe, expect, it } from 'vitest';
import { decideAfterBoot } from './command-handlers';
import { parseGateReport } from './gate-report';

const expected = 'e'.repeat(40);
const old = 'o'.repeat(40).replace(/o/g, '0');
const apply = {
  id: 'apply-7',
  kind: 'apply',
  reboot: { expectedRootPrefixHash: expected, previousSlot: 'p.lxreadonly' as const, previousBootId: 'boot-1' },
};

describe('outcome of an apply after the reboot', () => {
  it('succeeds on the new slot with the expected hash once COMMIT_UPDATE is gone', () => {
    expect(decideAfterBoot(apply, { bootId: 'boot-3', activeSlot: 'p.lxrootclone1', rootPrefixHash: expected, commitPending: false })).toEqual({
      kind: 'finished',
      verdict: { status: 'succeeded', data: { previousSlot: 'p.lxreadonly', activeSlot: 'p.lxrootclone1', rootPrefixHash: expected } },
    });
  });

  it('waits while the commit is pending', () => {
    expect(decideAfterBoot(apply, { bootId: 'boot-2', activeSlot: 'p.lxrootclone1', rootPrefixHash: expected, commitPending: true }).kind).toBe('wait');
  });

  it('fails as rolled back on the old slot (power cycle before commit)', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-2', activeSlot: 'p.lxreadonly', rootPrefixHash: old, commitPending: false });
    expect(decision).toMatchObject({ kind: 'finished', verdict: { status: 'failed', error: { code: 'rolled_back' } } });
  });

  it('waits on the first boot of the new slot even with another prefix hash: the commit gate decides', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-2', activeSlot: 'p.lxrootclone1', rootPrefixHash: old, commitPending: true });
    expect(decision.kind).toBe('wait');
  });

  it('fails as content_mismatch on the old slot when the commit gate refused this apply for its content', () => {
    const report = parseGateReport(
      'result=rollback\n' +
        'reason=content_mismatch: apply apply-7: sha256 of the first 1048576 bytes of /dev/vda3 is ' +
        `${'a'.repeat(64)}, expected ${'b'.repeat(64)}\n` +
        'boot_id=boot-2\ncmdline=root=PARTUUID=x COMMIT_UPDATE\nat=2026-12-01T22:00:00Z\n',
    );
    const now = { bootId: 'boot-3', activeSlot: 'p.lxreadonly' as const, rootPrefixHash: old, commitPending: false };
    const decision = decideAfterBoot(apply, now, report);
    expect(decision).toMatchObject({
      kind: 'finished',
      verdict: { status: 'failed', error: { code: 'content_mismatch' }, data: { activeSlot: 'p.lxreadonly', previousSlot: 'p.lxreadonly' } },
    });
    const message = decision.kind === 'finished' ? (decision.verdict.error?.message ?? '') : '';
    expect(message).toContain(`is ${'a'.repeat(64)}, expected ${'b'.repeat(64)}`);
    // A report about another apply (an earlier update) or another reason does not decide this one.
    const other = parseGateReport('result=rollback\nreason=content_mismatch: apply apply-70: sha256 ... differs\n');
    expect(decideAfterBoot(apply, now, other)).toMatchObject({ verdict: { error: { code: 'rolled_back' } } });
    const unhealthy = parseGateReport('result=rollback\nreason=agent not healthy within 300s: apply apply-7:\n');
    expect(decideAfterBoot(apply, now, unhealthy)).toMatchObject({ verdict: { error: { code: 'rolled_back' } } });
  });

  it('fails verification when the new slot has another hash', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-2', activeSlot: 'p.lxrootclone1', rootPrefixHash: old, commitPending: false });
    expect(decision).toMatchObject({ kind: 'finished', verdict: { error: { code: 'verification_failed' } } });
  });

  it('fails as interrupted when the boot is the same (the agent restarted, no reboot)', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-1', activeSlot: 'p.lxreadonly', rootPrefixHash: old, commitPending: false });
    expect(decision).toMatchObject({ kind: 'finished', verdict: { error: { code: 'interrupted' } } });
  });

  it('judges a rollback by the slot it finds', () => {
    const rollback = { id: 'rb-1', kind: 'rollback', reboot: { previousSlot: 'p.lxrootclone1' as const, previousBootId: 'b1' } };
    expect(decideAfterBoot(rollback, { bootId: 'b2', activeSlot: 'p.lxreadonly', rootPrefixHash: old, commitPending: false })).toMatchObject({
      verdict: { status: 'succeeded' },
    });
    expect(decideAfterBoot(rollback, { bootId: 'b2', activeSlot: 'p.lxrootclone1', rootPrefixHash: old, commitPending: false })).toMatchObject({
      verdict: { status: 'failed', error: { code: 'rollback_failed' } },
    });
  });
});
