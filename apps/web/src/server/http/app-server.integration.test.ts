import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

describe('HTTP API: sign-in, sessions, cross-site refusal (real better-auth, real PostgreSQL)', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let admin: Awaited<ReturnType<TestApp['addOperator']>>;
  let viewer: Awaited<ReturnType<TestApp['addOperator']>>;

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen();
    admin = await app.addOperator('admin');
    viewer = await app.addOperator('viewer');
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const origin = () => new URL(http.baseUrl).origin;

  async function signIn(email: string, password: string) {
    return fetch(`${http.baseUrl}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: origin() },
      body: JSON.stringify({ email, password }),
    });
  }

  function sessionCookie(response: Response): string {
    const cookie = response.headers
      .getSetCookie()
      .find((line) => line.startsWith('better-auth.session_token='));
    if (!cookie) throw new Error('no session cookie');
    return cookie;
  }

  it('signs in with the right password: an HttpOnly, SameSite=Strict session cookie', async () => {
    const response = await signIn(admin.email, admin.password);
    expect(response.status).toBe(200);
    const cookie = sessionCookie(response);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const me = await fetch(`${http.baseUrl}/api/trpc/account.me`, {
      headers: { cookie: cookie.split(';')[0] ?? '' },
    });
    expect(me.status).toBe(200);
    const body = (await me.json()) as {
      result: { data: { json: { email: string; role: string } } };
    };
    expect(body.result.data.json).toMatchObject({ email: admin.email, role: 'admin' });
  });

  it('refuses a wrong password and an unknown operator alike, and opens no session', async () => {
    const wrong = await signIn(admin.email, 'not the password');
    const unknown = await signIn('nobody@test.local', 'not the password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(
      wrong.headers
        .getSetCookie()
        .some((line) => line.startsWith('better-auth.session_token=') && !/Max-Age=0/.test(line)),
    ).toBe(false);
  });

  it('refuses sign-up: operators are created by admins only', async () => {
    const response = await fetch(`${http.baseUrl}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: origin() },
      body: JSON.stringify({
        email: 'self@test.local',
        password: 'self-made password',
        name: 'Self',
      }),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(await app.db.operator.count({ where: { email: 'self@test.local' } })).toBe(0);
  });

  it('a disabled operator cannot sign in with the right password', async () => {
    const disabled = await app.addOperator('operator');
    await app
      .callerFor({ ...admin, disabled: false })
      .operators.setDisabled({ operatorId: disabled.id, disabled: true });
    expect((await signIn(disabled.email, disabled.password)).ok).toBe(false);
  });

  it("answers a viewer's mutation over HTTP with 403 FORBIDDEN", async () => {
    const cookie = sessionCookie(await signIn(viewer.email, viewer.password)).split(';')[0] ?? '';
    const response = await fetch(`${http.baseUrl}/api/trpc/operators.create`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/json',
        origin: origin(),
        'sec-fetch-site': 'same-origin',
      },
      body: JSON.stringify({ json: { email: 'v@test.local', name: 'V', role: 'viewer' } }),
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as {
      error: { json: { data: { code: string; stack?: unknown } } };
    };
    expect(body.error.json.data.code).toBe('FORBIDDEN');
    expect(body.error.json.data.stack).toBeUndefined();
  });

  it('refuses cross-site and non-JSON mutations before they reach a procedure', async () => {
    const cookie = sessionCookie(await signIn(admin.email, admin.password)).split(';')[0] ?? '';
    const body = JSON.stringify({ json: { email: 'csrf@test.local', name: 'C', role: 'admin' } });
    const crossSite = await fetch(`${http.baseUrl}/api/trpc/operators.create`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/json',
        origin: 'http://evil.test',
        'sec-fetch-site': 'cross-site',
      },
      body,
    });
    expect(crossSite.status).toBe(403);
    const formPost = await fetch(`${http.baseUrl}/api/trpc/operators.create`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain', origin: origin() },
      body,
    });
    expect(formPost.status).toBe(415);
    expect(await app.db.operator.count({ where: { email: 'csrf@test.local' } })).toBe(0);
  });

  it('answers malformed tRPC input with a 400 that names the field, not a crash', async () => {
    const cookie = sessionCookie(await signIn(admin.email, admin.password)).split(';')[0] ?? '';
    const response = await fetch(`${http.baseUrl}/api/trpc/operators.create`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: origin() },
      body: JSON.stringify({ json: { email: 42, role: 'viewer' } }),
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain('email');
    const broken = await fetch(`${http.baseUrl}/api/trpc/operators.create`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: origin() },
      body: '{not json',
    });
    expect(broken.status).toBe(400);
    expect((await fetch(`${http.baseUrl}/healthz`)).status).toBe(200);
  });
});
