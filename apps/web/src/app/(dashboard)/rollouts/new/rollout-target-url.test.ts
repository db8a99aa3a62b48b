import { describe, expect, it } from 'vitest';
import {
  newRolloutHref,
  parsePrefilledTarget,
  targetOfFilter,
  type PrefilledTarget,
} from './rollout-target-url';

const A = '6d1f5a7e-0000-4000-8000-00000000000a';
const B = '6d1f5a7e-0000-4000-8000-00000000000b';

const parse = (href: string) => parsePrefilledTarget(new URL(href, 'http://x').searchParams);

describe("a new rollout's target in the address", () => {
  it('round-trips a device list, labels and an image name', () => {
    const targets: PrefilledTarget[] = [
      { kind: 'deviceIds', deviceIds: [A, B] },
      { kind: 'labels', labels: { site: 'berlin', ring: 'r=1' } },
      { kind: 'imageName', imageName: 'EOS.x86_64-AB' },
    ];
    for (const target of targets)
      expect(parse(newRolloutHref(target))).toEqual({ target, ignored: [] });
  });

  it('keeps an entry that is not an id in the list (the form marks it), once per id', () => {
    expect(parse(`/rollouts/new?device=${A.toUpperCase()}&device=nonsense&device=${A}`)).toEqual({
      target: { kind: 'deviceIds', deviceIds: [A, 'nonsense'] },
      ignored: [],
    });
  });

  it('says what it did not use: a second kind of target, a label without a value', () => {
    expect(parse(`/rollouts/new?device=${A}&label=site%3Dberlin`).ignored).toEqual([
      'label: a target is a device list or labels, not both',
    ]);
    expect(parse('/rollouts/new?label=canary&label=site%3Dberlin')).toEqual({
      target: { kind: 'labels', labels: { site: 'berlin' } },
      ignored: ['label=canary: a rollout targets key=value labels'],
    });
    expect(parse('/rollouts/new')).toEqual({ target: null, ignored: [] });
  });
});

describe('the rollout target of a Devices-table filter', () => {
  it('is the label target for key=value labels alone, the image target for the image alone', () => {
    expect(targetOfFilter({ labels: ['site=berlin', 'ring=r1'] })).toEqual({
      kind: 'labels',
      labels: { site: 'berlin', ring: 'r1' },
    });
    expect(targetOfFilter({ imageName: 'EOS.x86_64-AB' })).toEqual({
      kind: 'imageName',
      imageName: 'EOS.x86_64-AB',
    });
  });

  it('is none when the filter says more than a target can', () => {
    expect(targetOfFilter({})).toBeNull();
    expect(targetOfFilter({ labels: ['canary'] })).toBeNull();
    expect(targetOfFilter({ labels: ['site=berlin', 'site=prague'] })).toBeNull();
    expect(targetOfFilter({ labels: ['site=berlin'], online: true })).toBeNull();
    expect(targetOfFilter({ labels: ['site=berlin'], status: 'pending' })).toBeNull();
    expect(targetOfFilter({ q: 'sim' })).toBeNull();
  });
});
