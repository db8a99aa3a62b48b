// At most `perWindow` log lines per key (a device and a topic) per window: what one peer does can
// cost the log a few lines a minute, never megabytes. The first line of a new window says how many
// were kept back in the one before; the last line allowed in a window says that silence follows.
export interface LogSlot {
  /** lines of this key kept back since the last one written */
  suppressed: number;
  /** this is the last line of the key written in this window */
  last: boolean;
}

interface Window {
  startedAt: number;
  lines: number;
  suppressed: number;
}

/** Keys tracked at most; past it, windows that ended are forgotten. */
const MAX_KEYS = 10_000;

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly perWindow: number,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A slot to write one line under `key`, or null: stay silent. */
  take(key: string): LogSlot | null {
    const now = this.now();
    const current = this.windows.get(key);
    if (!current || now - current.startedAt >= this.windowMs) {
      if (!current && this.windows.size >= MAX_KEYS) this.forgetEnded(now);
      this.windows.set(key, { startedAt: now, lines: 1, suppressed: 0 });
      return { suppressed: current?.suppressed ?? 0, last: this.perWindow === 1 };
    }
    if (current.lines < this.perWindow) {
      current.lines++;
      return { suppressed: 0, last: current.lines === this.perWindow };
    }
    current.suppressed++;
    return null;
  }

  private forgetEnded(now: number) {
    for (const [key, window] of this.windows)
      if (now - window.startedAt >= this.windowMs) this.windows.delete(key);
  }
}

/** Fields for a limited line: the count kept back, and a note when silence follows. */
export function slotFields(slot: LogSlot, windowMs: number) {
  return {
    ...(slot.suppressed ? { suppressed: slot.suppressed } : {}),
    ...(slot.last
      ? { note: `further lines like this one are kept back for ${windowMs / 1000} s` }
      : {}),
  };
}
