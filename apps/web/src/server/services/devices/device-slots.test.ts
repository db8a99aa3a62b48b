import { describe, expect, it } from 'vitest';
import { inferInactiveSlot } from './device-slots';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

function command(
  kind: 'check' | 'apply' | 'rollback',
  state: string,
  data: Record<string, unknown> = {},
  extra: { wroteSlot?: boolean; runningWhenSent?: string | null; minute?: number } = {},
) {
  return {
    id: `${kind}-${extra.minute ?? 0}`,
    kind,
    state,
    result: { data },
    createdAt: at(extra.minute ?? 0),
    completedAt: state === 'downloading' ? null : at(extra.minute ?? 0),
    wroteSlot: extra.wroteSlot ?? false,
    runningWhenSent: extra.runningWhenSent ?? null,
  };
}

describe('what the inactive slot holds', () => {
  it('after a rollback, the slot it left holds what ran before it (from an earlier check)', () => {
    const view = inferInactiveSlot('p.lxrootclone1', [
      command(
        'rollback',
        'succeeded',
        { rootPrefixHash: A, activeSlot: 'p.lxreadonly', previousSlot: 'p.lxrootclone1' },
        { minute: 2 },
      ),
      command('check', 'succeeded', { currentRootPrefixHash: B }, { minute: 1 }),
    ]);
    expect(view).toMatchObject({ rootPrefixHash: B, knowledge: 'history' });
    expect(view.evidence).toContain('the rollback');
  });

  it('says "not recorded" when nothing tells what ran before the slot change', () => {
    const view = inferInactiveSlot('p.lxreadonly', [
      command('apply', 'succeeded', {
        rootPrefixHash: B,
        activeSlot: 'p.lxrootclone1',
        previousSlot: 'p.lxreadonly',
      }),
    ]);
    expect(view).toMatchObject({ rootPrefixHash: null, knowledge: 'unknown' });
    expect(view.evidence).toContain('not recorded');
  });

  it('an apply that failed before writing leaves the slot as it was; one that wrote does not', () => {
    const moved = command(
      'apply',
      'succeeded',
      { rootPrefixHash: B, activeSlot: 'p.lxrootclone1', previousSlot: 'p.lxreadonly' },
      { runningWhenSent: A },
    );
    expect(
      inferInactiveSlot('p.lxreadonly', [command('apply', 'failed', {}, { minute: 5 }), moved]),
    ).toMatchObject({ rootPrefixHash: A, knowledge: 'history' });
    expect(
      inferInactiveSlot('p.lxreadonly', [
        command('apply', 'rolled_back', {}, { minute: 5, wroteSlot: true }),
        moved,
      ]),
    ).toMatchObject({ rootPrefixHash: null, knowledge: 'overwritten' });
  });

  it('a device that left a slot without a recorded command: unknown', () => {
    // it ran B on the inactive slot p.lxrootclone1 after this apply, and is elsewhere now
    expect(
      inferInactiveSlot('p.lxrootclone1', [
        command('apply', 'succeeded', {
          rootPrefixHash: B,
          activeSlot: 'p.lxrootclone1',
          previousSlot: 'p.lxreadonly',
        }),
      ]),
    ).toMatchObject({ rootPrefixHash: null, knowledge: 'unknown' });
  });
});
