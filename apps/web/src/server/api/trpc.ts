// tRPC: the request context and the procedure builders. Every procedure is one of
// publicProcedure, authedProcedure (signed-in operators only), permittedProcedure(permission)
// (operators or API tokens) or permittedSessionProcedure(permission); the last two answer
// FORBIDDEN for a role not in PERMISSIONS. Errors: a domain error keeps its code and words; bad input
// (zod, or a value the database refused) is BAD_REQUEST in words; anything else is
// INTERNAL_SERVER_ERROR with an id to quote and nothing of the cause, which the server logs under
// that id (http/app-server.ts).
import { randomBytes } from 'node:crypto';
import type { Db } from '@eos-fleet/db';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { describeIssues } from '@eos-fleet/shared/protocol/index';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import type { Auth } from '../auth/create-auth';
import type { ApiTokenPrincipal } from '../services/api-tokens/authenticate-api-token';
import type { Actor, ServiceContext } from '../services/context';
import type { ChangeHub } from '../services/events/change-hub';
import { AppError, databaseValueError, type AppErrorCode } from '../services/errors';
import { isDatabaseUnavailable } from '../services/health/database-unavailable';
import { installZodWords } from '../../lib/zod-words';
import { can, type Permission } from './permissions';

// zod's messages in words ("Must be a whole number"), the same the pages' forms show
installZodWords();

export interface SessionOperator {
  id: string;
  email: string;
  name: string;
  role: OperatorRole;
  disabled: boolean;
  mustChangePassword: boolean;
}

export interface TrpcContext {
  db: Db;
  auth: Auth;
  /** from the session cookie; null for a call made with an API token */
  operator: SessionOperator | null;
  sessionToken: string | null;
  /** from `Authorization: Bearer eosf_…`, already verified (http/app-server.ts) */
  apiToken?: ApiTokenPrincipal | null;
  ipAddress?: string;
  /** this process's live-update fan-out (absent for callers made in tests) */
  changes?: ChangeHub;
}

/** `openapi`: the procedure's REST route (docs/API.md); absent: tRPC only. */
export interface Meta extends OpenApiMeta {
  /** reachable while the operator still has to replace a one-time password */
  beforePasswordChange?: boolean;
}

const faultIds = new WeakMap<TRPCError, string>();

/** The id an unexpected failure is answered and logged with (the same for one error object). */
export function faultIdOf(error: TRPCError): string {
  let id = faultIds.get(error);
  if (!id) {
    id = randomBytes(6).toString('hex');
    faultIds.set(error, id);
  }
  return id;
}

function internalFault(cause: unknown): TRPCError {
  const fault = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'internal error', cause });
  fault.message = `internal error; see the server log, id ${faultIdOf(fault)}`;
  return fault;
}

const t = initTRPC
  .context<TrpcContext>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    // live-update streams (routers/live.ts): a ping every 15 s keeps proxies from cutting an idle
    // stream, and a client that hears nothing for 40 s reconnects by itself
    sse: {
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 40_000 },
    },
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause.flatten() : null;
      // never a stack trace to the browser, and nothing of an unexpected failure's cause (a
      // database message names tables and values): the last line for errors no middleware saw
      const { stack: _stack, ...data } = shape.data;
      const message =
        error.code === 'INTERNAL_SERVER_ERROR'
          ? `internal error; see the server log, id ${faultIdOf(error)}`
          : shape.message;
      // a domain error about one input field names it, so a form can show it there
      const field = error.cause instanceof AppError ? (error.cause.field ?? null) : null;
      return { ...shape, message, data: { ...data, zodError, field } };
    },
  });

const APP_TO_TRPC: Record<AppErrorCode, TRPCError['code']> = {
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
  BAD_REQUEST: 'BAD_REQUEST',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
};

/**
 * Domain errors become typed tRPC errors, bad input BAD_REQUEST in words; anything else is
 * INTERNAL_SERVER_ERROR with an id and without details.
 */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const { error } = result;
    const cause = error.cause;
    if (cause instanceof AppError) {
      throw new TRPCError({ code: APP_TO_TRPC[cause.code], message: cause.message, cause });
    }
    if (cause instanceof ZodError)
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: `Invalid input: ${describeIssues(cause)}`,
        cause,
      });
    if (isDatabaseUnavailable(cause)) throw databaseUnavailableError(cause);
    if (error.code !== 'INTERNAL_SERVER_ERROR') return result;
    const refusal = databaseValueError(cause);
    if (refusal)
      throw new TRPCError({ code: 'BAD_REQUEST', message: `Invalid input: ${refusal}.`, cause });
    throw internalFault(cause ?? error);
  }
  return result;
});

/** PostgreSQL frozen or gone: a 503 that says so, not an internal error. */
export function databaseUnavailableError(cause: unknown): TRPCError {
  return new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: 'The database is not answering; try again in a moment.',
    cause,
  });
}

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapAppErrors);

function sessionActor(operator: SessionOperator): Actor {
  return { type: 'operator', id: operator.id, label: operator.email, role: operator.role };
}

function signedInOperator(ctx: TrpcContext, meta: Meta | undefined): SessionOperator {
  const { operator } = ctx;
  if (!operator || operator.disabled) {
    if (ctx.apiToken)
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: 'An API token cannot do this: sign in as an operator.',
      });
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  }
  if (operator.mustChangePassword && !meta?.beforePasswordChange) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Choose a new password first.' });
  }
  return operator;
}

/**
 * A signed-in operator (a session cookie), never an API token: the account's own procedures and
 * the making of API tokens, so that a leaked token cannot mint itself a successor.
 */
export const authedProcedure = publicProcedure.use(({ ctx, meta, next }) => {
  const operator = signedInOperator(ctx, meta);
  const service: ServiceContext = {
    db: ctx.db,
    actor: sessionActor(operator),
    ipAddress: ctx.ipAddress,
  };
  return next({ ctx: { ...ctx, operator, role: operator.role, service } });
});

/** A signed-in operator or an API token (which acts with its role, as its own actor). */
const principalProcedure = publicProcedure.use(({ ctx, meta, next }) => {
  const { apiToken } = ctx;
  if (apiToken) {
    const actor: Actor = {
      type: 'api_token',
      id: apiToken.id,
      label: `API token ${apiToken.name}`,
      role: apiToken.role,
      createdById: apiToken.createdById,
    };
    const service: ServiceContext = { db: ctx.db, actor, ipAddress: ctx.ipAddress };
    return next({ ctx: { ...ctx, role: apiToken.role, service } });
  }
  const operator = signedInOperator(ctx, meta);
  const service: ServiceContext = {
    db: ctx.db,
    actor: sessionActor(operator),
    ipAddress: ctx.ipAddress,
  };
  return next({ ctx: { ...ctx, role: operator.role, service } });
});

function forbiddenUnless(role: OperatorRole, permission: Permission) {
  if (!can(role, permission)) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `Your role (${role}) may not do this (${permission}).`,
    });
  }
}

/** The permission table, enforced: for signed-in operators and API tokens alike. */
export function permittedProcedure(permission: Permission) {
  return principalProcedure.use(({ ctx, next }) => {
    forbiddenUnless(ctx.role, permission);
    return next();
  });
}

/** As permittedProcedure, but for signed-in operators only (API tokens are FORBIDDEN). */
export function permittedSessionProcedure(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    forbiddenUnless(ctx.role, permission);
    return next();
  });
}
