/* eslint-disable @typescript-eslint/no-non-null-assertion -- test lookups of rows the test itself made */
// The automation API end to end on the real server and PostgreSQL: REST under /api/v1 with API
// tokens (list devices, send a command and read it back, bad input in words, 401/403/404), the
// OpenAPI document it is generated with, and the reference page served from local files.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokenOf, signedInOperator } from '../testing/http-principals';
import { createTestApp } from '../testing/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;

describe('REST automation API (real server, real PostgreSQL)', () => {
  let app: TestApp;
  let server: Server;
  let operatorToken: string;
  let viewerToken: string;
  let deviceId: string;

  beforeAll(async () => {
    app = await createTestApp();
    server = await app.listen();
    operatorToken = await apiTokenOf(app, 'operator');
    viewerToken = await apiTokenOf(app, 'viewer');
    deviceId = randomUUID();
    await app.db.device.create({
      data: { id: deviceId, name: 'rest-lab-1', publicKey: randomUUID(), status: 'accepted' },
    });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  async function rest(method: string, path: string, token: string | null, body?: unknown) {
    const response = await fetch(`${server.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  }

  it('lists devices and sends a command with an API token, and reads the command back', async () => {
    const list = await rest('GET', '/devices?search=rest-lab&limit=5', viewerToken);
    expect(list.status).toBe(200);
    const devices = list.body as unknown as { id: string; name: string; lastSeenAt: unknown }[];
    expect(devices.map((device) => device.name)).toEqual(['rest-lab-1']);

    const sent = await rest('POST', `/devices/${deviceId}/commands`, operatorToken, {
      kind: 'check',
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ deviceId, kind: 'check', state: 'queued' });
    expect(typeof sent.body.createdAt).toBe('string');

    const command = await rest('GET', `/commands/${String(sent.body.id)}`, viewerToken);
    expect(command.status).toBe(200);
    expect(command.body).toMatchObject({ id: sent.body.id, kind: 'check' });
    const page = await rest('GET', `/devices/${deviceId}/commands?limit=1`, viewerToken);
    expect(page.status).toBe(200);
    expect((page.body.items as { id: string }[]).map((item) => item.id)).toEqual([sent.body.id]);

    const audit = await rest('GET', '/audit?action=command.created&limit=5', viewerToken);
    expect(audit.status).toBe(200);
    expect((audit.body.events as { actorType: string }[])[0]?.actorType).toBe('api_token');
  });

  it('runs a rollout over REST: preview, create a draft, start, read, trace, pause', async () => {
    const server = await app.db.updateServer.create({
      data: { name: 'rest-edge', sshTarget: 'fleet@127.0.0.1', httpUrl: 'http://127.0.0.1:1' },
    });
    const image = await app.db.image.create({
      data: { updateServerId: server.id, name: 'EOS.rest-AB' },
    });
    const version = await app.db.imageVersion.create({
      data: {
        imageId: image.id,
        rootPrefixHash: 'b'.repeat(40),
        imageSha1: 'c'.repeat(40),
        rootSha256: 'd'.repeat(64),
        rootPartitionSize: BigInt(8 * 1024 * 1024),
        label: '9.9.9',
      },
    });
    await app.db.device.update({ where: { id: deviceId }, data: { labels: { ring: 'rest' } } });
    const rollout = {
      name: 'rest rollout',
      imageVersionId: version.id,
      target: { labels: { ring: 'rest' } },
      // a manual gate keeps it running whatever the job runner decides meanwhile (the device is
      // excluded by preflight: without a gate the rollout could complete before it is paused)
      batches: [{ count: 1, gate: 'manual' as const }],
      start: false,
    };

    const preview = await rest('POST', '/rollouts/preview', operatorToken, rollout);
    expect(preview.status).toBe(200);
    expect(preview.body.preflightFailures).toEqual([
      expect.objectContaining({ deviceId, reason: expect.any(String) as string }),
    ]);

    const refused = await rest('POST', '/rollouts', operatorToken, { ...rollout, batches: [] });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/^Invalid input: batches: /);
    expect((await rest('POST', '/rollouts', viewerToken, rollout)).status).toBe(403);

    const created = await rest('POST', '/rollouts', operatorToken, rollout);
    expect(created.status).toBe(200);
    const rolloutId = String(created.body.id);
    const drafts = await rest('GET', '/rollouts?state=draft&limit=5', viewerToken);
    expect((drafts.body.items as { id: string }[]).map((r) => r.id)).toContain(rolloutId);

    expect((await rest('POST', `/rollouts/${rolloutId}/start`, operatorToken, {})).status).toBe(
      200,
    );
    const read = await rest('GET', `/rollouts/${rolloutId}`, viewerToken);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: rolloutId, version: 'EOS.rest-AB 9.9.9' });
    expect(['scheduled', 'running']).toContain(read.body.state);

    const members = await rest('GET', `/rollouts/${rolloutId}/devices?pageSize=10`, viewerToken);
    expect(members.status).toBe(200);
    expect(members.body).toMatchObject({
      total: 1,
      rows: [{ deviceId, reason: expect.any(String) }],
    });
    const badPage = await rest('GET', `/rollouts/${rolloutId}/devices?pageSize=1000`, viewerToken);
    expect(badPage.status).toBe(400);
    expect(badPage.body.message).toMatch(/pageSize/);
    const timeline = await rest('GET', `/rollouts/${rolloutId}/events?limit=5`, viewerToken);
    expect(timeline.status).toBe(200);
    expect((timeline.body.items as { message: string }[]).length).toBeGreaterThan(0);
    const trace = await rest('GET', `/devices/${deviceId}/rollout-trace`, viewerToken);
    expect(trace.status).toBe(200);
    expect(JSON.stringify(trace.body)).toContain('rest rollout');

    expect((await rest('POST', `/rollouts/${rolloutId}/pause`, viewerToken, {})).status).toBe(403);
    const paused = await rest('POST', `/rollouts/${rolloutId}/pause`, operatorToken, {
      reason: 'looking at the canary',
    });
    expect(paused.status).toBe(200);
    const after = await rest('GET', `/rollouts/${rolloutId}`, viewerToken);
    expect(after.body).toMatchObject({ state: 'paused', stateReason: 'looking at the canary' });
    const twice = await rest('POST', `/rollouts/${rolloutId}/pause`, operatorToken, {});
    expect(twice.status).toBe(412);
    expect(twice.body.message).toMatch(/paused: it cannot be paused/);
  });

  it('queries the Devices table and plans a bulk action over REST', async () => {
    const page = await rest('POST', '/devices/query', viewerToken, { q: 'rest-lab', pageSize: 5 });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({
      total: 1,
      rows: [expect.objectContaining({ id: deviceId })],
    });
    const plan = await rest('POST', '/devices/bulk/preview', operatorToken, {
      target: { ids: [deviceId] },
      action: { type: 'check' },
    });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ matched: 1 });
    const labelled = await rest('PUT', `/devices/${deviceId}/label`, operatorToken, {
      key: 'site',
      value: 'lab',
    });
    expect(labelled.status).toBe(200);
    expect(labelled.body.labels).toMatchObject({ site: 'lab' });
    const overview = await rest('GET', '/overview', viewerToken);
    expect(overview.status).toBe(200);
    expect(overview.body).toHaveProperty('counters');
  });

  it('answers bad input with 400 in words, as tRPC does', async () => {
    const kind = await rest('POST', `/devices/${deviceId}/commands`, operatorToken, {
      kind: 'format-disk',
    });
    expect(kind.status).toBe(400);
    expect(kind.body.code).toBe('BAD_REQUEST');
    expect(kind.body.message).toMatch(/^Invalid input: kind: /);
    expect(kind.body.message).not.toBe('Input validation failed');

    const limit = await rest('GET', '/devices?limit=many', viewerToken);
    expect(limit.status).toBe(400);
    expect(limit.body.message).toMatch(/limit/);
    const tooMany = await rest('GET', '/devices?limit=100000', viewerToken);
    expect(tooMany.status).toBe(400);

    const id = await rest('GET', '/devices/not-a-uuid', viewerToken);
    expect(id.status).toBe(400);
    expect(id.body.message).toMatch(/deviceId/);

    const json = await fetch(`${server.baseUrl}/api/v1/devices/${deviceId}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: '{"kind":',
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { message: string }).message).toMatch(/not valid JSON/);
  });

  it('keeps booleans strict: "false" is false, nonsense and a missing flag are refused', async () => {
    const version = await rest(
      'PUT',
      `/catalog/versions/${randomUUID()}/blocked`,
      operatorToken,
      {},
    );
    expect(version.status).toBe(400);
    expect(version.body.message).toMatch(/value/);
    const nonsense = await rest('PUT', `/catalog/versions/${randomUUID()}/blocked`, operatorToken, {
      value: 'yes',
    });
    expect(nonsense.status).toBe(400);
    const images = await rest('GET', '/catalog/images?includeAgedOut=false', viewerToken);
    expect(images.status).toBe(200);
    const wrong = await rest('GET', '/catalog/images?includeAgedOut=perhaps', viewerToken);
    expect(wrong.status).toBe(400);
  });

  it('answers 401 without credentials or with a bad token, 403 for a role, 404 off the map', async () => {
    const none = await rest('GET', '/devices', null);
    expect(none.status).toBe(401);
    const bad = await rest('GET', '/devices', 'eosf_0000000000000000_nope');
    expect(bad.status).toBe(401);
    const role = await rest('POST', `/devices/${deviceId}/commands`, viewerToken, {
      kind: 'check',
    });
    expect(role.status).toBe(403);
    expect(role.body.message).toMatch(/viewer/);
    const missing = await rest('GET', '/no-such-thing', viewerToken);
    expect(missing.status).toBe(404);
    const device = await rest('GET', `/devices/${randomUUID()}`, viewerToken);
    expect(device.status).toBe(404);
  });

  it('refuses a state-changing call with a cookie from another site, and takes it from ours', async () => {
    const { cookie } = await signedInOperator(app, server.baseUrl, 'operator');
    const send = (origin: string) =>
      fetch(`${server.baseUrl}/api/v1/devices/${deviceId}/commands`, {
        method: 'POST',
        headers: { cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'check' }),
      });
    expect((await send('https://evil.example')).status).toBe(403);
    expect((await send(new URL(server.baseUrl).origin)).status).toBe(200);
    const read = await fetch(`${server.baseUrl}/api/v1/devices`, { headers: { cookie } });
    expect(read.status).toBe(200);
  });

  it('refuses an over-long body with 413 and a form body with 415', async () => {
    const huge = await fetch(`${server.baseUrl}/api/v1/devices/${deviceId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const form = await fetch(`${server.baseUrl}/api/v1/devices/${deviceId}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${operatorToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'name=x',
    });
    expect(form.status).toBe(415);
  });

  it('serves a valid OpenAPI document generated from the procedures', async () => {
    expect((await fetch(`${server.baseUrl}/api/openapi.json`)).status).toBe(401);
    const response = await fetch(`${server.baseUrl}/api/openapi.json`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, Operation>>;
      components: { schemas?: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    interface Operation {
      operationId?: string;
      summary?: string;
      tags?: string[];
      security?: unknown[];
      responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
    }
    expect(document.openapi).toMatch(/^3\./);
    expect(document.servers[0]?.url).toBe('/api');
    expect(document.components.securitySchemes).toHaveProperty('apiToken');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(16);
    const ids = new Set<string>();
    for (const { path, method, operation } of operations) {
      expect(path, `${method} ${path}`).toMatch(/^\/v1\//);
      expect(operation.operationId, `${method} ${path}`).toBeTruthy();
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
      expect(operation.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      expect(operation.security, `${method} ${path}`).toEqual([{ apiToken: [] }]);
      expect(operation.responses['200']?.content?.['application/json']?.schema).toBeTruthy();
      ids.add(operation.operationId ?? '');
    }
    expect(ids.size).toBe(operations.length);
    expect(document.paths['/v1/devices']?.get?.operationId).toBe('devices-list');
    expect(document.paths['/v1/devices/{deviceId}/commands']?.post).toBeTruthy();
    // the shared output schemas are components, referenced from the operations
    expect(Object.keys(document.components.schemas ?? {})).toEqual(
      expect.arrayContaining(['DeviceSummary', 'CommandSummary', 'AuditEvent', 'Image']),
    );
    // every $ref resolves
    const text = JSON.stringify(document);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(document.components.schemas, name).toHaveProperty(name!);
  });

  it('serves the reference page and its script from local files, nothing from elsewhere', async () => {
    const { cookie } = await signedInOperator(app, server.baseUrl, 'viewer');
    const anonymous = await fetch(`${server.baseUrl}/api/docs`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    const page = await fetch(`${server.baseUrl}/api/docs`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(
      expect.arrayContaining(['/api/docs/swagger-ui-bundle.js', '/api/docs/init.js']),
    );
    for (const asset of assets) {
      expect(asset.startsWith('/api/docs/')).toBe(true);
      const file = await fetch(`${server.baseUrl}${asset}`, { headers: { cookie } });
      expect(file.status, asset).toBe(200);
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const init = await (
      await fetch(`${server.baseUrl}/api/docs/init.js`, { headers: { cookie } })
    ).text();
    expect(init).toContain("url: '/api/openapi.json'");
    expect(init).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${server.baseUrl}/api/docs/swagger-ui-bundle.js`, {
      headers: { cookie },
    });
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(500_000);
    expect(
      (await fetch(`${server.baseUrl}/api/docs/../../package.json`, { headers: { cookie } }))
        .status,
    ).toBe(404);
    expect(
      (await fetch(`${server.baseUrl}/api/docs/index.js`, { headers: { cookie } })).status,
    ).toBe(404);
  });
});
