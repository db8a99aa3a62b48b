/* eslint-disable @typescript-eslint/no-non-null-assertion -- test lookups of rows the test itself made */
// The permission table, cell by cell: every tRPC procedure of appRouter and every REST route of
// the OpenAPI document, called over HTTP on the real server as nobody, as signed-in viewer,
// operator and admin, and with API tokens of each role. The expected cell comes from PERMISSIONS
// and the procedure's kind, which the table below states for every procedure: a procedure added
// without a row here fails the test, so it must be classified. Inputs are empty or invalid on
// purpose: the permission check runs before input validation, so "allowed" is anything but
// 401/403 (a 400 for the missing input included), and no cell may be a 5xx.
import { randomUUID } from 'node:crypto';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../http/rest-route';
import { apiTokenOf, signedInOperator } from '../testing/http-principals';
import { createTestApp } from '../testing/test-app';
import { can, type Permission } from './permissions';
import { appRouter } from './root';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;

/** how a procedure is built (trpc.ts): who may call it at all */
type Kind =
  | { kind: 'public' }
  /** authedProcedure: a signed-in operator, never an API token */
  | { kind: 'session' }
  /** permittedProcedure(permission): operators and API tokens whose role has it */
  | { kind: 'permitted'; permission: Permission }
  /** permittedSessionProcedure(permission): operators whose role has it; API tokens never */
  | { kind: 'permittedSession'; permission: Permission };

const session: Kind = { kind: 'session' };
const permitted = (permission: Permission): Kind => ({ kind: 'permitted', permission });
const sessionOnly = (permission: Permission): Kind => ({ kind: 'permittedSession', permission });

/** Every procedure of appRouter. Add yours here (the test says which are missing). */
const PROCEDURES: Record<string, Kind> = {
  'account.me': session,
  'account.changePassword': session,
  'apiTokens.list': sessionOnly('apiToken.create'),
  'apiTokens.create': sessionOnly('apiToken.create'),
  'apiTokens.revoke': sessionOnly('apiToken.create'),
  'audit.list': permitted('audit.read'),
  'catalog.updateServers': permitted('updateServer.read'),
  'catalog.addUpdateServer': permitted('updateServer.manage'),
  'catalog.editUpdateServer': permitted('updateServer.manage'),
  'catalog.removeUpdateServer': permitted('updateServer.manage'),
  'catalog.pollNow': permitted('image.manage'),
  'catalog.images': permitted('image.read'),
  'catalog.labelVersion': permitted('image.manage'),
  'catalog.setRecommended': permitted('image.manage'),
  'catalog.setBlocked': permitted('image.manage'),
  'devices.list': permitted('device.read'),
  'devices.get': permitted('device.read'),
  'devices.accept': permitted('device.enroll'),
  'devices.reject': permitted('device.enroll'),
  'devices.decommission': permitted('device.enroll'),
  'devices.update': permitted('device.operate'),
  'devices.commands': permitted('device.read'),
  'devices.command': permitted('device.read'),
  'devices.sendCommand': permitted('device.operate'),
  'devices.applicableVersions': permitted('device.read'),
  'devices.applyVersion': permitted('device.operate'),
  'devices.cancelCommand': permitted('device.operate'),
  'devices.page': permitted('device.read'),
  'devices.byIds': permitted('device.read'),
  'devices.bulkPreview': permitted('device.operate'),
  'devices.bulk': permitted('device.operate'),
  'devices.bulkDecommissionPreview': permitted('device.enroll'),
  'devices.bulkDecommission': permitted('device.enroll'),
  'devices.setLabel': permitted('device.operate'),
  'devices.audit': permitted('audit.read'),
  'live.changes': permitted('fleet.read'),
  'enrollment.list': permitted('device.read'),
  'enrollment.create': permitted('device.enroll'),
  'enrollment.revoke': permitted('device.enroll'),
  'fleet.overview': permitted('fleet.read'),
  'operators.list': permitted('operator.read'),
  'operators.create': permitted('operator.manage'),
  'operators.changeRole': permitted('operator.manage'),
  'operators.setDisabled': permitted('operator.manage'),
  'operators.resetPassword': permitted('operator.manage'),
  'rollouts.list': permitted('rollout.read'),
  'rollouts.get': permitted('rollout.read'),
  'rollouts.trace': permitted('rollout.read'),
  'rollouts.devices': permitted('rollout.read'),
  'rollouts.events': permitted('rollout.read'),
  'rollouts.preview': permitted('rollout.manage'),
  'rollouts.create': permitted('rollout.manage'),
  'rollouts.start': permitted('rollout.manage'),
  'rollouts.pause': permitted('rollout.manage'),
  'rollouts.resume': permitted('rollout.manage'),
  'rollouts.approveNextBatch': permitted('rollout.manage'),
  'rollouts.abort': permitted('rollout.manage'),
  'rollouts.retryFailed': permitted('rollout.manage'),
  'rollouts.revert': permitted('rollout.manage'),
};

type Outcome = 'allowed' | 401 | 403;
const ROLES: readonly OperatorRole[] = ['viewer', 'operator', 'admin'];
type Caller = { name: string; role: OperatorRole | null; token: 'session' | 'api' | null };
const CALLERS: Caller[] = [
  { name: 'no session', role: null, token: null },
  ...ROLES.map((role): Caller => ({ name: `${role} session`, role, token: 'session' })),
  ...ROLES.map((role): Caller => ({ name: `${role} API token`, role, token: 'api' })),
];

function expected(kind: Kind, caller: Caller): Outcome {
  if (kind.kind === 'public') return 'allowed';
  if (caller.role === null) return 401;
  if ((kind.kind === 'session' || kind.kind === 'permittedSession') && caller.token === 'api')
    return 403;
  if (kind.kind === 'session') return 'allowed';
  return can(caller.role, kind.permission) ? 'allowed' : 403;
}

const outcomeOf = (status: number): Outcome =>
  status === 401 ? 401 : status === 403 ? 403 : 'allowed';

type ProcedureDef = { _def: { type: 'query' | 'mutation' | 'subscription' } };
const procedures = appRouter._def.procedures as unknown as Record<string, ProcedureDef>;

describe('the permission table, for every procedure and REST route (real server, real PostgreSQL)', () => {
  let app: TestApp;
  let server: Server;
  const headersOf = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    app = await createTestApp();
    server = await app.listen();
    const origin = new URL(server.baseUrl).origin;
    for (const caller of CALLERS) {
      if (caller.role === null) headersOf.set(caller.name, { origin });
      else if (caller.token === 'session') {
        const { cookie } = await signedInOperator(app, server.baseUrl, caller.role);
        headersOf.set(caller.name, { cookie, origin });
      } else
        headersOf.set(caller.name, {
          authorization: `Bearer ${await apiTokenOf(app, caller.role)}`,
        });
    }
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  it('classifies every procedure of appRouter, and nothing that is not one', () => {
    const names = Object.keys(procedures).sort();
    expect(
      names.filter((name) => !(name in PROCEDURES)),
      'procedures missing from PROCEDURES',
    ).toEqual([]);
    expect(
      Object.keys(PROCEDURES).filter((name) => !(name in procedures)),
      'rows for no procedure',
    ).toEqual([]);
  });

  async function callTrpc(path: string, headers: Record<string, string>): Promise<number> {
    const type = procedures[path]!._def.type;
    if (type === 'subscription') return subscriptionStatus(path, headers);
    const response =
      type === 'mutation'
        ? await fetch(`${server.baseUrl}/api/trpc/${path}`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ json: {} }),
          })
        : await fetch(`${server.baseUrl}/api/trpc/${path}`, { headers });
    await response.body?.cancel();
    return response.status;
  }

  /**
   * A subscription is a server-sent-event stream that opens with 200 whatever happens next: a
   * refusal comes as its first event (an error with its HTTP status), an allowed stream says
   * `connected` first. The stream is read until one of the two, then dropped.
   */
  async function subscriptionStatus(path: string, headers: Record<string, string>) {
    const controller = new AbortController();
    const response = await fetch(`${server.baseUrl}/api/trpc/${path}`, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (!response.ok || !response.body) return response.status;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const deadline = AbortSignal.timeout(10_000);
    try {
      while (!deadline.aborted) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        const refused = /"httpStatus":(\d+)/.exec(text);
        if (refused) return Number(refused[1]);
        if (/^event: ?connected/m.test(text)) return response.status;
      }
      throw new Error(`${path}: neither connected nor refused: ${text.slice(0, 200)}`);
    } finally {
      controller.abort();
    }
  }

  it('answers every tRPC procedure as the table says, for every caller', async () => {
    const cells: string[] = [];
    for (const path of Object.keys(procedures).filter((name) => name in PROCEDURES)) {
      const kind = PROCEDURES[path]!;
      await Promise.all(
        CALLERS.map(async (caller) => {
          const status = await callTrpc(path, headersOf.get(caller.name)!);
          expect(status, `${path} as ${caller.name}`).toBeLessThan(500);
          const want = expected(kind, caller);
          if (outcomeOf(status) !== want)
            cells.push(`${path} as ${caller.name}: ${status}, expected ${want}`);
        }),
      );
    }
    expect(cells).toEqual([]);
  });

  it('answers every REST route as the table says for its procedure, for every caller', async () => {
    const document = openApiDocument();
    const routes = Object.entries(document.paths ?? {}).flatMap(([path, methods]) =>
      Object.entries(methods as Record<string, { operationId: string }>).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        procedure: op.operationId.replace(/-/g, '.'),
      })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(16);
    const cells: string[] = [];
    for (const route of routes) {
      const kind = PROCEDURES[route.procedure];
      expect(kind, `${route.method} ${route.path} → ${route.procedure}`).toBeDefined();
      const url = `${server.baseUrl}/api${route.path.replace(/\{[^}]+\}/g, () => randomUUID())}`;
      await Promise.all(
        CALLERS.map(async (caller) => {
          const headers = headersOf.get(caller.name)!;
          const response =
            route.method === 'GET'
              ? await fetch(url, { headers })
              : await fetch(url, {
                  method: route.method,
                  headers: { ...headers, 'content-type': 'application/json' },
                  body: '{}',
                });
          await response.body?.cancel();
          expect(response.status, `${route.method} ${route.path} as ${caller.name}`).toBeLessThan(
            500,
          );
          const want = expected(kind!, caller);
          if (outcomeOf(response.status) !== want)
            cells.push(
              `${route.method} ${route.path} as ${caller.name}: ${response.status}, expected ${want}`,
            );
        }),
      );
    }
    expect(cells).toEqual([]);
  });

  it('checks the role before the input: a viewer with bad input is refused, not told about the input', async () => {
    const viewer = headersOf.get('viewer session')!;
    const operator = headersOf.get('operator session')!;
    const body = JSON.stringify({ json: { deviceId: 'nonsense', kind: 'nonsense' } });
    const send = (headers: Record<string, string>) =>
      fetch(`${server.baseUrl}/api/trpc/devices.sendCommand`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
    expect((await send(viewer)).status).toBe(403);
    expect((await send(operator)).status).toBe(400);
    expect((await send(headersOf.get('no session')!)).status).toBe(401);
  });
});
