// /api/auth/* over HTTP against the real server: only the endpoints the dashboard uses answer, and
// a stranger's body is refused at 64 KiB without being kept in memory.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../services/context';
import { createOperator } from '../services/operators/create-operator';
import { createTestApp } from '../testing/test-app';
import { MAX_AUTH_BODY } from './auth-route';
import { rawRequest, sessionCookieOf } from './testing/raw-request';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const MIB = 1024 * 1024;

/** POST `totalBytes` of body, produced as it is sent (the client holds one 64 KiB chunk). */
function postHuge(
  baseUrl: string,
  totalBytes: number,
  { declareLength }: { declareLength: boolean },
): Promise<{ status: number; ms: number; sentBytes: number }> {
  const url = new URL('/api/auth/sign-in/email', baseUrl);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        origin: url.origin,
        ...(declareLength ? { 'content-length': String(totalBytes) } : {}),
      },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, sentBytes: sent });
      req.destroy();
    });
    // the server closes the connection after its 413: writes after that fail, as they should
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.write('{"email":"x@test.local","password":"');
    pump();
  });
}

describe('/api/auth: only the endpoints we use, bodies bounded', () => {
  let app: TestApp;
  let server: Awaited<ReturnType<TestApp['listen']>>;

  beforeAll(async () => {
    app = await createTestApp();
    server = await app.listen();
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  it("better-auth's update-user, change-password and every other unused endpoint answer 404", async () => {
    // an operator whose one-time password is still pending
    const { operator, oneTimePassword = '' } = await createOperator(
      { db: app.db, actor: SYSTEM_ACTOR },
      { email: 'pending@test.local', name: 'Pending', role: 'operator' },
    );
    const signedIn = await rawRequest(server.baseUrl, '/api/auth/sign-in/email', {
      method: 'POST',
      body: JSON.stringify({ email: operator.email, password: oneTimePassword }),
    });
    expect(signedIn.status).toBe(200);
    const cookie = sessionCookieOf(signedIn) ?? '';
    expect(cookie).not.toBe('');

    const closed: [string, string, object][] = [
      ['POST', '/api/auth/update-user', { name: 'Renamed' }],
      [
        'POST',
        '/api/auth/change-password',
        { currentPassword: oneTimePassword, newPassword: 'chosen without our rules' },
      ],
      [
        'POST',
        '/api/auth/sign-up/email',
        { email: 'self@test.local', password: 'x'.repeat(12), name: 'S' },
      ],
      ['POST', '/api/auth/change-email', { newEmail: 'other@test.local' }],
      ['POST', '/api/auth/delete-user', {}],
      ['POST', '/api/auth/request-password-reset', { email: operator.email }],
      ['POST', '/api/auth/reset-password', { newPassword: 'x'.repeat(12), token: 'x' }],
      ['POST', '/api/auth/revoke-sessions', {}],
      ['GET', '/api/auth/list-sessions', {}],
      ['GET', '/api/auth/ok', {}],
      ['GET', '/api/auth/sign-in/email', {}],
    ];
    for (const [method, path, body] of closed) {
      const response = await rawRequest(server.baseUrl, path, {
        method,
        headers: { cookie },
        body: method === 'POST' ? JSON.stringify(body) : undefined,
      });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    // nothing changed: same name, the one-time password still the password, still pending
    const after = await app.db.operator.findUniqueOrThrow({ where: { id: operator.id } });
    expect(after).toMatchObject({ name: 'Pending', mustChangePassword: true });
    expect(await app.db.operator.count({ where: { email: 'self@test.local' } })).toBe(0);
    const again = await rawRequest(server.baseUrl, '/api/auth/sign-in/email', {
      method: 'POST',
      localAddress: '127.0.0.2',
      body: JSON.stringify({ email: operator.email, password: oneTimePassword }),
    });
    expect(again.status).toBe(200);

    // what the dashboard uses still works
    const session = await rawRequest(server.baseUrl, '/api/auth/get-session', {
      headers: { cookie },
    });
    expect(session.status).toBe(200);
    expect(session.text).toContain(operator.email);
    const signOut = await rawRequest(server.baseUrl, '/api/auth/sign-out', {
      method: 'POST',
      headers: { cookie },
      body: '{}',
    });
    expect(signOut.status).toBe(200);
    const gone = await rawRequest(server.baseUrl, '/api/auth/get-session', { headers: { cookie } });
    expect(gone.text).toBe('null');
  });

  it('refuses a 50 MiB sign-in body with 413 at once, declared or chunked, without keeping it', async () => {
    const rssBefore = process.memoryUsage().rss;
    for (const declareLength of [true, false, true, false, true, false]) {
      const result = await postHuge(server.baseUrl, 50 * MIB, { declareLength });
      expect(result.status).toBe(413);
      expect(result.ms).toBeLessThan(5_000);
      // refused long before the whole body was sent
      expect(result.sentBytes).toBeLessThan(50 * MIB);
    }
    const grownMiB = (process.memoryUsage().rss - rssBefore) / MIB;
    expect(grownMiB).toBeLessThan(10);
    // a body just under the limit is read and judged as usual
    const padded = JSON.stringify({
      email: 'nobody@test.local',
      password: 'wrong password',
      pad: 'p'.repeat(MAX_AUTH_BODY - 200),
    });
    const normal = await rawRequest(server.baseUrl, '/api/auth/sign-in/email', {
      method: 'POST',
      localAddress: '127.0.0.3',
      body: padded,
    });
    expect(normal.status).toBe(401);
    expect((await rawRequest(server.baseUrl, '/healthz')).status).toBe(200);
  });
});
