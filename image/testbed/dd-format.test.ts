// The figures and messages below are what coreutils 9.1 `dd` and util-linux `getopt` printed on
// this machine for the same inputs.
import { describe, expect, it } from 'vitest';
import { formatG, humanBytes, parseDdBytes, summaryLines, transferLine } from './dd-format';
import { parseOsUpdateArgs } from './os-update';

describe('GNU dd statistics', () => {
  it.each([
    [1000, '1.0 kB', '1000 B'],
    [1023, '1.0 kB', '1023 B'],
    [1024, '1.0 kB', '1.0 KiB'],
    [5000, '5.0 kB', '4.9 KiB'],
    [99_999, '100 kB', '98 KiB'],
    [999_999, '1.0 MB', '977 KiB'],
    [1_047_552, '1.0 MB', '1023 KiB'],
    [10_485_760, '10 MB', '10 MiB'],
    [12_582_912, '13 MB', '12 MiB'],
    [1_258_291_200, '1.3 GB', '1.2 GiB'],
  ])('%i bytes are %s and %s', (bytes, si, iec) => {
    expect(humanBytes(bytes, 1000)).toBe(si);
    expect(humanBytes(bytes, 1024)).toBe(iec);
  });

  it('prints the final and the progress line as dd does', () => {
    expect(transferLine(0, 0.000077105, false)).toBe('0 bytes copied, 7.7105e-05 s, 0.0 kB/s');
    expect(transferLine(1, 0.000258635, false)).toBe('1 byte copied, 0.000258635 s, 3.9 kB/s');
    expect(transferLine(999, 0.000149861, false)).toBe('999 bytes copied, 0.000149861 s, 6.7 MB/s');
    expect(transferLine(1000, 0.000149661, false)).toBe(
      '1000 bytes (1.0 kB) copied, 0.000149661 s, 6.7 MB/s',
    );
    expect(transferLine(12_582_912, 0.0268099, false)).toBe(
      '12582912 bytes (13 MB, 12 MiB) copied, 0.0268099 s, 469 MB/s',
    );
    expect(transferLine(6_000_128, 1.66, true)).toBe(
      '6000128 bytes (6.0 MB, 5.7 MiB) copied, 2 s, 3.6 MB/s',
    );
    expect(formatG(6.77243)).toBe('6.77243');
    expect(
      summaryLines(
        { fullIn: 2048, partialIn: 0, fullOut: 2048, partialOut: 0 },
        1_048_576,
        0.0071023,
      ),
    ).toBe(
      '2048+0 records in\n2048+0 records out\n1048576 bytes (1.0 MB, 1.0 MiB) copied, 0.0071023 s, 148 MB/s\n',
    );
  });

  it('parses the bytes written from progress and final lines, as an agent reads stderr', () => {
    const stderr =
      '\r6000128 bytes (6.0 MB, 5.7 MiB) copied, 2 s, 3.6 MB/s\n17577+3 records in\n17578+1 records out\n9000000 bytes (9.0 MB, 8.6 MiB) copied, 2.48853 s, 3.6 MB/s\n';
    expect(parseDdBytes(stderr.slice(0, 55))).toBe(6_000_128);
    expect(parseDdBytes(stderr)).toBe(9_000_000);
    expect(parseDdBytes('999 bytes copied, 0.1 s, 10 kB/s\n')).toBe(999);
    expect(parseDdBytes('nothing yet')).toBeUndefined();
  });
});

describe('os-update option parsing (util-linux getopt, long options only)', () => {
  it('takes values after a space or an equals sign and unique prefixes', () => {
    expect(parseOsUpdateArgs(['--check', '--read', 'EOS', '--server=u@h', '--pk', 'k'])).toEqual({
      args: { check: true, read: 'EOS', server: 'u@h', pkey: 'k' },
    });
    expect(parseOsUpdateArgs(['--apply', 'stray', '--', '--commit'])).toEqual({
      args: { apply: true },
    });
  });

  it('refuses what getopt refuses, with its messages', () => {
    expect(parseOsUpdateArgs(['--re'])).toEqual({
      error: "os-update: option '--re' is ambiguous; possibilities: '--reboot' '--read'",
    });
    expect(parseOsUpdateArgs(['--check=yes'])).toEqual({
      error: "os-update: option '--check' doesn't allow an argument",
    });
    expect(parseOsUpdateArgs(['--pkey'])).toEqual({
      error: "os-update: option '--pkey' requires an argument",
    });
  });
});
