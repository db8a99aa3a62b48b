// Assembles the agent from its parts. Everything that touches the device (paths, clock, process
// runner) comes in through AgentDeps, so tests run the whole agent against temp dirs and stubs.
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { type Clock, systemClock } from './clock';
import { readBootId, writeAgentStatus, type AgentStatus } from './agent-status';
import { CommandProcessor } from './command-processor';
import { readCaFile } from './config';
import { AgentConnection } from './connection';
import { Identity } from './identity';
import { InventoryCollector } from './inventory';
import { Journal } from './journal';
import { type Logger, stderrLogger } from './logger';
import { type ProcessRunner, spawnProcess } from './process-runner';
import { type RetryPolicy } from './result-outbox';
import { StateStore } from './state-store';
import { AGENT_VERSION } from './version';

export interface AgentDeps {
  clock?: Clock;
  run?: ProcessRunner;
  log?: Logger;
  random?: () => number;
  sysBlockDir?: string;
  /** How unconfirmed results are re-sent (default RESULT_RETRY: 2 s doubling to 60 s). */
  resultRetry?: RetryPolicy;
}

export interface RunningAgent {
  identity: Identity;
  journal: Journal;
  connection: AgentConnection;
  processor: CommandProcessor;
  stop(): void;
}

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? stderrLogger;
  const ca = config.server.caFile ? await readCaFile(config.server.caFile) : undefined;
  const store = new StateStore(config.stateDir);
  await store.ensureDir();
  const identity = await Identity.loadOrCreate(store, clock);
  const journal = await Journal.load(store);
  const inventory = new InventoryCollector({
    config,
    clock,
    agentVersion: AGENT_VERSION,
    ...(deps.sysBlockDir ? { sysBlockDir: deps.sysBlockDir } : {}),
  });

  // The connection and the processor refer to each other; the processor sends through this.
  let connection: AgentConnection | null = null;
  const processor = new CommandProcessor({
    config,
    clock,
    run: deps.run ?? spawnProcess,
    journal,
    inventory,
    log,
    send: (frame) => connection?.send(frame) ?? false,
    ...(deps.resultRetry ? { resultRetry: deps.resultRetry } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  await processor.recover();

  let status: AgentStatus = {
    bootId: await readBootId(config.paths.bootId),
    pid: process.pid,
    agentVersion: AGENT_VERSION,
    startedAt: clock.now().toISOString(),
    handshakeAt: null,
    deviceStatus: 'unknown',
  };
  const updateStatus = (deviceStatus: AgentStatus['deviceStatus']): void => {
    if (status.deviceStatus === deviceStatus && status.handshakeAt !== null) return;
    status = {
      ...status,
      deviceStatus,
      handshakeAt: status.handshakeAt ?? clock.now().toISOString(),
    };
    writeAgentStatus(store, status).catch((error: unknown) =>
      log.warn(`status: ${(error as Error).message}`),
    );
  };
  await writeAgentStatus(store, status);

  connection = new AgentConnection({
    url: config.server.url,
    enrollmentToken: config.server.enrollmentToken,
    ca,
    identity,
    agentVersion: AGENT_VERSION,
    clock,
    log,
    reconnect: config.reconnect,
    ...(deps.random ? { random: deps.random } : {}),
    facts: () => inventory.collect(),
    onPending: () => updateStatus('pending'),
    onReady: () => {
      updateStatus('accepted');
      processor
        .onWelcome()
        .catch((error: unknown) => log.error(`after welcome: ${(error as Error).message}`));
    },
    onCommand: (frame) => void processor.onCommand(frame),
    onCancel: (commandId) => void processor.onCancel(commandId),
    onResultStored: (commandId) => void processor.onResultStored(commandId),
    onServerError: (frame) => void processor.onServerError(frame),
  });
  connection.start();

  let stopped = false;
  let cancelPoll = (): void => undefined;
  const poll = (): void => {
    cancelPoll = clock.setTimer(() => {
      if (stopped) return;
      processor
        .reportInventory(false)
        .catch((error: unknown) => log.warn(`inventory: ${(error as Error).message}`))
        .finally(poll);
    }, config.inventoryIntervalMs);
  };
  poll();

  return {
    identity,
    journal,
    connection,
    processor,
    stop() {
      stopped = true;
      cancelPoll();
      processor.stop();
      connection?.stop();
    },
  };
}
