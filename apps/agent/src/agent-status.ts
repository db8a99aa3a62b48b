// The running agent's status for local health checks (e.g. a unit that lets EOS's
// update_commit.service commit a new slot only when the agent of this boot reached the server).
// Written to the state directory through the state store; the boot id inside makes a file left
// from an earlier boot harmless.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type StateStore } from './state-store';

const STATUS_FILE = 'status.json';

const agentStatusSchema = z.object({
  bootId: z.string(),
  pid: z.int(),
  agentVersion: z.string(),
  startedAt: z.string(),
  /** First pending/welcome of this process: the device holds a working key and reached the server. */
  handshakeAt: z.string().nullable(),
  deviceStatus: z.enum(['unknown', 'pending', 'accepted']),
});
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export async function writeAgentStatus(store: StateStore, status: AgentStatus): Promise<void> {
  await store.writeJson(STATUS_FILE, status, 0o644);
}

export async function readAgentStatus(store: StateStore): Promise<AgentStatus | null> {
  try {
    return await store.readJson(STATUS_FILE, agentStatusSchema);
  } catch {
    return null;
  }
}

export type Health = { healthy: true } | { healthy: false; reason: string };

/** Healthy: an agent started in this boot completed a handshake with the server. */
export function evaluateHealth(status: AgentStatus | null, currentBootId: string): Health {
  if (!status) return { healthy: false, reason: 'the agent has not started yet' };
  if (status.bootId !== currentBootId)
    return { healthy: false, reason: 'no agent has started in this boot yet' };
  if (status.handshakeAt === null)
    return { healthy: false, reason: 'the agent has not reached the server in this boot' };
  return { healthy: true };
}

export async function readBootId(path: string): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).trim() || 'unknown';
}
