import { describe, expect, it } from 'vitest';
import { DdProgressParser, EMPTY_STREAM_SHA1, osUpdateArgv, parseCheckOutput } from './os-update';

const a = '1'.repeat(40);
const b = '2'.repeat(40);

describe('os-update --check output', () => {
  it('recognises "no update"', () => {
    const stdout = `Current OS: ${a}  -\nUpdate OS : ${a}  -\nUpdate stream not different from current OS\n`;
    expect(parseCheckOutput(stdout)).toEqual({
      ok: true,
      currentRootPrefixHash: a,
      updateRootPrefixHash: a,
      updateAvailable: false,
    });
  });

  it('recognises "update available" (os-update exits 1 here too)', () => {
    expect(parseCheckOutput(`Current OS: ${a}  -\nUpdate OS : ${b}  -\n`)).toEqual({
      ok: true,
      currentRootPrefixHash: a,
      updateRootPrefixHash: b,
      updateAvailable: true,
    });
  });

  it('treats missing hashes, an empty stream and contradictions as errors', () => {
    expect(parseCheckOutput('ssh: Could not resolve hostname\n').ok).toBe(false);
    expect(parseCheckOutput(`Current OS: ${a}  -\n`).ok).toBe(false);
    expect(
      parseCheckOutput(`Current OS: ${a}  -\nUpdate OS : ${EMPTY_STREAM_SHA1}  -\n`),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/empty/) as unknown,
    });
    expect(
      parseCheckOutput(
        `Current OS: ${a}  -\nUpdate OS : ${b}  -\nUpdate stream not different from current OS\n`,
      ).ok,
    ).toBe(false);
  });

  it('builds argv with overrides before the action', () => {
    expect(
      osUpdateArgv.check('/usr/sbin/os-update', { server: 'u@h', imageName: 'EOS.x86_64-AB' }),
    ).toEqual(['/usr/sbin/os-update', '--server', 'u@h', '--read', 'EOS.x86_64-AB', '--check']);
    expect(osUpdateArgv.apply('/usr/sbin/os-update', {})).toEqual([
      '/usr/sbin/os-update',
      '--apply',
    ]);
  });
});

describe('dd progress', () => {
  it('follows \\r-separated records split across chunks', () => {
    const seen: number[] = [];
    const parser = new DdProgressParser((bytes) => seen.push(bytes));
    parser.push('12345678 bytes (12 MB, 12 MiB) copied, 1 s, 12 MB/s\r2469');
    parser.push('1356 bytes (25 MB, 24 MiB) copied, 2 s, 12 MB/s\r');
    parser.push('1200+0 records in\n1200+0 records out\n');
    parser.push('1258291200 bytes (1.3 GB, 1.2 GiB) copied, 99.1 s, 12.7 MB/s\n');
    expect(seen).toEqual([12345678, 24691356, 1258291200]);
    expect(parser.bytesWritten).toBe(1258291200);
  });
});
