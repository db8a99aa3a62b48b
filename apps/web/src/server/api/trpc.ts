// tRPC: the request context and the procedure builders. Every procedure is one of
// publicProcedure, authedProcedure or permittedProcedure(permission); the last answers FORBIDDEN
// for a role not in PERMISSIONS. Errors: a domain error keeps its code and words; bad input
// (zod, or a value the database refused) is BAD_REQUEST in words; anything else is
// INTERNAL_SERVER_ERROR with an id to quote and nothing of the cause, which the server logs under
// that id (http/app-server.ts).
import { randomBytes } from 'node:crypto';
import type { Db } from '@eos-fleet/db';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { describeIssues } from '@eos-fleet/shared/protocol/index';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Auth } from '../auth/create-auth';
import type { Actor, ServiceContext } from '../services/context';
import { AppError, databaseValueError, type AppErrorCode } from '../services/errors';
import { isDatabaseUnavailable } from '../services/health/database-unavailable';
import { can, type Permission } from './permissions';

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
  operator: SessionOperator | null;
  sessionToken: string | null;
  ipAddress?: string;
}

export interface Meta {
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
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause.flatten() : null;
      // never a stack trace to the browser, and nothing of an unexpected failure's cause (a
      // database message names tables and values): the last line for errors no middleware saw
      const { stack: _stack, ...data } = shape.data;
      const message =
        error.code === 'INTERNAL_SERVER_ERROR'
          ? `internal error; see the server log, id ${faultIdOf(error)}`
          : shape.message;
      return { ...shape, message, data: { ...data, zodError } };
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

export const authedProcedure = publicProcedure.use(({ ctx, meta, next }) => {
  const { operator } = ctx;
  if (!operator || operator.disabled)
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  if (operator.mustChangePassword && !meta?.beforePasswordChange) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Choose a new password first.' });
  }
  const actor: Actor = {
    type: 'operator',
    id: operator.id,
    label: operator.email,
    role: operator.role,
  };
  const service: ServiceContext = { db: ctx.db, actor, ipAddress: ctx.ipAddress };
  return next({ ctx: { ...ctx, operator, service } });
});

export function permittedProcedure(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!can(ctx.operator.role, permission)) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `Your role (${ctx.operator.role}) may not do this (${permission}).`,
      });
    }
    return next();
  });
}
