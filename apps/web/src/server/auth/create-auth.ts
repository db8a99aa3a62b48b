// Operator sign-in with better-auth: email + password (scrypt), database sessions in HttpOnly,
// SameSite=Strict cookies, its own origin check. Sign-up is closed: operators are created by an
// admin (or the first start), never by themselves. Only the endpoints the HTTP server lets
// through (http/auth-route.ts) are reachable: sign-in, sign-out, get-session.
import type { Db } from '@eos-fleet/db';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { operatorMaySignIn } from '../services/operators/operator-may-sign-in';
import { MIN_PASSWORD_LENGTH } from '../services/operators/passwords';

/**
 * The client address as the HTTP server resolved it (trusted proxies only): the server strips
 * any incoming header of this name and sets its own, and better-auth reads only this one.
 */
export const CLIENT_ADDRESS_HEADER = 'x-eos-fleet-client-address';

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
    // a coarse per-process flood guard; sign-in guessing is throttled per client and per account
    // in PostgreSQL (services/operators/auth-attempts.ts)
    rateLimit: {
      enabled: true,
      window: 60,
      max: 200,
      customRules: { '/sign-in/email': { window: 60, max: 60 } },
    },
    advanced: {
      // our address as it is (the throttle and audit use the same): no /64 for IPv6
      ipAddress: { ipAddressHeaders: [CLIENT_ADDRESS_HEADER], ipv6Subnet: 128 },
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
