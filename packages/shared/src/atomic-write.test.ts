import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the content with the given mode and leaves no temp file', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new', 0o640);
    expect(await readFile(file, 'utf8')).toBe('new');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps the old content and cleans up when the rename fails', async () => {
    const target = join(dir, 'sub');
    await writeFileAtomic(join(dir, 'sub-file'), 'x');
    // a directory cannot be replaced by a file: rename fails after the temp file was written
    await import('node:fs/promises').then((fs) => fs.mkdir(target));
    await expect(writeFileAtomic(target, 'y')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['sub', 'sub-file']);
  });
});
