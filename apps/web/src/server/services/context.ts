import type { Db } from '@eos-fleet/db';
import type { OperatorRole } from '@eos-fleet/shared/domain';

/** Who did it: recorded with every change. */
export type Actor =
  | { type: 'operator'; id: string; label: string; role: OperatorRole }
  | { type: 'system'; label: string }
  | { type: 'device'; id: string; label: string }
  /** a call made with an API token: it acts with `role` (never above its creator's) */
  | { type: 'api_token'; id: string; label: string; role: OperatorRole; createdById: string };

/** What every service call gets: the database and the actor on whose behalf it runs. */
export interface ServiceContext {
  db: Db;
  actor: Actor;
  ipAddress?: string;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', label: 'system' };
