// An apply's write of the inactive slot as an operator reads it: how far (percent of what will be
// written), how fast, how long still. The agent reports dd's bytes written (coalesced on the row
// with the server's receive time); the total is the pinned version's root partition length when
// the device does not send one, and the rate counts from the moment the command entered
// `downloading` (its state-change event), so it is the average over the whole write so far.

export interface CommandProgress {
  phase: string;
  bytesWritten?: number;
  totalBytes?: number;
  message?: string;
  /** when the server received this report */
  at: string;
}

export interface CommandTransfer {
  bytesWritten: number;
  totalBytes: number | null;
  /** 0..100, null without a total */
  percent: number | null;
  /** average since the write began; null until two reports apart in time */
  bytesPerSecond: number | null;
  /** at that rate; null without a total or a rate */
  secondsLeft: number | null;
  startedAt: Date | null;
  reportedAt: Date;
}

interface StateChangeFacts {
  state: string | null;
  data: unknown;
  createdAt: Date;
}

function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

export function transferOf(
  progress: CommandProgress | null,
  params: unknown,
  stateChanges: readonly StateChangeFacts[],
): CommandTransfer | null {
  if (!progress || progress.phase !== 'downloading' || progress.bytesWritten === undefined)
    return null;
  const reportedAt = new Date(progress.at);
  if (Number.isNaN(reportedAt.getTime())) return null;
  const bytesWritten = progress.bytesWritten;
  const totalBytes =
    positiveInt(progress.totalBytes) ??
    positiveInt((params as { expectedRootBytes?: unknown } | null)?.expectedRootBytes);
  const start = stateChanges.findLast((change) => change.state === 'downloading');
  const startBytes =
    (start?.data as { bytesWritten?: unknown } | null)?.bytesWritten !== undefined
      ? Number((start?.data as { bytesWritten?: unknown }).bytesWritten) || 0
      : 0;
  const seconds = start ? (reportedAt.getTime() - start.createdAt.getTime()) / 1000 : 0;
  const bytesPerSecond =
    start && seconds > 0 && bytesWritten > startBytes
      ? (bytesWritten - startBytes) / seconds
      : null;
  const left = totalBytes === null ? null : Math.max(0, totalBytes - bytesWritten);
  return {
    bytesWritten,
    totalBytes,
    percent: totalBytes === null ? null : Math.min(100, (100 * bytesWritten) / totalBytes),
    bytesPerSecond,
    secondsLeft: left === null || bytesPerSecond === null ? null : left / bytesPerSecond,
    startedAt: start?.createdAt ?? null,
    reportedAt,
  };
}
