// /api/auth/*: the few better-auth endpoints the dashboard uses, and nothing else. Every other
// better-auth endpoint (update-user, change-password, sign-up, sessions, ...) answers 404: what
// changes an operator goes through our services, with their audit events and rules. Bodies are
// read here, bounded, before better-auth sees them; the client address is ours (client-address.ts)
// and reaches better-auth in a header only this server sets; sign-in runs past the throttle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '@eos-fleet/db';
import type { Auth } from '../auth/create-auth';
import { CLIENT_ADDRESS_HEADER } from '../auth/create-auth';
import {
  beginAttempt,
  settleAttempt,
  SIGN_IN_LIMITS,
  type AttemptLimits,
} from '../services/operators/auth-attempts';
import { BodyTooLargeError, readBody } from './read-body';

/** Sign-in bodies are an email and a password: 64 KiB is plenty and bounds what a stranger costs. */
export const MAX_AUTH_BODY = 64 * 1024;

/** method + path under /api/auth of every endpoint we serve */
const ALLOWED = new Set(['POST /sign-in/email', 'POST /sign-out', 'GET /get-session']);

export interface AuthRouteOptions {
  db: Db;
  auth: Auth;
  signInLimits?: AttemptLimits;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/** The request's headers for better-auth, with the client address only we may set. */
export function authHeaders(req: IncomingMessage, clientAddress: string): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === CLIENT_ADDRESS_HEADER) continue;
    // the body is handed over whole: its framing headers no longer apply
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  headers.set(CLIENT_ADDRESS_HEADER, clientAddress);
  return headers;
}

async function writeResponse(res: ServerResponse, response: Response) {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(body);
}

/** The email a sign-in body names, as better-auth will look it up; undefined when it names none. */
function signInAccount(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'email' in parsed) {
      const { email } = parsed;
      if (typeof email === 'string' && email.length > 0 && email.length <= 254)
        return email.toLowerCase();
    }
  } catch {
    // not JSON: better-auth refuses it without checking any password
  }
  return undefined;
}

export function createAuthRoute({ db, auth, signInLimits = SIGN_IN_LIMITS }: AuthRouteOptions) {
  /** `url`: the request's URL as the server parsed it, so better-auth routes what we checked */
  return async function handleAuth(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    clientAddress: string,
  ) {
    const endpoint = url.pathname.slice('/api/auth'.length).replace(/\/$/, '');
    if (!ALLOWED.has(`${req.method ?? 'GET'} ${endpoint}`))
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such auth endpoint' } });

    let body: Buffer | undefined;
    if (req.method === 'POST') {
      try {
        body = await readBody(req, MAX_AUTH_BODY);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        return sendJson(
          res,
          413,
          {
            error: {
              code: 'PAYLOAD_TOO_LARGE',
              message: `request body over ${MAX_AUTH_BODY} bytes`,
            },
          },
          { connection: 'close' },
        );
      }
    }
    // better-auth knows its own base URL; the Host header reaches it as a header, never parsed here
    const request = new Request(url.href, {
      method: req.method,
      headers: authHeaders(req, clientAddress),
      body: body && body.length > 0 ? new Uint8Array(body) : undefined,
    });

    if (endpoint !== '/sign-in/email') return writeResponse(res, await auth.handler(request));

    const account = body ? signInAccount(body) : undefined;
    // no email, no password check: better-auth answers 400 and nothing was guessed
    if (!account) return writeResponse(res, await auth.handler(request));
    const verdict = await beginAttempt(db, 'sign_in', { account, clientAddress }, signInLimits);
    if (!verdict.allowed) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      return sendJson(
        res,
        429,
        {
          code: 'TOO_MANY_ATTEMPTS',
          message: `Too many failed sign-ins. Try again in ${seconds} s.`,
        },
        { 'retry-after': String(seconds) },
      );
    }
    const response = await auth.handler(request);
    await settleAttempt(
      db,
      verdict.attemptId,
      response.status === 200 ? 'succeeded' : response.status === 401 ? 'failed' : 'not_a_guess',
      signInLimits,
    );
    return writeResponse(res, response);
  };
}
