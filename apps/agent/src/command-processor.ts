// Turns command frames into at most one execution per id. Delivery is at-least-once, the effect
// exactly-once: the id is journaled before the ack, a re-delivered id is answered from the
// journal (stored result, or another ack while it still runs), and commands run one at a time.
// A `cancel` drops a command that waits in the queue (it never runs) and is remembered for an id
// whose command has not arrived yet; results are kept until the server confirms them (ResultOutbox).
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { type CommandKind } from '@eos-fleet/shared/domain';
import {
  type AgentFrame,
  type CommandFrame,
  type ErrorFrame,
  type Inventory,
  parseCommand,
} from '@eos-fleet/shared/protocol/index';
import { type Clock } from './clock';
import {
  decideAfterBoot,
  executeCommand,
  failed,
  type ProgressUpdate,
  toolsEndBy,
  type Verdict,
} from './command-handlers';
import { ExclusiveRunner } from './exclusive-runner';
import { type GateReport, readGateReport } from './gate-report';
import { type InventoryCollector, inventoryFingerprint } from './inventory';
import { type Journal, type JournalEntry } from './journal';
import { type Logger } from './logger';
import { type ProcessRunner } from './process-runner';
import { ResultOutbox, type RetryPolicy } from './result-outbox';

export interface CommandProcessorDeps {
  config: AgentConfig;
  clock: Clock;
  run: ProcessRunner;
  journal: Journal;
  inventory: InventoryCollector;
  /** Puts a frame on the current connection; false when there is none (or not yet welcomed). */
  send(frame: AgentFrame): boolean;
  log: Logger;
  /** Re-sending unconfirmed results (default RESULT_RETRY: 2 s doubling to 60 s). */
  resultRetry?: RetryPolicy;
  random?: () => number;
}

const CANCELLED_MESSAGE = 'cancelled by the server before the device started it; it did not run';

export class CommandProcessor {
  private readonly runner = new ExclusiveRunner();
  private intake: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private lastInventory: string | null = null;
  private rebootWaits = new Map<string, string>();
  readonly outbox: ResultOutbox;

  constructor(private readonly deps: CommandProcessorDeps) {
    this.outbox = new ResultOutbox({
      journal: deps.journal,
      clock: deps.clock,
      log: deps.log,
      send: (frame) => deps.send(frame),
      ...(deps.resultRetry ? { retry: deps.resultRetry } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
  }

  /**
   * After start: decide applies/rollbacks journaled before a reboot, fail commands a previous
   * agent process was running (their tool died with it), and queue those acked but not started.
   */
  async recover(): Promise<void> {
    const { journal } = this.deps;
    const now = await this.deps.inventory.collect();
    const gateReport = await readGateReport(this.deps.config.paths.commitGateReport);
    for (const entry of [...journal.all()]) {
      if (entry.state === 'awaiting_reboot') {
        await this.decide(entry, now, gateReport);
      } else if (entry.state === 'running') {
        await this.finish(
          entry,
          failed('interrupted', 'the agent restarted while the command ran'),
        );
      } else if (entry.state === 'received') {
        void this.schedule(entry.id);
      }
    }
  }

  private async decide(
    entry: JournalEntry,
    now: Inventory,
    gateReport: GateReport | null,
  ): Promise<void> {
    const decision = decideAfterBoot(entry, now, gateReport);
    if (decision.kind === 'wait') {
      this.rebootWaits.set(entry.id, decision.reason);
      this.deps.log.info(`command ${entry.id} (${entry.kind}): ${decision.reason}`);
      return;
    }
    this.rebootWaits.delete(entry.id);
    await this.finish(entry, decision.verdict);
  }

  /** Handles one command frame from the server. Never throws. */
  onCommand(frame: CommandFrame): Promise<void> {
    const next = this.intake
      .then(() => this.accept(frame))
      .catch((error: unknown) => {
        this.deps.log.error(`command ${frame.id}: ${(error as Error).message}`);
      });
    this.intake = next;
    return next;
  }

  /** Handles one cancel frame, in order with the command frames. Never throws. */
  onCancel(commandId: string): Promise<void> {
    const next = this.intake
      .then(() => this.cancel(commandId))
      .catch((error: unknown) => {
        this.deps.log.error(`cancel ${commandId}: ${(error as Error).message}`);
      });
    this.intake = next;
    return next;
  }

  onResultStored(commandId: string): Promise<void> {
    return this.outbox.onStored(commandId).catch((error: unknown) => {
      this.deps.log.warn(`journal: ${(error as Error).message}`);
    });
  }

  onServerError(frame: ErrorFrame): Promise<void> {
    const { commandId } = frame;
    if (commandId === undefined) return Promise.resolve();
    return this.outbox.onError({ ...frame, commandId }).catch((error: unknown) => {
      this.deps.log.warn(`journal: ${(error as Error).message}`);
    });
  }

  private async accept(frame: CommandFrame): Promise<void> {
    const known = this.deps.journal.get(frame.id);
    if (known?.state === 'cancelled') {
      // The cancel overtook its command (reordered across reconnects): answer, never run.
      this.deps.send({ type: 'ack', commandId: frame.id });
      await this.finish(known, failed('cancelled', CANCELLED_MESSAGE), frame.kind);
      return;
    }
    if (known) {
      // Re-delivery: never run again. A finished command gets its stored result once more.
      if (known.state === 'done') await this.outbox.resend(known);
      else this.deps.send({ type: 'ack', commandId: frame.id });
      return;
    }
    await this.deps.journal.put({
      id: frame.id,
      kind: frame.kind,
      params: frame.params,
      receivedAt: this.deps.clock.now().toISOString(),
      state: 'received',
      confirmed: false,
    });
    this.deps.send({ type: 'ack', commandId: frame.id });
    void this.schedule(frame.id);
  }

  /**
   * Cancel honours only a command that has not started: queued => dropped with a `cancelled`
   * result; running, awaiting its reboot or finished => ignored (its real result is or was sent);
   * unknown => remembered, so that its command, should it still arrive, is answered as cancelled.
   */
  private async cancel(commandId: string): Promise<void> {
    const known = this.deps.journal.get(commandId);
    if (known === undefined) {
      this.deps.log.info(`cancel ${commandId}: no such command yet; it will not run if it arrives`);
      await this.deps.journal.put({
        id: commandId,
        kind: '',
        params: undefined,
        receivedAt: this.deps.clock.now().toISOString(),
        state: 'cancelled',
        confirmed: true,
      });
      return;
    }
    if (known.state === 'cancelled') return;
    if (known.state !== 'received') {
      this.deps.log.info(
        `cancel ${commandId}: ignored, the command is ${known.state === 'done' ? 'finished' : 'under way'}`,
      );
      return;
    }
    // Still queued: execute() finds it done and skips it.
    await this.finish(known, failed('cancelled', CANCELLED_MESSAGE));
  }

  private schedule(id: string): Promise<void> {
    return this.runner
      .run(() => this.execute(id))
      .catch((error: unknown) => {
        this.deps.log.error(`command ${id} crashed: ${(error as Error).stack ?? String(error)}`);
      });
  }

  private async execute(id: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const entry = this.deps.journal.get(id);
    if (!entry || entry.state !== 'received') return;
    const parsed = parseCommand({ kind: entry.kind, params: entry.params });
    if (!parsed.ok) {
      await this.finish(entry, failed(parsed.error.code, parsed.error.message));
      return;
    }
    const running = await this.deps.journal.update(id, { state: 'running' });
    this.deps.log.info(`command ${id}: ${entry.kind} started`);
    const kind: CommandKind = parsed.value.kind;
    let outcome;
    try {
      outcome = await executeCommand(parsed.value, {
        config: this.deps.config,
        clock: this.deps.clock,
        run: this.deps.run,
        inventory: this.deps.inventory,
        journal: this.deps.journal,
        entry: running,
        signal: this.abort.signal,
        toolsEndBy: toolsEndBy(kind, this.deps.clock),
        progress: (update) => this.sendProgress(id, update),
        reportInventory: () => this.reportInventory(true),
      });
    } catch (error) {
      outcome = {
        kind: 'finished' as const,
        verdict: failed('internal', (error as Error).message),
      };
    }
    if (outcome.kind === 'awaiting_reboot') {
      this.deps.log.info(`command ${id}: waiting for the reboot`);
      return;
    }
    const current = this.deps.journal.get(id) ?? running;
    await this.finish(current, outcome.verdict);
    if (entry.kind !== 'inventory.refresh') await this.reportInventory(false);
  }

  private async finish(entry: JournalEntry, verdict: Verdict, kind?: string): Promise<void> {
    const done = await this.deps.journal.finish(
      entry.id,
      { ...verdict, finishedAt: this.deps.clock.now().toISOString() },
      kind,
    );
    this.deps.log.info(
      `command ${entry.id}: ${done.kind} ${verdict.status}${verdict.error ? ` (${verdict.error.code}: ${verdict.error.message})` : ''}`,
    );
    this.outbox.send(done);
  }

  private sendProgress(commandId: string, update: ProgressUpdate): void {
    this.deps.send({ type: 'progress', commandId, ...update });
  }

  /** After welcome: the inventory, the results the server has not confirmed, and reboot waits. */
  async onWelcome(): Promise<void> {
    this.lastInventory = null;
    await this.reportInventory(true);
    this.outbox.onWelcome();
    for (const [id, wait] of this.rebootWaits)
      this.sendProgress(id, { phase: 'verifying', message: wait });
  }

  /** Sends the inventory when it changed since the last report (or always, with force). */
  async reportInventory(force: boolean): Promise<void> {
    const inventory = await this.deps.inventory.collect();
    const fingerprint = inventoryFingerprint(inventory);
    if (!force && fingerprint === this.lastInventory) return;
    if (this.deps.send({ type: 'inventory', inventory })) this.lastInventory = fingerprint;
  }

  /** Stops the running tool (agent shutdown); the journal keeps what must be decided later. */
  stop(): void {
    this.abort.abort();
    this.outbox.stop();
  }

  idle(): Promise<void> {
    return this.intake.then(() => this.runner.idle());
  }
}
