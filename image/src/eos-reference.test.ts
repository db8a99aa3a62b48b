import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateEosReference } from './eos-reference';

const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

describe('locateEosReference', () => {
  it('resolves a relative EOS_REFERENCE_DIR from the repository root, not the working directory', () => {
    const found = locateEosReference({ EOS_REFERENCE_DIR: '../shared/eos-reference' });
    const expected = path.resolve(repositoryRoot, '../shared/eos-reference');
    if ('missing' in found) expect(found.missing).toContain(path.join(expected, 'os-update'));
    else expect(found).toEqual({ dir: expected, osUpdate: path.join(expected, 'os-update') });
  });

  it('says plainly what is missing and which setting pointed there', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'no-eos-reference-'));
    try {
      expect(locateEosReference({ EOS_REFERENCE_DIR: empty })).toEqual({
        missing: `EOS's os-update not found at ${path.join(empty, 'os-update')} (from EOS_REFERENCE_DIR=${empty})`,
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
