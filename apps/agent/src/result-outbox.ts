// Results the server has not confirmed. A result stays in the journal, unconfirmed, until the
// server answers `result_stored {commandId}`; until then it is re-sent on the same connection with
// capped, jittered backoff (2 s doubling to 60 s by default), and once more after every `welcome`.
// An `error {code: internal, commandId}` (the server's database is down) changes nothing: the
// retry stands. Any other error about that id (the server has no such command) ends the retries:
// sending it again cannot help.
import { Backoff } from '@eos-fleet/shared/backoff';
import {
  type AgentFrame,
  type ErrorFrame,
  escapeUnstorableText,
  type ResultFrame,
} from '@eos-fleet/shared/protocol/index';
import { type Clock } from './clock';
import { type Journal, type JournalEntry } from './journal';
import { type Logger } from './logger';

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

export const RESULT_RETRY: RetryPolicy = { initialMs: 2000, maxMs: 60_000 };

export interface ResultOutboxDeps {
  journal: Journal;
  clock: Clock;
  log: Logger;
  /** Puts a frame on the current connection; false when there is none (or not yet welcomed). */
  send(frame: AgentFrame): boolean;
  retry?: RetryPolicy;
  random?: () => number;
}

export function resultFrame(entry: JournalEntry): ResultFrame | null {
  const result = entry.result;
  if (!result) return null;
  return {
    type: 'result',
    commandId: entry.id,
    // The kind as the server sent it (maybe one this agent does not know), as text it can store.
    kind: escapeUnstorableText(entry.kind.slice(0, 64)),
    status: result.status,
    ...(result.error ? { error: result.error } : {}),
    ...(result.output ? { output: result.output } : {}),
    ...(result.data ? { data: result.data } : {}),
    finishedAt: result.finishedAt,
  };
}

export class ResultOutbox {
  private readonly retries = new Map<string, { backoff: Backoff; cancel: () => void }>();
  private stopped = false;

  constructor(private readonly deps: ResultOutboxDeps) {}

  /** Sends the result of a finished entry now, and keeps re-sending it until it is confirmed. */
  send(entry: JournalEntry): void {
    if (this.stopped || !this.sendNow(entry.id)) return;
    if (!entry.confirmed) this.scheduleRetry(entry.id);
  }

  /**
   * The server asks for a result it should have (a re-delivered command): it did not store it,
   * so the result is unconfirmed again.
   */
  async resend(entry: JournalEntry): Promise<void> {
    const current = entry.confirmed
      ? await this.deps.journal.update(entry.id, { confirmed: false })
      : entry;
    this.send(current);
  }

  /** A new connection is welcomed: every unconfirmed result goes out on it, retries start over. */
  onWelcome(): void {
    this.cancelRetries();
    for (const entry of this.deps.journal.unconfirmed()) this.send(entry);
  }

  async onStored(commandId: string): Promise<void> {
    this.cancelRetry(commandId);
    const entry = this.deps.journal.get(commandId);
    if (entry?.state !== 'done' || entry.confirmed) return;
    await this.deps.journal.update(commandId, { confirmed: true });
  }

  /** An error frame from the server about one of our commands. */
  async onError(frame: ErrorFrame & { commandId: string }): Promise<void> {
    const entry = this.deps.journal.get(frame.commandId);
    if (entry?.state !== 'done' || entry.confirmed) return;
    if (frame.code === 'internal') {
      // The server could not store it (PostgreSQL down): the scheduled retry sends it again.
      this.deps.log.warn(
        `result of ${frame.commandId}: the server could not store it (${frame.message}); retrying`,
      );
      return;
    }
    this.cancelRetry(frame.commandId);
    this.deps.log.warn(
      `result of ${frame.commandId}: refused by the server (${frame.code}: ${frame.message}); not sending it again`,
    );
    await this.deps.journal.update(frame.commandId, { confirmed: true });
  }

  /** Ids with a retry scheduled on the current connection. */
  pending(): string[] {
    return [...this.retries.keys()];
  }

  stop(): void {
    this.stopped = true;
    this.cancelRetries();
  }

  private sendNow(commandId: string): boolean {
    const entry = this.deps.journal.get(commandId);
    const frame = entry ? resultFrame(entry) : null;
    return frame !== null && this.deps.send(frame);
  }

  private scheduleRetry(
    commandId: string,
    backoff = this.retries.get(commandId)?.backoff ?? this.newBackoff(),
  ): void {
    this.retries.get(commandId)?.cancel();
    const cancel = this.deps.clock.setTimer(() => {
      this.retries.delete(commandId);
      const entry = this.deps.journal.get(commandId);
      if (this.stopped || entry?.state !== 'done' || entry.confirmed) return;
      // Not connected: the next welcome sends it (and starts the retries over).
      if (this.sendNow(commandId)) this.scheduleRetry(commandId, backoff);
    }, backoff.next());
    this.retries.set(commandId, { backoff, cancel });
  }

  private newBackoff(): Backoff {
    return new Backoff({
      ...(this.deps.retry ?? RESULT_RETRY),
      ...(this.deps.random ? { random: this.deps.random } : {}),
    });
  }

  private cancelRetry(commandId: string): void {
    this.retries.get(commandId)?.cancel();
    this.retries.delete(commandId);
  }

  private cancelRetries(): void {
    for (const { cancel } of this.retries.values()) cancel();
    this.retries.clear();
  }
}
