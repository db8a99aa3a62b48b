// The automation API: the procedures with `openapi` meta as REST under /api/v1 (trpc-to-openapi),
// their OpenAPI document at /api/openapi.json, and a reference page at /api/docs (Swagger UI's
// own files from node_modules, nothing from a CDN). app-server.ts authenticates, checks the origin
// and reads the body (with its limit) before a request gets here; this module adapts the rest.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TRPCError } from '@trpc/server';
import { createOpenApiExpressMiddleware, generateOpenApiDocument } from 'trpc-to-openapi';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import type { ZodType } from 'zod';
import { appRouter } from '../api/root';
import type { TrpcContext } from '../api/trpc';

export const REST_PREFIX = '/api/v1/';
export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PATH = '/api/docs';

type Procedure = {
  _def: { type: string; meta?: { openapi?: { method: string } }; inputs: ZodType[] };
};

function restProcedures(): Procedure[] {
  return Object.values(appRouter._def.procedures as unknown as Record<string, Procedure>).filter(
    (procedure) => procedure._def.meta?.openapi,
  );
}

type Def = { type: string; innerType?: ZodType; shape?: Record<string, ZodType>; coerce?: boolean };
const defOf = (schema: ZodType) => schema._zod.def as unknown as Def;

/** optional / nullable / default wrappers off: the schema a query value is meant for */
function unwrapped(schema: ZodType): ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (!def.innerType || !['optional', 'nullable', 'default', 'prefault'].includes(def.type))
      return current;
    current = def.innerType;
  }
}

/**
 * trpc-to-openapi turns on zod's coercion in every input field it serves, in the shared schemas
 * themselves, so the tRPC procedures would coerce too: `Boolean("false")` is true and a missing
 * boolean false. Here coercion stays off for good (the flag ignores writes) and query strings are
 * typed by `typedQuery` instead, which reads "false" as false and leaves nonsense for zod to
 * refuse in words.
 */
function keepCoercionOff() {
  for (const procedure of restProcedures()) {
    for (const input of procedure._def.inputs) {
      const shape = defOf(unwrapped(input)).shape ?? {};
      for (const field of Object.values(shape)) {
        const def = defOf(unwrapped(field));
        const kept = Object.getOwnPropertyDescriptor(def, 'coerce')?.get !== undefined;
        if (['number', 'boolean', 'bigint', 'date'].includes(def.type) && !def.coerce && !kept)
          Object.defineProperty(def, 'coerce', { get: () => false, set: () => {} });
      }
    }
  }
}

/** A query string's values as the procedure's input fields expect them (one level deep). */
export function typedQuery(
  inputs: readonly ZodType[],
  params: URLSearchParams,
): Record<string, unknown> {
  const shape: Record<string, ZodType> = {};
  for (const input of inputs) Object.assign(shape, defOf(unwrapped(input)).shape ?? {});
  const query: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    const field = shape[key] ? unwrapped(shape[key]) : undefined;
    const type = field ? defOf(field).type : 'string';
    const typed = values.map((value) => {
      if (type === 'number' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
      if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
      return value;
    });
    query[key] = type === 'array' || typed.length > 1 ? typed : typed[0];
  }
  return query;
}

function procedureFor(method: string, pathname: string): Procedure | undefined {
  const route = pathname.slice('/api'.length).replace(/\/+$/, '');
  return restProcedures().find((procedure) => {
    const openapi = procedure._def.meta?.openapi as { method: string; path: string };
    if (openapi.method !== method) return false;
    const pattern = new RegExp(`^${openapi.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return pattern.test(route);
  });
}

let document: OpenAPIObject | undefined;

/** The OpenAPI document, generated once a process from the procedures' zod schemas. */
export function openApiDocument(): OpenAPIObject {
  document ??= generateOpenApiDocument(appRouter, {
    title: 'EOS Fleet automation API',
    version: '1',
    description:
      'Devices, commands, the catalog, staged rollouts, the fleet overview and the audit log. Authenticate with an API token made ' +
      'under Settings → API tokens: `Authorization: Bearer eosf_…`; the token acts with its role.',
    baseUrl: '/api',
    docsUrl: DOCS_PATH,
    securitySchemes: {
      apiToken: { type: 'http', scheme: 'bearer', description: 'an API token (eosf_…)' },
    },
  });
  return document;
}

export interface RestResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The REST handler, with its answers collected rather than written, so an input error is
 * answered in the same words as over tRPC (trpc-to-openapi would say "Input validation failed").
 */
export function createRestHandler(options: {
  onError: (error: TRPCError, procedure: string | undefined) => void;
}) {
  keepCoercionOff();
  const messages = new WeakMap<object, string>();
  const contexts = new WeakMap<object, TrpcContext>();
  // the Express flavour hands our IncomingMessage through as it is (the plain-Node one wraps it in
  // a fetch Request), so the body read under our limit and the typed query are the ones used
  const handler = createOpenApiExpressMiddleware({
    router: appRouter,
    // (its request type is Express'; ours is the IncomingMessage we passed in)
    createContext: ({ req }: { req: object }) => {
      const context = contexts.get(req);
      if (!context) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR' });
      return context;
    },
    onError: ({
      error,
      path: procedure,
      req,
    }: {
      error: TRPCError;
      path: string | undefined;
      req: object;
    }) => {
      messages.set(req, error.message);
      options.onError(error, procedure);
    },
  });

  /** `body`: the request's JSON, already read within its limit (undefined for GET). */
  return async function handleRest(
    req: IncomingMessage & { body?: unknown; query?: unknown },
    res: ServerResponse,
    context: TrpcContext,
    body: unknown,
  ): Promise<RestResponse> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'DELETE') {
      const procedure = procedureFor(method, url.pathname);
      req.query = typedQuery(procedure?._def.inputs ?? [], url.searchParams);
    } else req.body = body;
    const collected: RestResponse = { status: 200, headers: {}, body: '' };
    const shim = {
      get statusCode() {
        return collected.status;
      },
      set statusCode(status: number) {
        collected.status = status;
      },
      setHeader(name: string, value: string) {
        collected.headers[name.toLowerCase()] = value;
      },
      end(text?: string) {
        collected.body = text ?? '';
      },
      // the abort signal trpc-to-openapi makes listens on the real response
      once: res.once.bind(res),
      on: res.on.bind(res),
      off: res.off.bind(res),
      removeListener: res.removeListener.bind(res),
    };
    contexts.set(req, context);
    // the prefix is ours; trpc-to-openapi routes on the part after /api
    const originalUrl = req.url;
    req.url = (originalUrl ?? '/').slice('/api'.length) || '/';
    try {
      await handler(req, shim);
    } finally {
      req.url = originalUrl;
    }
    const words = messages.get(req);
    if (collected.status >= 400 && words) {
      const answer = JSON.parse(collected.body) as Record<string, unknown>;
      collected.body = JSON.stringify({ code: answer.code, message: words, issues: answer.issues });
    }
    return collected;
  };
}

const require = createRequire(import.meta.url);
const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** the reference page's files: Swagger UI's, from node_modules */
const DOCS_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>EOS Fleet API reference</title>
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css" />
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/init.js"></script>
  </body>
</html>
`;

// no validator badge (it would call validator.swagger.io): nothing leaves this server
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '${OPENAPI_PATH}',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
});
`;

/** A file of the reference page, or null when there is no such file. */
export async function docsFile(
  pathname: string,
): Promise<{ type: string; content: string | Buffer } | null> {
  const name =
    pathname === DOCS_PATH || pathname === `${DOCS_PATH}/`
      ? 'index.html'
      : pathname.slice(DOCS_PATH.length + 1);
  if (name === 'index.html') return { type: 'text/html; charset=utf-8', content: DOCS_INDEX };
  if (name === 'init.js') return { type: 'text/javascript; charset=utf-8', content: DOCS_INIT };
  const type = DOCS_FILES[name];
  if (!type) return null;
  return { type, content: await readFile(path.join(SWAGGER_DIR, name)) };
}

/** The reference page runs Swagger UI's bundle and its own init script; nothing inline. */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');
