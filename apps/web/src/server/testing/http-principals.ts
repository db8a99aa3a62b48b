// Who calls the real server in HTTP tests: operators signed in through better-auth (a session
// cookie) and API tokens of a role, made by the API token service as an operator would.
import type { OperatorRole } from '@eos-fleet/shared/domain';
import type { createTestApp } from './test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Sign `role` in over HTTP: the session cookie (`name=value`) and the operator. */
export async function signedInOperator(app: TestApp, baseUrl: string, role: OperatorRole) {
  const operator = await app.addOperator(role);
  const response = await fetch(`${baseUrl}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(baseUrl).origin },
    body: JSON.stringify({ email: operator.email, password: operator.password }),
  });
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}`);
  const cookie = response.headers
    .getSetCookie()
    .find((line) => line.startsWith('better-auth.session_token='))
    ?.split(';')[0];
  if (!cookie) throw new Error('no session cookie');
  return { operator, cookie };
}

/** An API token of `role` (made by an admin), as its `eosf_…` secret. */
export async function apiTokenOf(app: TestApp, role: OperatorRole): Promise<string> {
  const admin = await app.addOperator('admin');
  const caller = app.callerFor({ ...admin, disabled: false, mustChangePassword: false });
  const { token } = await caller.apiTokens.create({
    name: `${role} automation`,
    role,
    expiresInDays: 1,
  });
  return token;
}
