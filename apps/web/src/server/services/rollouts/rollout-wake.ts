// Waking the rollout scheduler: a change that may move a rollout on (created, an operator's action,
// one of its commands changing state) notifies ROLLOUT_WAKE_CHANNEL with the rollout's id inside
// the change's transaction (delivered on commit); the job runner LISTENs and ticks that rollout at
// once. The periodic tick stays the safety net (presence changes, a lost LISTEN connection).
export const ROLLOUT_WAKE_CHANNEL = 'eos_fleet_rollouts';

interface RawExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

export async function wakeRollouts(
  tx: RawExecutor,
  rolloutIds: Iterable<string | null | undefined>,
): Promise<void> {
  for (const id of new Set(rolloutIds))
    if (id) await tx.$executeRaw`SELECT pg_notify(${ROLLOUT_WAKE_CHANNEL}, ${id})`;
}
