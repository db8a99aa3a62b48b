// Turns command frames into at most one execution per id. Delivery is at-least-once, the effect
// exactly-once: the id is journaled before the ack, a re-delivered id is answered from the
// journal (stored result, or another ack while it still runs), and commands run one at a time.
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import {
  type AgentFrame,
  type CommandFrame,
  type Inventory,
  parseCommand,
} from '@eos-fleet/shared/protocol/index';
import { type Clock } from './clock';
import { decideAfterBoot, executeCommand, failed, type ProgressUpdate, type Verdict } from './command-handlers';
import { ExclusiveRunner } from './exclusive-runner';
import { type InventoryCollector, inventoryFingerprint } from './inventory';
import { type Journal, type JournalEntry } from './journal';
import { type Logger } from './logger';
import { type ProcessRunner } from './process-runner';

export interface CommandProcessorDeps {
  config: AgentConfig;
  clock: Clock;
  run: ProcessRunner;
  journal: Journal;
  inventory: InventoryCollector;
  /** Puts a frame on the current connection; false when there is none (or not yet welcomed). */
  send(frame: AgentFrame): boolean;
  log: Logger;
}

export class CommandProcessor {
  private readonly runner = new ExclusiveRunner();
  private intake: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private lastInventory: string | null = null;
  private rebootWaits = new Map<string, string>();
  /** Counts welcomes; a result sent on one connection is sent once more on the next. */
  private connectionNumber = 0;
  private readonly sentOn = new Map<string, number>();
  private readonly sentAgain = new Set<string>();

  constructor(private readonly deps: CommandProcessorDeps) {}

  /**
   * After start: decide applies/rollbacks journaled before a reboot, fail commands a previous
   * agent process was running (their tool died with it), and queue those acked but not started.
   */
  async recover(): Promise<void> {
    const { journal } = this.deps;
    const now = await this.deps.inventory.collect();
    for (const entry of [...journal.all()]) {
      if (entry.state === 'awaiting_reboot') {
        await this.decide(entry, now);
      } else if (entry.state === 'running') {
        await this.finish(entry, failed('interrupted', 'the agent restarted while the command ran'));
      } else if (entry.state === 'received') {
        void this.schedule(entry.id);
      }
    }
  }

  private async decide(entry: JournalEntry, now: Inventory): Promise<void> {
    const decision = decideAfterBoot(entry, now);
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
    const next = this.intake.then(() => this.accept(frame)).catch((error: unknown) => {
      this.deps.log.error(`command ${frame.id}: ${(error as Error).message}`);
    });
    this.intake = next;
    return next;
  }

  private async accept(frame: CommandFrame): Promise<void> {
    const known = this.deps.journal.get(frame.id);
    if (known) {
      // Re-delivery: never run again. A finished command gets its stored result once more.
      if (known.state === 'done') this.sendResult(known);
      else this.deps.send({ type: 'ack', commandId: frame.id });
      return;
    }
    await this.deps.journal.put({
      id: frame.id,
      kind: frame.kind,
      params: frame.params,
      receivedAt: this.deps.clock.now().toISOString(),
      state: 'received',
      reported: false,
    });
    this.deps.send({ type: 'ack', commandId: frame.id });
    void this.schedule(frame.id);
  }

  private schedule(id: string): Promise<void> {
    return this.runner.run(() => this.execute(id)).catch((error: unknown) => {
      this.deps.log.error(`command ${id} crashed: ${(error as Error).stack ?? String(error)}`);
    });
  }

  private async execute(id: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const entry = this.deps.journal.get(id);
    if (!entry || entry.state !== 'received') return;
    const parsed = parseCommand(entry);
    if (!parsed.ok) {
      await this.finish(entry, failed(parsed.error.code, parsed.error.message));
      return;
    }
    const running = await this.deps.journal.update(id, { state: 'running' });
    this.deps.log.info(`command ${id}: ${entry.kind} started`);
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
        progress: (update) => this.sendProgress(id, update),
        reportInventory: () => this.reportInventory(true),
      });
    } catch (error) {
      outcome = { kind: 'finished' as const, verdict: failed('internal', (error as Error).message) };
    }
    if (outcome.kind === 'awaiting_reboot') {
      this.deps.log.info(`command ${id}: waiting for the reboot`);
      return;
    }
    const current = this.deps.journal.get(id) ?? running;
    await this.finish(current, outcome.verdict);
    if (entry.kind !== 'inventory.refresh') await this.reportInventory(false);
  }

  private async finish(entry: JournalEntry, verdict: Verdict): Promise<void> {
    const done = await this.deps.journal.finish(entry.id, { ...verdict, finishedAt: this.deps.clock.now().toISOString() });
    this.deps.log.info(`command ${entry.id}: ${entry.kind} ${verdict.status}${verdict.error ? ` (${verdict.error.code}: ${verdict.error.message})` : ''}`);
    this.sendResult(done);
  }

  private sendResult(entry: JournalEntry): void {
    const result = entry.result;
    if (!result) return;
    const sent = this.deps.send({
      type: 'result',
      commandId: entry.id,
      kind: entry.kind.slice(0, 64),
      status: result.status,
      ...(result.error ? { error: result.error } : {}),
      ...(result.output ? { output: result.output } : {}),
      ...(result.data ? { data: result.data } : {}),
      finishedAt: result.finishedAt,
    });
    if (sent) this.sentOn.set(entry.id, this.connectionNumber);
    if (sent && !entry.reported) {
      void this.deps.journal.update(entry.id, { reported: true }).catch((error: unknown) => {
        this.deps.log.warn(`journal: ${(error as Error).message}`);
      });
    }
  }

  private sendProgress(commandId: string, update: ProgressUpdate): void {
    this.deps.send({ type: 'progress', commandId, ...update });
  }

  /** After welcome: the inventory, results finished while offline, and reboot waits. */
  async onWelcome(): Promise<void> {
    this.connectionNumber += 1;
    this.lastInventory = null;
    await this.reportInventory(true);
    for (const entry of this.deps.journal.all()) {
      if (entry.state === 'done' && !entry.reported) this.sendResult(entry);
      else if (entry.state === 'done' && this.sentOn.get(entry.id) === this.connectionNumber - 1 && !this.sentAgain.has(entry.id)) {
        // Nothing confirms a result, and a gateway re-sends only unacked commands: a result that
        // went out just before the connection dropped may be lost, so it goes out once more.
        this.sentAgain.add(entry.id);
        this.sendResult(entry);
      }
      const wait = this.rebootWaits.get(entry.id);
      if (wait) this.sendProgress(entry.id, { phase: 'verifying', message: wait });
    }
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
  }

  idle(): Promise<void> {
    return this.intake.then(() => this.runner.idle());
  }
}
