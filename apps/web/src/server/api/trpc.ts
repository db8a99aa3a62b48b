// tRPC: the request context and the procedure builders. Every procedure is one of
// publicProcedure, authedProcedure or permittedProcedure(permission); the last answers FORBIDDEN
// for a role not in PERMISSIONS.
import type { Db } from '@eos-fleet/db';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { Auth } from '../auth/create-auth';
import type { Actor, ServiceContext } from '../services/context';
import { AppError, type AppErrorCode } from '../services/errors';
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

const t = initTRPC
  .context<TrpcContext>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof ZodError ? error.cause.flatten() : null;
      // never a stack trace to the browser
      const { stack: _stack, ...data } = shape.data;
      return { ...shape, data: { ...data, zodError } };
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

/** Domain errors become typed tRPC errors; anything else stays INTERNAL_SERVER_ERROR without details. */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AppError) {
      throw new TRPCError({ code: APP_TO_TRPC[cause.code], message: cause.message, cause });
    }
    if (cause instanceof ZodError)
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid input', cause });
    if (isDatabaseUnavailable(cause)) throw databaseUnavailableError(cause);
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
