// Password guessing, throttled per client, per account and per (client, account), in PostgreSQL so
// every web process sees the same counts. The rules keep an attacker from locking anyone else out:
// - one client guessing one account is locked out of that account quickly, with a doubling lockout;
// - one client guessing many accounts is locked out altogether;
// - an account guessed at from many clients is slowed down (one attempt per few seconds) for
//   clients that never signed in to it, never locked: a client that signed in to it before is
//   not slowed at all, and a correct password from another client keeps working.
// Each attempt is written as a failure BEFORE the password is checked (under an advisory lock per
// client and per account), so concurrent guesses cannot all slip past the same count; a success
// turns it into one afterwards.
import { createHash } from 'node:crypto';
import type { Db } from '@eos-fleet/db';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { Actor } from '../context';

/** `api_token`: a bearer token that was refused as a guess; the account is the token id it named */
export type AuthAttemptKind = 'sign_in' | 'password_change' | 'api_token';

export interface LockoutRule {
  /** failures within the window that start a lockout */
  failures: number;
  /** the first lockout; each further failure doubles it, up to maxLockoutMs */
  lockoutMs: number;
  maxLockoutMs: number;
}

export interface AttemptLimits {
  windowMs: number;
  /** one client on one account */
  pair: LockoutRule;
  /** one client over all accounts */
  client: LockoutRule;
  /** one account from clients that never signed in to it: a pace, not a lock */
  account: { failures: number; spacingMs: number };
  /** how long a successful sign-in makes a client known to an account */
  knownClientMs: number;
}

const MINUTE = 60_000;

export const SIGN_IN_LIMITS: AttemptLimits = {
  windowMs: 15 * MINUTE,
  pair: { failures: 5, lockoutMs: MINUTE, maxLockoutMs: 15 * MINUTE },
  client: { failures: 30, lockoutMs: MINUTE, maxLockoutMs: 15 * MINUTE },
  account: { failures: 20, spacingMs: 5_000 },
  knownClientMs: 30 * 24 * 60 * MINUTE,
};

/** Wrong current passwords in account.changePassword: per operator (whoever holds the session). */
export const PASSWORD_CHANGE_LIMITS: AttemptLimits = {
  windowMs: 15 * MINUTE,
  pair: { failures: 5, lockoutMs: 15 * MINUTE, maxLockoutMs: 60 * MINUTE },
  // many operators may share one address (an office): the operator is what is locked
  client: { failures: 50, lockoutMs: 15 * MINUTE, maxLockoutMs: 60 * MINUTE },
  account: { failures: 5, spacingMs: 15 * MINUTE },
  knownClientMs: 0,
};

/**
 * Bearer tokens refused as guesses, per client address: a valid token is never throttled (its
 * secret is 256 random bits: guessing is hopeless, and a script behind a busy NAT must not be
 * locked out by a neighbour), so only failures are written.
 */
export const API_TOKEN_LIMITS: AttemptLimits = {
  windowMs: 15 * MINUTE,
  pair: { failures: 10, lockoutMs: MINUTE, maxLockoutMs: 15 * MINUTE },
  client: { failures: 20, lockoutMs: MINUTE, maxLockoutMs: 15 * MINUTE },
  account: { failures: 50, spacingMs: 5_000 },
  knownClientMs: 0,
};

/** Failed attempts older than this are deleted; successes are kept for knownClientMs. */
const KEEP_FAILURES_MS = 24 * 60 * MINUTE;

export type LockoutScope = 'pair' | 'client' | 'account';

export type AttemptVerdict =
  | { allowed: true; attemptId: bigint }
  | { allowed: false; scope: LockoutScope; retryAfterMs: number };

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

interface Tally {
  failures: number;
  lastFailureAt: Date | null;
}

function lockoutEnd(tally: Tally, rule: LockoutRule): number {
  if (tally.failures < rule.failures || !tally.lastFailureAt) return 0;
  const doublings = Math.min(tally.failures - rule.failures, 20);
  return (
    tally.lastFailureAt.getTime() + Math.min(rule.lockoutMs * 2 ** doublings, rule.maxLockoutMs)
  );
}

async function tally(tx: Tx, where: Parameters<Tx['authAttempt']['aggregate']>[0]['where']) {
  const result = await tx.authAttempt.aggregate({
    where: { ...where, succeeded: false },
    _count: { _all: true },
    _max: { at: true },
  });
  return { failures: result._count._all, lastFailureAt: result._max.at };
}

async function tallies(
  tx: Tx,
  kind: AuthAttemptKind,
  account: string,
  clientAddress: string,
  limits: AttemptLimits,
  now: Date,
) {
  const windowStart = new Date(now.getTime() - limits.windowMs);
  const lastPairSuccess = await tx.authAttempt.findFirst({
    where: {
      kind,
      account,
      clientAddress,
      succeeded: true,
      at: { gt: new Date(now.getTime() - Math.max(limits.knownClientMs, limits.windowMs)) },
    },
    orderBy: { at: 'desc' },
    select: { at: true },
  });
  const pairSince =
    lastPairSuccess && lastPairSuccess.at > windowStart ? lastPairSuccess.at : windowStart;
  return {
    knownClient:
      lastPairSuccess !== null &&
      lastPairSuccess.at.getTime() > now.getTime() - limits.knownClientMs,
    pair: await tally(tx, { kind, account, clientAddress, at: { gt: pairSince } }),
    client: await tally(tx, { kind, clientAddress, at: { gt: windowStart } }),
    account: await tally(tx, { kind, account, at: { gt: windowStart } }),
  };
}

type Tallies = Awaited<ReturnType<typeof tallies>>;

function verdictOf(counts: Tallies, limits: AttemptLimits, now: number) {
  const ends: [LockoutScope, number][] = [
    ['pair', lockoutEnd(counts.pair, limits.pair)],
    ['client', lockoutEnd(counts.client, limits.client)],
  ];
  if (!counts.knownClient && counts.account.failures >= limits.account.failures) {
    const last = counts.account.lastFailureAt?.getTime() ?? 0;
    ends.push(['account', last + limits.account.spacingMs]);
  }
  const [scope, until] = ends.reduce((latest, end) => (end[1] > latest[1] ? end : latest));
  return until > now ? { scope, retryAfterMs: until - now } : null;
}

/** Advisory lock keys: one per client and per account, always taken in the same order. */
function lockKeys(kind: AuthAttemptKind, account: string, clientAddress: string): bigint[] {
  return [`${kind}:account:${account}`, `${kind}:client:${clientAddress}`]
    .map((key) => createHash('sha256').update(key).digest().readBigInt64BE(0))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * May this attempt go ahead? If so it is recorded (as a failure until `settleAttempt` says
 * otherwise) and its id returned.
 */
export async function beginAttempt(
  db: Db,
  kind: AuthAttemptKind,
  { account, clientAddress }: { account: string; clientAddress: string },
  limits: AttemptLimits,
): Promise<AttemptVerdict> {
  return db.$transaction(async (tx) => {
    for (const key of lockKeys(kind, account, clientAddress))
      await tx.$executeRaw`select pg_advisory_xact_lock(${key})`;
    const now = new Date();
    const refusal = verdictOf(
      await tallies(tx, kind, account, clientAddress, limits, now),
      limits,
      now.getTime(),
    );
    if (refusal) return { allowed: false as const, ...refusal };
    const attempt = await tx.authAttempt.create({
      data: { kind, account, clientAddress, succeeded: false, at: now },
      select: { id: true },
    });
    return { allowed: true as const, attemptId: attempt.id };
  });
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'not_a_guess';

const THROTTLE_ACTOR: Actor = { type: 'system', label: 'sign-in throttle' };

/**
 * Record how the attempt ended. A failure that starts a lockout (or the slow pace of an account)
 * writes an audit event, once per lockout and not per refused request.
 */
export async function settleAttempt(
  db: Db,
  attemptId: bigint,
  outcome: AttemptOutcome,
  limits: AttemptLimits,
) {
  if (outcome === 'not_a_guess') {
    await db.authAttempt.delete({ where: { id: attemptId } });
    return;
  }
  if (outcome === 'succeeded') {
    await db.authAttempt.update({ where: { id: attemptId }, data: { succeeded: true } });
    return;
  }
  const attempt = await db.authAttempt.findUnique({ where: { id: attemptId } });
  if (!attempt) return;
  const counts = await tallies(
    db,
    attempt.kind,
    attempt.account,
    attempt.clientAddress,
    limits,
    attempt.at,
  );
  const started: LockoutScope[] = [];
  if (counts.pair.failures === limits.pair.failures) started.push('pair');
  if (counts.client.failures === limits.client.failures) started.push('client');
  if (!counts.knownClient && counts.account.failures === limits.account.failures)
    started.push('account');
  if (started.length > 0 && attempt.kind === 'api_token') {
    await recordAuditEvent({ actor: THROTTLE_ACTOR, ipAddress: attempt.clientAddress }, db, {
      action: 'api_token.locked',
      targetType: 'api_token',
      targetId: attempt.account,
      data: {
        clientAddress: attempt.clientAddress,
        scopes: started,
        failures: counts.client.failures,
      },
    });
  } else if (started.length > 0) {
    const operatorId =
      attempt.kind === 'password_change'
        ? attempt.account
        : (
            await db.operator.findUnique({
              where: { email: attempt.account },
              select: { id: true },
            })
          )?.id;
    await recordAuditEvent({ actor: THROTTLE_ACTOR, ipAddress: attempt.clientAddress }, db, {
      action: attempt.kind === 'sign_in' ? 'sign_in.locked' : 'operator.password_change_locked',
      targetType: 'operator',
      targetId: operatorId,
      data: {
        account: attempt.account,
        clientAddress: attempt.clientAddress,
        scopes: started,
        failures: counts.pair.failures,
      },
    });
  }
  // now and then, not on every failure: a flood of guesses should not mean a flood of deletes
  if (Math.random() < 0.05) await pruneAttempts(db);
}

async function pruneAttempts(db: Db) {
  const now = Date.now();
  await db.authAttempt.deleteMany({
    where: {
      OR: [
        { succeeded: false, at: { lt: new Date(now - KEEP_FAILURES_MS) } },
        { succeeded: true, at: { lt: new Date(now - SIGN_IN_LIMITS.knownClientMs) } },
      ],
    },
  });
}
