// GNU dd (coreutils 9.x) statistics lines, byte for byte: the agent parses the bytes written from
// `dd status=progress` on stderr, so the testbed must print what the real dd prints.

const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
const IEC_PREFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** gnulib human_readable with autoscale, round-to-nearest, a space before the unit and a `B` suffix. */
export function humanBytes(amount: number, base: 1000 | 1024): string {
  const prefixes = base === 1000 ? SI_PREFIXES : IEC_PREFIXES;
  let value = amount;
  let exponent = 0;
  while (value >= base && exponent < prefixes.length - 1) {
    value /= base;
    exponent++;
  }
  let text: string;
  if (exponent === 0 && Number.isInteger(value)) {
    text = String(value);
  } else if (value < 10 && Number(value.toFixed(1)) < 10) {
    text = value.toFixed(1);
  } else {
    const rounded = Math.round(value);
    if (rounded >= base && exponent < prefixes.length - 1) {
      exponent++;
      text = '1.0';
    } else {
      text = String(rounded);
    }
  }
  return `${text} ${prefixes[exponent] ?? ''}B`;
}

/** `%g` with six significant digits, as C's printf prints it. */
export function formatG(value: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa = '0', exp = '0'] = value.toExponential(5).split('e');
    const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
    const expNumber = Number(exp);
    const sign = expNumber < 0 ? '-' : '+';
    return `${trimmed}e${sign}${String(Math.abs(expNumber)).padStart(2, '0')}`;
  }
  const fixed = value.toFixed(Math.max(0, 5 - exponent));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * One statistics line without its line end: `N bytes (SI, IEC) copied, T s, RATE/s`.
 * Progress lines show whole seconds; the final line shows `%g` seconds.
 */
export function transferLine(bytes: number, elapsedSeconds: number, progress: boolean): string {
  const si = humanBytes(bytes, 1000);
  const iec = humanBytes(bytes, 1024);
  const seconds = progress ? `${elapsedSeconds.toFixed(0)} s` : `${formatG(elapsedSeconds)} s`;
  const rate =
    elapsedSeconds > 0
      ? bytes === 0
        ? '0.0 kB/s'
        : `${humanBytes(bytes / elapsedSeconds, 1000)}/s`
      : 'Infinity B/s';
  if (/ B$/.test(si)) {
    return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'} copied, ${seconds}, ${rate}`;
  }
  if (/ B$/.test(iec)) return `${bytes} bytes (${si}) copied, ${seconds}, ${rate}`;
  return `${bytes} bytes (${si}, ${iec}) copied, ${seconds}, ${rate}`;
}

export interface RecordCounts {
  fullIn: number;
  partialIn: number;
  fullOut: number;
  partialOut: number;
}

/** The closing block dd prints on stderr (records in/out and the final transfer line). */
export function summaryLines(records: RecordCounts, bytes: number, elapsedSeconds: number): string {
  return (
    `${records.fullIn}+${records.partialIn} records in\n` +
    `${records.fullOut}+${records.partialOut} records out\n` +
    `${transferLine(bytes, elapsedSeconds, false)}\n`
  );
}

/** Parses bytes written from a dd stderr chunk (progress or final line); what the agent will do. */
export function parseDdBytes(stderrText: string): number | undefined {
  const matches = [...stderrText.matchAll(/(?:^|[\r\n])(\d+) bytes? (?:\([^)]*\) )?copied/g)];
  const last = matches.at(-1);
  return last?.[1] === undefined ? undefined : Number(last[1]);
}
