// API tokens over HTTP against the real server, better-auth and PostgreSQL: made in a session,
// shown once and stored as a hash, used as `Authorization: Bearer` within their role and never
// above it (nor above their creator's current role), refused at once when revoked or expired,
// last use written at most once a minute, refused guesses throttled per client address.
import { createHash } from 'node:crypto';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN_LIMITS, type AttemptLimits } from '../services/operators/auth-attempts';
import { createTestApp } from '../testing/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;
type Headers = Record<string, string>;

const TOKEN_FORMAT = /^eosf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

describe('API tokens: Authorization: Bearer on /api/trpc (real server, real PostgreSQL)', () => {
  let app: TestApp;
  let server: Server;
  const limits: AttemptLimits = {
    ...API_TOKEN_LIMITS,
    pair: { ...API_TOKEN_LIMITS.pair, failures: 4 },
    client: { ...API_TOKEN_LIMITS.client, failures: 6 },
  };
  let addressCounter = 0;
  /** each test its own client address (behind the trusted proxy), so throttle counts stay apart */
  const freshAddress = () => `198.51.100.${(addressCounter += 1)}`;

  beforeAll(async () => {
    app = await createTestApp();
    server = await app.listen({ trustedProxies: ['127.0.0.1'], apiTokenLimits: limits });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
  });

  const origin = () => new URL(server.baseUrl).origin;
  const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });

  async function signedIn(role: OperatorRole) {
    const operator = await app.addOperator(role);
    const response = await fetch(`${server.baseUrl}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: origin() },
      body: JSON.stringify({ email: operator.email, password: operator.password }),
    });
    expect(response.status).toBe(200);
    const cookie = response.headers
      .getSetCookie()
      .find((line) => line.startsWith('better-auth.session_token='))
      ?.split(';')[0];
    if (!cookie) throw new Error('no session cookie');
    return { ...operator, cookie };
  }

  async function query(path: string, headers: Headers, input?: unknown) {
    const search =
      input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
    const response = await fetch(`${server.baseUrl}/api/trpc/${path}${search}`, { headers });
    return { status: response.status, body: (await response.json()) as TrpcBody, response };
  }

  async function mutate(path: string, headers: Headers, input: unknown) {
    const response = await fetch(`${server.baseUrl}/api/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ json: input }),
    });
    return { status: response.status, body: (await response.json()) as TrpcBody, response };
  }

  interface TrpcBody {
    result?: { data: { json: Record<string, unknown> } };
    error?: {
      message?: string;
      code?: string;
      json?: { message: string; data?: { code: string } };
    };
  }
  const messageOf = (body: TrpcBody) => body.error?.json?.message ?? body.error?.message ?? '';

  /** A token made in the browser's way: a same-origin POST with the session cookie. */
  async function createToken(
    creator: { cookie: string },
    input: { name: string; role: OperatorRole; expiresInDays: number },
  ) {
    const created = await mutate(
      'apiTokens.create',
      { cookie: creator.cookie, origin: origin() },
      input,
    );
    expect(created.status).toBe(200);
    const data = created.body.result?.data.json as { token: string; apiToken: { id: string } };
    return { token: data.token, id: data.apiToken.id };
  }

  it('is shown once at creation; only the sha256 of its secret is stored; the creation is audited', async () => {
    const creator = await signedIn('operator');
    const { token, id } = await createToken(creator, {
      name: 'nightly inventory',
      role: 'operator',
      expiresInDays: 30,
    });
    const [, tokenId, secret] = TOKEN_FORMAT.exec(token) ?? [];
    expect(tokenId).toBe(id);
    if (!secret) throw new Error(`token not in the documented format: ${token}`);
    const row = await app.db.apiToken.findUniqueOrThrow({ where: { id } });
    expect(row.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.expiresAt.getTime() - Date.now()).toBeGreaterThan(29.9 * 24 * 3600_000);
    expect(row.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(30 * 24 * 3600_000);

    // the list shows it, never its secret again
    const list = await query('apiTokens.list', { cookie: creator.cookie });
    expect(list.status).toBe(200);
    const listed = JSON.stringify(list.body);
    expect(listed).toContain('nightly inventory');
    expect(listed).toContain(`eosf_${id}_`);
    expect(listed).not.toContain(secret);

    const audit = await app.db.auditEvent.findFirstOrThrow({
      where: { action: 'api_token.created', targetId: id },
    });
    expect(audit).toMatchObject({
      actorType: 'operator',
      actorId: creator.id,
      targetType: 'api_token',
    });
    expect(JSON.stringify(audit.data)).not.toContain(secret);
  });

  it('acts within its role for a query and a mutation, without Origin, as its own audit actor', async () => {
    const creator = await signedIn('operator');
    const { token, id } = await createToken(creator, {
      name: 'ci enroller',
      role: 'operator',
      expiresInDays: 7,
    });
    const address = freshAddress();
    const headers = { ...bearer(token), 'x-forwarded-for': address };

    const overview = await query('fleet.overview', headers);
    expect(overview.status).toBe(200);

    // a mutation from a script: no Origin, no cookie, no Sec-Fetch-Site
    const enrollment = await mutate('enrollment.create', headers, { name: 'from ci' });
    expect(enrollment.status).toBe(200);
    const audit = await app.db.auditEvent.findFirstOrThrow({
      where: { action: 'enrollment_token.created', data: { path: ['name'], equals: 'from ci' } },
    });
    expect(audit).toMatchObject({
      actorType: 'api_token',
      actorId: id,
      actorLabel: 'API token ci enroller',
      ipAddress: address,
    });
  });

  it('is FORBIDDEN above its role, and cannot make tokens or act as an account', async () => {
    const admin = await signedIn('admin');
    const viewerToken = await createToken(admin, {
      name: 'dashboards',
      role: 'viewer',
      expiresInDays: 1,
    });
    const operatorToken = await createToken(admin, {
      name: 'ops',
      role: 'operator',
      expiresInDays: 1,
    });

    const asViewer = await mutate('enrollment.create', bearer(viewerToken.token), { name: 'nope' });
    expect(asViewer.status).toBe(403);
    expect(messageOf(asViewer.body)).toContain(
      'Your role (viewer) may not do this (device.enroll)',
    );

    const asOperator = await mutate('operators.create', bearer(operatorToken.token), {
      email: 'made-by-token@test.local',
      name: 'Token',
      role: 'admin',
    });
    expect(asOperator.status).toBe(403);
    expect(await app.db.operator.count({ where: { email: 'made-by-token@test.local' } })).toBe(0);

    const successor = await mutate('apiTokens.create', bearer(operatorToken.token), {
      name: 'successor',
      role: 'viewer',
      expiresInDays: 365,
    });
    expect(successor.status).toBe(403);
    expect(messageOf(successor.body)).toContain('An API token cannot do this');
    const me = await query('account.me', bearer(operatorToken.token));
    expect(me.status).toBe(403);
    expect(await app.db.apiToken.count({ where: { name: 'successor' } })).toBe(0);
  });

  it('is never made above its creator, and its expiry is required and at most a year', async () => {
    const creator = await signedIn('operator');
    const session = { cookie: creator.cookie, origin: origin() };
    const above = await mutate('apiTokens.create', session, {
      name: 'up',
      role: 'admin',
      expiresInDays: 1,
    });
    expect(above.status).toBe(403);
    expect(messageOf(above.body)).toContain('may not make a token with the role admin');
    const tooLong = await mutate('apiTokens.create', session, {
      name: 'long',
      role: 'viewer',
      expiresInDays: 366,
    });
    expect(tooLong.status).toBe(400);
    expect(messageOf(tooLong.body)).toContain('at most 365 days');
    const forever = await mutate('apiTokens.create', session, { name: 'forever', role: 'viewer' });
    expect(forever.status).toBe(400);
    expect(messageOf(forever.body)).toContain('expiresInDays');
    expect(await app.db.apiToken.count({ where: { createdById: creator.id } })).toBe(0);
  });

  it('acts with the lesser of its role and its creator’s current role; a disabled creator’s tokens are refused', async () => {
    const admin = await signedIn('admin');
    const other = await signedIn('admin');
    const { token } = await createToken(other, {
      name: 'admin script',
      role: 'admin',
      expiresInDays: 1,
    });
    const session = { cookie: admin.cookie, origin: origin() };

    expect((await mutate('enrollment.create', bearer(token), { name: 'while admin' })).status).toBe(
      200,
    );
    expect(
      (await mutate('operators.changeRole', session, { operatorId: other.id, role: 'viewer' }))
        .status,
    ).toBe(200);
    const demoted = await mutate('enrollment.create', bearer(token), { name: 'after demotion' });
    expect(demoted.status).toBe(403);
    expect(messageOf(demoted.body)).toContain('Your role (viewer)');

    expect(
      (await mutate('operators.setDisabled', session, { operatorId: other.id, disabled: true }))
        .status,
    ).toBe(200);
    const disabled = await query('fleet.overview', bearer(token));
    expect(disabled.status).toBe(401);
    expect(messageOf(disabled.body)).toBe('The operator who made this API token is disabled.');
  });

  it('is refused at once when revoked or expired, with a 401 in words; the revocation is audited', async () => {
    const creator = await signedIn('viewer');
    const revoked = await createToken(creator, {
      name: 'to revoke',
      role: 'viewer',
      expiresInDays: 1,
    });
    const expired = await createToken(creator, {
      name: 'to expire',
      role: 'viewer',
      expiresInDays: 1,
    });
    expect((await query('fleet.overview', bearer(revoked.token))).status).toBe(200);

    const revoke = await mutate(
      'apiTokens.revoke',
      { cookie: creator.cookie, origin: origin() },
      {
        tokenId: revoked.id,
      },
    );
    expect(revoke.status).toBe(200);
    const afterRevoke = await query('fleet.overview', bearer(revoked.token));
    expect(afterRevoke.status).toBe(401);
    expect(afterRevoke.response.headers.get('www-authenticate')).toContain('Bearer');
    expect(messageOf(afterRevoke.body)).toBe('This API token was revoked.');
    expect(
      await app.db.auditEvent.count({
        where: { action: 'api_token.revoked', targetId: revoked.id, actorId: creator.id },
      }),
    ).toBe(1);

    await app.db.apiToken.update({
      where: { id: expired.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const afterExpiry = await query('fleet.overview', bearer(expired.token));
    expect(afterExpiry.status).toBe(401);
    expect(messageOf(afterExpiry.body)).toMatch(/^This API token expired at /);
  });

  it("someone else's token is not found for a non-admin; an admin revokes anyone's", async () => {
    const owner = await signedIn('operator');
    const stranger = await signedIn('operator');
    const admin = await signedIn('admin');
    const { id, token } = await createToken(owner, {
      name: 'owned',
      role: 'viewer',
      expiresInDays: 1,
    });
    const byStranger = await mutate(
      'apiTokens.revoke',
      { cookie: stranger.cookie, origin: origin() },
      { tokenId: id },
    );
    expect(byStranger.status).toBe(404);
    const strangersList = await query('apiTokens.list', { cookie: stranger.cookie });
    expect(JSON.stringify(strangersList.body)).not.toContain(id);
    expect((await query('fleet.overview', bearer(token))).status).toBe(200);
    const byAdmin = await mutate(
      'apiTokens.revoke',
      { cookie: admin.cookie, origin: origin() },
      { tokenId: id },
    );
    expect(byAdmin.status).toBe(200);
    expect((await query('fleet.overview', bearer(token))).status).toBe(401);
  });

  it('a wrong secret, an unknown id and a malformed token are refused alike', async () => {
    const creator = await signedIn('viewer');
    const { token, id } = await createToken(creator, {
      name: 'real',
      role: 'viewer',
      expiresInDays: 1,
    });
    const wrongSecret = `eosf_${id}_${'A'.repeat(43)}`;
    const unknownId = token.replace(id, '0123456789abcdef');
    for (const presented of [wrongSecret, unknownId]) {
      const refused = await query('fleet.overview', {
        ...bearer(presented),
        'x-forwarded-for': freshAddress(),
      });
      expect(refused.status).toBe(401);
      expect(messageOf(refused.body)).toBe('This API token is not valid.');
    }
    const malformed = await query('fleet.overview', {
      ...bearer('hunter2'),
      'x-forwarded-for': freshAddress(),
    });
    expect(malformed.status).toBe(401);
    expect(messageOf(malformed.body)).toContain('not an EOS Fleet API token');
  });

  it('records last use (time and address) at most once a minute', async () => {
    const creator = await signedIn('viewer');
    const { token, id } = await createToken(creator, {
      name: 'poller',
      role: 'viewer',
      expiresInDays: 1,
    });
    expect((await app.db.apiToken.findUniqueOrThrow({ where: { id } })).lastUsedAt).toBeNull();

    const first = freshAddress();
    expect(
      (await query('fleet.overview', { ...bearer(token), 'x-forwarded-for': first })).status,
    ).toBe(200);
    const afterFirst = await app.db.apiToken.findUniqueOrThrow({ where: { id } });
    expect(afterFirst.lastUsedAt).not.toBeNull();
    expect(afterFirst.lastUsedIp).toBe(first);

    // within the minute: nothing written, even from elsewhere
    const second = freshAddress();
    expect(
      (await query('fleet.overview', { ...bearer(token), 'x-forwarded-for': second })).status,
    ).toBe(200);
    const afterSecond = await app.db.apiToken.findUniqueOrThrow({ where: { id } });
    expect(afterSecond.lastUsedAt).toEqual(afterFirst.lastUsedAt);
    expect(afterSecond.lastUsedIp).toBe(first);

    // a minute later (moved back in the database): written again
    const earlier = new Date(Date.now() - 61_000);
    await app.db.apiToken.update({ where: { id }, data: { lastUsedAt: earlier } });
    expect(
      (await query('fleet.overview', { ...bearer(token), 'x-forwarded-for': second })).status,
    ).toBe(200);
    const afterMinute = await app.db.apiToken.findUniqueOrThrow({ where: { id } });
    expect(afterMinute.lastUsedAt?.getTime()).toBeGreaterThan(earlier.getTime());
    expect(afterMinute.lastUsedIp).toBe(second);
  });

  it('with both a cookie and a bearer, the bearer alone decides: no fall-back to the cookie', async () => {
    const admin = await signedIn('admin');
    const { token } = await createToken(admin, {
      name: 'read only',
      role: 'viewer',
      expiresInDays: 1,
    });
    const both = { cookie: admin.cookie, origin: origin() };

    const asViewer = await mutate(
      'operators.create',
      { ...both, ...bearer(token) },
      {
        email: 'both@test.local',
        name: 'Both',
        role: 'viewer',
      },
    );
    expect(asViewer.status).toBe(403);
    const badBearer = await query('fleet.overview', {
      ...both,
      ...bearer('eosf_0000000000000000_' + 'x'.repeat(43)),
      'x-forwarded-for': freshAddress(),
    });
    expect(badBearer.status).toBe(401);
    // an empty or garbled Bearer header is a refused bearer too, not a cookie request
    const garbled = await query('fleet.overview', {
      ...both,
      authorization: 'Bearer',
      'x-forwarded-for': freshAddress(),
    });
    expect(garbled.status).toBe(401);
    // a bearer does not lift the same-origin check for cookies on /api/auth, nor sign anyone in there
    const session = await fetch(`${server.baseUrl}/api/auth/get-session`, {
      headers: bearer(token),
    });
    expect(await session.json()).toBeNull();
    expect(await app.db.operator.count({ where: { email: 'both@test.local' } })).toBe(0);
  });

  it('locks out a client address that keeps presenting bad tokens; others and valid tokens go on', async () => {
    const creator = await signedIn('viewer');
    const { token } = await createToken(creator, {
      name: 'valid',
      role: 'viewer',
      expiresInDays: 1,
    });
    const guesser = freshAddress();
    for (let guess = 0; guess < limits.client.failures; guess += 1) {
      const wrong = await query('fleet.overview', {
        ...bearer(`eosf_${guess.toString(16).padStart(16, '0')}_${'g'.repeat(43)}`),
        'x-forwarded-for': guesser,
      });
      expect(wrong.status).toBe(401);
    }
    const locked = await query('fleet.overview', {
      ...bearer(`eosf_ffffffffffffffff_${'g'.repeat(43)}`),
      'x-forwarded-for': guesser,
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(messageOf(locked.body)).toContain('Too many refused API tokens');

    const elsewhere = await query('fleet.overview', {
      ...bearer(`eosf_ffffffffffffffff_${'g'.repeat(43)}`),
      'x-forwarded-for': freshAddress(),
    });
    expect(elsewhere.status).toBe(401);
    // a valid token cannot be guessed (256 random bits): it is never throttled
    expect(
      (await query('fleet.overview', { ...bearer(token), 'x-forwarded-for': guesser })).status,
    ).toBe(200);
    expect(
      await app.db.auditEvent.count({
        where: { action: 'api_token.locked', ipAddress: guesser },
      }),
    ).toBe(1);
  });
});
