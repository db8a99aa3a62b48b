// Operator sign-in with better-auth: email + password (scrypt), database sessions in HttpOnly,
// SameSite=Strict cookies, its own origin check and rate limit on the auth endpoints. Sign-up is
// closed: operators are created by an admin (or the first start), never by themselves.
import type { Db } from '@eos-fleet/db';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { operatorMaySignIn } from '../services/operators/operator-may-sign-in';
import { MIN_PASSWORD_LENGTH } from '../services/operators/passwords';

export interface AuthOptions {
  db: Db;
  secret: string;
  baseUrl: string;
  trustedOrigins: BetterAuthOptions['trustedOrigins'];
}

export function createAuth({ db, secret, baseUrl, trustedOrigins }: AuthOptions) {
  return betterAuth({
    appName: 'EOS Fleet',
    baseURL: baseUrl,
    basePath: '/api/auth',
    secret,
    trustedOrigins,
    telemetry: { enabled: false },
    database: prismaAdapter(db, { provider: 'postgresql' }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: 128,
    },
    user: {
      modelName: 'operator',
      additionalFields: {
        role: { type: 'string', input: false, required: false },
        disabled: { type: 'boolean', input: false, required: false },
        mustChangePassword: { type: 'boolean', input: false, required: false },
      },
    },
    session: { expiresIn: 60 * 60 * 12, updateAge: 60 * 60 },
    rateLimit: {
      enabled: true,
      window: 60,
      max: 200,
      customRules: { '/sign-in/email': { window: 60, max: 30 } },
    },
    advanced: {
      useSecureCookies: baseUrl.startsWith('https://'),
      defaultCookieAttributes: { httpOnly: true, sameSite: 'strict' },
    },
    databaseHooks: {
      session: {
        create: {
          // a disabled operator's correct password still opens no session
          before: async (session) =>
            (await operatorMaySignIn({ db }, session.userId)) ? { data: session } : false,
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
