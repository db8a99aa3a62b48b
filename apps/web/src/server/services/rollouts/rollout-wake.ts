// Waking the rollout scheduler: a change that may move a rollout on (created, an operator's action,
// one of its commands changing state) notifies ROLLOUT_WAKE_CHANNEL with the rollout's id inside
// the change's transaction (delivered on commit); the job runner LISTENs and ticks that rollout at
// once. A device of a rollout connecting, going offline or reporting its inventory wakes it too
// (wakeRolloutsOfDevices). The periodic tick stays the safety net (a lost LISTEN connection).
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

/**
 * Wakes the rollouts that wait on these devices (scheduled, applying or soaking in them): one
 * statement for a whole flush of reports, whatever the number of devices.
 */
export async function wakeRolloutsOfDevices(
  db: RawExecutor,
  deviceIds: readonly string[],
): Promise<void> {
  if (!deviceIds.length) return;
  await db.$executeRaw`
    SELECT pg_notify(${ROLLOUT_WAKE_CHANNEL}, w."rolloutId"::text)
    FROM (
      SELECT DISTINCT rd."rolloutId" FROM rollout_device rd
      JOIN rollout r ON r.id = rd."rolloutId"
      WHERE rd."deviceId" = ANY(${deviceIds}::uuid[])
        AND rd.state IN ('scheduled', 'applying', 'soaking')
        AND r.state IN ('scheduled', 'running', 'paused', 'aborted', 'failed')
    ) w`;
}
