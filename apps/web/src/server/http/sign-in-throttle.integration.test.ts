// Sign-in guessing over HTTP against the real server, better-auth and PostgreSQL: forwarded
// headers believed only from trusted proxies, and limits per client and per account that stop
// the guesser without locking anyone else out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_LIMITS, type AttemptLimits } from '../services/operators/auth-attempts';
import { createTestApp } from '../testing/test-app';
import { rawRequest, sessionCookieOf } from './testing/raw-request';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;

function signIn(
  server: Server,
  email: string,
  password: string,
  { from, forwardedFor }: { from: string; forwardedFor?: string },
) {
  return rawRequest(server.baseUrl, '/api/auth/sign-in/email', {
    method: 'POST',
    localAddress: from,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    body: JSON.stringify({ email, password }),
  });
}

async function latestSessionAddress(app: TestApp, operatorId: string) {
  const session = await app.db.session.findFirst({
    where: { userId: operatorId },
    orderBy: { createdAt: 'desc' },
  });
  return session?.ipAddress;
}

describe('sign-in throttle: per client and per account, forwarded headers only from trusted proxies', () => {
  let app: TestApp;
  let direct: Server;
  let proxied: Server;
  const limits: AttemptLimits = {
    ...SIGN_IN_LIMITS,
    client: { ...SIGN_IN_LIMITS.client, failures: 8 },
    account: { failures: 6, spacingMs: 3_000 },
  };

  beforeAll(async () => {
    app = await createTestApp();
    // no trusted proxy (the default): X-Forwarded-For means nothing
    direct = await app.listen();
    // behind a proxy at 127.0.0.1 (what nginx in front of us would be)
    proxied = await app.listen({ trustedProxies: ['127.0.0.1'], signInLimits: limits });
  });
  afterAll(async () => {
    await direct.close();
    await proxied.close();
    await app.close();
  });

  it('a guesser with a fresh X-Forwarded-For per try is limited after 5; the admin elsewhere signs in', async () => {
    const admin = await app.addOperator('admin');
    const statuses: number[] = [];
    for (let guess = 0; guess < 12; guess += 1) {
      const response = await signIn(direct, admin.email, `wrong guess ${guess}`, {
        from: '127.0.0.1',
        forwardedFor: `198.51.100.${guess + 1}`,
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, SIGN_IN_LIMITS.pair.failures)).toEqual(
      Array(SIGN_IN_LIMITS.pair.failures).fill(401),
    );
    expect(statuses.slice(SIGN_IN_LIMITS.pair.failures)).toEqual(
      Array(12 - SIGN_IN_LIMITS.pair.failures).fill(429),
    );
    // the right password from the guesser's socket is refused too while locked
    const locked = await signIn(direct, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '198.51.100.99',
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(locked.text)).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });

    // the admin from another address is not locked out, and what is recorded is the socket's address
    const fine = await signIn(direct, admin.email, admin.password, {
      from: '127.0.0.2',
      forwardedFor: '203.0.113.66',
    });
    expect(fine.status).toBe(200);
    expect(sessionCookieOf(fine)).toBeDefined();
    expect(await latestSessionAddress(app, admin.id)).toBe('127.0.0.2');

    // every counted guess carries the socket's address, none a spoofed one
    const attempts = await app.db.authAttempt.findMany({ where: { account: admin.email } });
    expect(new Set(attempts.map((attempt) => attempt.clientAddress))).toEqual(
      new Set(['127.0.0.1', '127.0.0.2']),
    );
    const audit = await app.db.auditEvent.findMany({
      where: { action: 'sign_in.locked', targetId: admin.id },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ ipAddress: '127.0.0.1', actorType: 'system' });
  });

  it('behind a trusted proxy: the right-most untrusted X-Forwarded-For hop is the client', async () => {
    const admin = await app.addOperator('admin');
    // the client wrote 1.2.3.4 itself; the proxy appended the address it saw
    const response = await signIn(proxied, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '1.2.3.4, 192.0.2.10',
    });
    expect(response.status).toBe(200);
    expect(await latestSessionAddress(app, admin.id)).toBe('192.0.2.10');

    // a guesser behind the proxy is locked; another client behind the same proxy is not
    for (let guess = 0; guess < limits.pair.failures; guess += 1) {
      const wrong = await signIn(proxied, admin.email, 'not the password', {
        from: '127.0.0.1',
        forwardedFor: `10.9.9.${guess}, 192.0.2.66`,
      });
      expect(wrong.status).toBe(401);
    }
    const locked = await signIn(proxied, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.66',
    });
    expect(locked.status).toBe(429);
    const other = await signIn(proxied, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.67',
    });
    expect(other.status).toBe(200);
  });

  it('a client guessing many accounts is locked out of all of them, not the accounts for others', async () => {
    const victims = await Promise.all(
      Array.from({ length: limits.client.failures }, () => app.addOperator('viewer')),
    );
    for (const victim of victims) {
      const wrong = await signIn(proxied, victim.email, 'not the password', {
        from: '127.0.0.1',
        forwardedFor: '192.0.2.80',
      });
      expect(wrong.status).toBe(401);
    }
    const fresh = await app.addOperator('viewer');
    const sprayer = await signIn(proxied, fresh.email, fresh.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.80',
    });
    expect(sprayer.status).toBe(429);
    const owner = await signIn(proxied, fresh.email, fresh.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.81',
    });
    expect(owner.status).toBe(200);
    const audit = await app.db.auditEvent.findMany({
      where: { action: 'sign_in.locked', ipAddress: '192.0.2.80' },
    });
    expect(audit.some((event) => JSON.stringify(event.data).includes('"client"'))).toBe(true);
  });

  it('an account guessed at from many clients slows new clients down, never locks it', async () => {
    const admin = await app.addOperator('admin');
    // the admin's usual client has signed in before
    expect(
      (
        await signIn(proxied, admin.email, admin.password, {
          from: '127.0.0.1',
          forwardedFor: '192.0.2.100',
        })
      ).status,
    ).toBe(200);
    for (let client = 0; client < limits.account.failures; client += 1) {
      const wrong = await signIn(proxied, admin.email, 'not the password', {
        from: '127.0.0.1',
        forwardedFor: `198.18.0.${client + 1}`,
      });
      expect(wrong.status).toBe(401);
    }
    // a client new to the account must wait its turn...
    const slowed = await signIn(proxied, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.101',
    });
    expect(slowed.status).toBe(429);
    expect(Number(slowed.headers['retry-after'])).toBeLessThanOrEqual(3);
    // ...the usual client is not slowed at all...
    const usual = await signIn(proxied, admin.email, admin.password, {
      from: '127.0.0.1',
      forwardedFor: '192.0.2.100',
    });
    expect(usual.status).toBe(200);
    // ...and the new client gets in after the pace, with no lock
    const until = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < until && status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (
        await signIn(proxied, admin.email, admin.password, {
          from: '127.0.0.1',
          forwardedFor: '192.0.2.101',
        })
      ).status;
    }
    expect(status).toBe(200);
  });

  it('concurrent guesses cannot all slip past the same count', async () => {
    const admin = await app.addOperator('admin');
    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, guess) =>
        signIn(direct, admin.email, `parallel guess ${guess}`, {
          from: '127.0.0.3',
          forwardedFor: `198.51.100.${guess + 1}`,
        }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(SIGN_IN_LIMITS.pair.failures);
    expect(statuses.filter((status) => status === 429)).toHaveLength(
      15 - SIGN_IN_LIMITS.pair.failures,
    );
  });
});
