// Two web processes on one database: what an operator does through one reaches a device held by
// the other (LISTEN/NOTIFY), as when N gateways run behind a load balancer.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOSE_CODES } from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { acceptDevice, decommissionDevice } from '../services/devices/manage-device';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { createTestApp } from '../testing/test-app';
import { enroll, newIdentity } from './testing/simulated-agent';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(HERE, '../../../../../node_modules/.bin/tsx');

describe('a second gateway process', () => {
  let app: Awaited<ReturnType<typeof createTestApp>>;
  let child: ChildProcess;
  let otherUrl: string;

  beforeAll(async () => {
    app = await createTestApp();
    child = spawn(TSX, [path.join(HERE, 'testing/gateway-process.ts'), app.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    otherUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const port = output.match(/LISTENING (\d+)/)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
    });
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await app.close();
  });

  it('accepts, commands and revokes a device connected to the other process', async () => {
    const ctx = { db: app.db, actor: SYSTEM_ACTOR };
    const { token } = await createEnrollmentToken(ctx, { name: 'scale-out' });
    const identity = newIdentity();
    const connection = await enroll(otherUrl, identity, token);
    await connection.next('pending');

    // all three changes are made here, in the test process, never in the child
    await acceptDevice(ctx, { deviceId: identity.deviceId });
    await connection.next('welcome');
    const command = await createCommand(ctx, {
      deviceId: identity.deviceId,
      kind: 'inventory.refresh',
    });
    expect((await connection.next('command')).id).toBe(command.id);

    const started = Date.now();
    await decommissionDevice(ctx, { deviceId: identity.deviceId });
    expect((await connection.closed).code).toBe(CLOSE_CODES.rejected);
    expect(Date.now() - started).toBeLessThan(5_000);
    const presence = await app.db.devicePresence.findUniqueOrThrow({
      where: { deviceId: identity.deviceId },
    });
    expect(presence.gatewayId).toMatch(/^second-\d+$/); // written by the process that holds the socket
  });
});
