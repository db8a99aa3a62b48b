import { describe, expect, it } from 'vitest';
import { decideAfterBoot } from './command-handlers';

const expected = 'e'.repeat(40);
const old = 'o'.repeat(40).replace(/o/g, '0');
const apply = {
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

  it('fails verification when the new slot has another hash', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-2', activeSlot: 'p.lxrootclone1', rootPrefixHash: old, commitPending: false });
    expect(decision).toMatchObject({ kind: 'finished', verdict: { error: { code: 'verification_failed' } } });
  });

  it('fails as interrupted when the boot is the same (the agent restarted, no reboot)', () => {
    const decision = decideAfterBoot(apply, { bootId: 'boot-1', activeSlot: 'p.lxreadonly', rootPrefixHash: old, commitPending: false });
    expect(decision).toMatchObject({ kind: 'finished', verdict: { error: { code: 'interrupted' } } });
  });

  it('judges a rollback by the slot it finds', () => {
    const rollback = { kind: 'rollback', reboot: { previousSlot: 'p.lxrootclone1' as const, previousBootId: 'b1' } };
    expect(decideAfterBoot(rollback, { bootId: 'b2', activeSlot: 'p.lxreadonly', rootPrefixHash: old, commitPending: false })).toMatchObject({
      verdict: { status: 'succeeded' },
    });
    expect(decideAfterBoot(rollback, { bootId: 'b2', activeSlot: 'p.lxrootclone1', rootPrefixHash: old, commitPending: false })).toMatchObject({
      verdict: { status: 'failed', error: { code: 'rollback_failed' } },
    });
  });
});
