// The one HTTP server of a web process: better-auth under /api/auth, tRPC under /api/trpc, REST
// under /api/v1 with its OpenAPI document and reference page (rest-route.ts), /metrics, the
// device gateway's WebSocket upgrades (later), and Next.js for the pages. Next serves UI only:
// the API runs here, in plain Node, so there is one Prisma client and one auth instance a process.
//
// /api/trpc takes a session cookie (the browser) or `Authorization: Bearer eosf_…` (automation).
// A request with a bearer token is the token's alone: the cookie is not read, and a refused token
// is a 401, never a fall-back to the cookie. So the same-origin check, which guards cookie-borne
// requests against cross-site forgery, is not needed for it: a page on another site cannot set
// Authorization without a CORS preflight, which this server never grants, and a forged bearer
// cannot borrow the victim's cookie. Bearer tokens are not accepted by /api/auth nor the gateway.
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Db } from '@eos-fleet/db';
import { type TRPCError } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { appRouter } from '../api/root';
import {
  databaseUnavailableError,
  faultIdOf,
  type SessionOperator,
  type TrpcContext,
} from '../api/trpc';
import type { Auth } from '../auth/create-auth';
import type { Logger } from '../logger';
import {
  authenticateApiToken,
  type ApiTokenPrincipal,
} from '../services/api-tokens/authenticate-api-token';
import {
  API_TOKEN_LIMITS,
  beginAttempt,
  settleAttempt,
  type AttemptLimits,
} from '../services/operators/auth-attempts';
import { checkDatabase } from '../services/health/check-database';
import { isDatabaseUnavailable } from '../services/health/database-unavailable';
import type { ChangeHub } from '../services/events/change-hub';
import { AUDIT_EXPORT_PATH, handleAuditExport } from './audit-export-route';
import { authHeaders, createAuthRoute } from './auth-route';
import { clientAddressResolver } from './client-address';
import { registry as metricsRegistry } from '../metrics';
import { BodyTooLargeError, readBody } from './read-body';
import {
  createRestHandler,
  DOCS_CSP,
  DOCS_PATH,
  docsFile,
  OPENAPI_PATH,
  openApiDocument,
  REST_PREFIX,
} from './rest-route';
import { checkSameOrigin, isJsonBody } from './same-origin';

export interface AppServerOptions {
  db: Db;
  auth: Auth;
  logger: Logger;
  /** origins besides the request's own host that may call the API (the public URL) */
  allowedOrigins: ReadonlySet<string>;
  secure: boolean;
  /** proxies whose X-Forwarded-For is believed (EOS_FLEET_TRUSTED_PROXIES); none by default */
  trustedProxies?: readonly string[];
  /** the sign-in throttle's rules (tests shorten them) */
  signInLimits?: AttemptLimits;
  /** the throttle on refused bearer tokens (tests shorten it) */
  apiTokenLimits?: AttemptLimits;
  /** Next.js' request handler; absent in API-only tests */
  handlePage?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  handleUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** the bearer token Prometheus scrapes /metrics with (EOS_FLEET_METRICS_TOKEN); admin API tokens work too */
  metricsToken?: string;
  /** whether pages get a strict Content-Security-Policy (Next's dev mode needs eval) */
  production: boolean;
  /** the live-update fan-out that `live.changes` streams read (fleet-server.ts) */
  changes?: ChangeHub;
}

/** Pages anyone may load: the sign-in page and what it is built from. */
const PUBLIC_PATHS = [/^\/sign-in\/?$/, /^\/_next\//, /^\/favicon\.(ico|svg)$/, /^\/icon\.svg$/];
const MAX_API_BODY = 1024 * 1024;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The bearer token of a request; other schemes (a proxy's Basic) are not ours and are ignored. */
function bearerTokenOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header || !/^Bearer\b/i.test(header)) return null;
  // a Bearer header we cannot read is still a bearer request: refused, not ignored
  return BEARER.exec(header)?.[1] ?? '';
}

/** constant-time comparison of two secrets */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

function setSecurityHeaders(res: ServerResponse, production: boolean) {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader(
    'content-security-policy',
    [
      "default-src 'self'",
      `script-src 'self' 'unsafe-inline'${production ? '' : " 'unsafe-eval'"}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self'",
      "connect-src 'self' ws: wss:",
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
    ].join('; '),
  );
}

export function createAppServer(options: AppServerOptions): http.Server {
  const { db, auth, logger } = options;
  const clientAddress = clientAddressResolver(options.trustedProxies ?? []);
  const handleAuth = createAuthRoute({ db, auth, signInLimits: options.signInLimits });

  async function sessionOf(
    req: IncomingMessage,
  ): Promise<{ operator: SessionOperator; token: string } | null> {
    const session = await auth.api.getSession({ headers: authHeaders(req, clientAddress(req)) });
    if (!session) return null;
    const user = session.user as typeof session.user & Partial<SessionOperator>;
    return {
      token: session.session.token,
      operator: {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role ?? 'viewer',
        disabled: user.disabled ?? false,
        mustChangePassword: user.mustChangePassword ?? false,
      },
    };
  }

  /** The principal of a bearer request, or null when it was refused (and answered). */
  async function authenticateBearer(
    req: IncomingMessage,
    res: ServerResponse,
    token: string,
  ): Promise<ApiTokenPrincipal | null> {
    const address = clientAddress(req);
    const verdict = await authenticateApiToken(db, token, address);
    if (verdict.ok) return verdict.principal;
    if (verdict.guess) {
      const limits = options.apiTokenLimits ?? API_TOKEN_LIMITS;
      const attempt = await beginAttempt(
        db,
        'api_token',
        { account: verdict.tokenId ?? 'malformed', clientAddress: address },
        limits,
      );
      if (!attempt.allowed) {
        const seconds = Math.ceil(attempt.retryAfterMs / 1000);
        res.setHeader('retry-after', String(seconds));
        sendJson(res, 429, {
          error: {
            code: 'TOO_MANY_REQUESTS',
            message: `Too many refused API tokens from this address; try again in ${seconds} s.`,
          },
        });
        return null;
      }
      await settleAttempt(db, attempt.attemptId, 'failed', limits);
    }
    res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
    sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: verdict.reason } });
    return null;
  }

  async function handleTrpc(req: IncomingMessage, res: ServerResponse, path: string) {
    const bearer = bearerTokenOf(req);
    if (req.method === 'POST') {
      if (bearer === null) {
        const verdict = checkSameOrigin(req.headers, options.allowedOrigins, options.secure);
        if (!verdict.ok)
          return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: verdict.reason } });
      }
      if (!isJsonBody(req.headers)) {
        return sendJson(res, 415, {
          error: {
            code: 'UNSUPPORTED_MEDIA_TYPE',
            message: 'API requests must be application/json',
          },
        });
      }
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > MAX_API_BODY)
        return sendJson(res, 413, {
          error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' },
        });
    }
    const apiToken = bearer === null ? null : await authenticateBearer(req, res, bearer);
    if (bearer !== null && !apiToken) return;
    // live.changes answers a GET with a server-sent-event stream that lasts as long as the tab:
    // the adapter writes each event as it comes (nothing here buffers or compresses), and Node's
    // requestTimeout / headersTimeout bound only the receiving of the request, never a response
    // still streaming (server.timeout, the idle-socket limit, stays 0). tRPC's pings keep it busy.
    await nodeHTTPRequestHandler({
      req,
      res,
      path,
      router: appRouter,
      maxBodySize: MAX_API_BODY,
      createContext: () => contextOf(req, apiToken),
      onError: ({ error, path: procedure }) => logFault(error, procedure),
    });
  }

  /** The procedures' context: the API token's alone when there is one, else the session's. */
  async function contextOf(
    req: IncomingMessage,
    apiToken: ApiTokenPrincipal | null,
  ): Promise<TrpcContext> {
    if (apiToken)
      return {
        db,
        auth,
        operator: null,
        sessionToken: null,
        apiToken,
        ipAddress: clientAddress(req),
        changes: options.changes,
      };
    const session = await sessionOf(req).catch((error: unknown) => {
      throw isDatabaseUnavailable(error) ? databaseUnavailableError(error) : error;
    });
    return {
      db,
      auth,
      operator: session?.operator ?? null,
      sessionToken: session?.token ?? null,
      ipAddress: clientAddress(req),
      changes: options.changes,
    };
  }

  function logFault(error: TRPCError, procedure: string | undefined) {
    if (error.code === 'INTERNAL_SERVER_ERROR')
      logger.error(
        { err: error.cause ?? error, procedure, faultId: faultIdOf(error) },
        'tRPC procedure failed',
      );
  }

  const handleRestRoute = createRestHandler({ onError: logFault });
  const metricsToken = options.metricsToken ?? process.env.EOS_FLEET_METRICS_TOKEN ?? '';

  /** /metrics: for EOS_FLEET_METRICS_TOKEN or an admin API token, never anonymous. */
  async function handleMetrics(req: IncomingMessage, res: ServerResponse) {
    const bearer = bearerTokenOf(req);
    if (bearer === null) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, {
        error: { code: 'UNAUTHORIZED', message: 'Send Authorization: Bearer <metrics token>.' },
      });
    }
    if (!(metricsToken.length >= 16 && sameSecret(bearer, metricsToken))) {
      const apiToken = await authenticateBearer(req, res, bearer);
      if (!apiToken) return;
      if (apiToken.role !== 'admin')
        return sendJson(res, 403, {
          error: {
            code: 'FORBIDDEN',
            message: 'Metrics need an admin API token or the metrics token.',
          },
        });
    }
    const text = await metricsRegistry.metrics();
    res.writeHead(200, {
      'content-type': metricsRegistry.contentType,
      'cache-control': 'no-store',
    });
    res.end(text);
  }

  /**
   * REST (/api/v1): the same credentials, limits and errors as /api/trpc. Automation sends its
   * API token; the reference page may use the session cookie, and then a state-changing call must
   * pass the same-origin check.
   */
  async function handleRest(req: IncomingMessage, res: ServerResponse) {
    const bearer = bearerTokenOf(req);
    const method = req.method ?? 'GET';
    let body: unknown;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
      if (bearer === null) {
        const verdict = checkSameOrigin(req.headers, options.allowedOrigins, options.secure);
        if (!verdict.ok) return sendJson(res, 403, { code: 'FORBIDDEN', message: verdict.reason });
      }
      if (!isJsonBody(req.headers))
        return sendJson(res, 415, {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'API requests must be application/json',
        });
      let raw: Buffer;
      try {
        raw = await readBody(req, MAX_API_BODY);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        res.setHeader('connection', 'close');
        return sendJson(res, 413, {
          code: 'PAYLOAD_TOO_LARGE',
          message: `The request body is larger than ${MAX_API_BODY} bytes.`,
        });
      }
      try {
        body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(res, 400, {
          code: 'PARSE_ERROR',
          message: 'The request body is not valid JSON.',
        });
      }
    }
    const apiToken = bearer === null ? null : await authenticateBearer(req, res, bearer);
    if (bearer !== null && !apiToken) return;
    const answer = await handleRestRoute(req, res, await contextOf(req, apiToken), body);
    res.writeHead(answer.status, {
      ...answer.headers,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(answer.body);
  }

  /** The OpenAPI document and the reference page: for signed-in operators and API tokens. */
  async function handleDocs(req: IncomingMessage, res: ServerResponse, pathname: string) {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'GET only' });
    const bearer = bearerTokenOf(req);
    if (bearer !== null) {
      if (!(await authenticateBearer(req, res, bearer))) return;
    } else {
      const session = await sessionOf(req);
      if (!session || session.operator.disabled) {
        if (pathname === OPENAPI_PATH)
          return sendJson(res, 401, { code: 'UNAUTHORIZED', message: 'Sign in first.' });
        res.writeHead(303, { location: `/sign-in?next=${encodeURIComponent(pathname)}` });
        return res.end();
      }
    }
    if (pathname === OPENAPI_PATH) return sendJson(res, 200, openApiDocument());
    const file = await docsFile(pathname);
    if (!file) return sendJson(res, 404, { code: 'NOT_FOUND', message: 'no such file' });
    res.writeHead(200, {
      'content-type': file.type,
      'cache-control': 'no-cache',
      'content-security-policy': DOCS_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
    });
    res.end(file.content);
  }

  async function handlePage(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    search: string,
  ) {
    if (!options.handlePage)
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
    setSecurityHeaders(res, options.production);
    if (!PUBLIC_PATHS.some((pattern) => pattern.test(pathname))) {
      const session = await sessionOf(req);
      if (!session) {
        res.writeHead(303, { location: `/sign-in?next=${encodeURIComponent(pathname + search)}` });
        return res.end();
      }
      if (session.operator.mustChangePassword && pathname !== '/change-password') {
        res.writeHead(303, { location: '/change-password' });
        return res.end();
      }
    }
    await options.handlePage(req, res);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { pathname } = url;
    const route = async () => {
      if (pathname === '/healthz') {
        const database = await checkDatabase({ db });
        return database.ok
          ? sendJson(res, 200, { status: 'ok' })
          : sendJson(res, 503, { status: 'unavailable', reason: database.reason });
      }
      if (pathname.startsWith('/api/auth/')) {
        if (req.method === 'POST') {
          const verdict = checkSameOrigin(req.headers, options.allowedOrigins, options.secure);
          if (!verdict.ok)
            return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: verdict.reason } });
        }
        return handleAuth(req, res, url, clientAddress(req));
      }
      if (pathname.startsWith('/api/trpc/'))
        return handleTrpc(req, res, pathname.slice('/api/trpc/'.length));
      if (pathname === '/metrics') return handleMetrics(req, res);
      if (pathname.startsWith(REST_PREFIX)) return handleRest(req, res);
      if (
        pathname === OPENAPI_PATH ||
        pathname === DOCS_PATH ||
        pathname.startsWith(`${DOCS_PATH}/`)
      )
        return handleDocs(req, res, pathname);
      if (pathname === AUDIT_EXPORT_PATH)
        return handleAuditExport(req, res, url, {
          db,
          operator: (await sessionOf(req))?.operator ?? null,
        });
      if (pathname.startsWith('/api/'))
        return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such API route' } });
      return handlePage(req, res, pathname, url.search);
    };
    route().catch((error: unknown) => {
      const unavailable = isDatabaseUnavailable(error);
      if (unavailable) logger.warn({ url: req.url }, 'request failed: PostgreSQL is not answering');
      else logger.error({ err: error, url: req.url }, 'request failed');
      if (res.headersSent) res.destroy();
      else if (unavailable)
        sendJson(res, 503, {
          error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is not answering.' },
        });
      else
        sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'internal error' } });
    });
  });

  server.on('upgrade', (req, socket, head) => {
    if (options.handleUpgrade) options.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  return server;
}
