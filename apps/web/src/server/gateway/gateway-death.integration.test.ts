// Two web processes on one database, and one of them killed with SIGKILL: the devices it held
// stop showing online on the other within one heartbeat interval (each process renews a lease;
// the survivors mark a dead one's devices offline), while the survivor's own devices stay online.
// Also: a cancel made on one process reaches the device held by the other (LISTEN/NOTIFY).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../services/context';
import { cancelCommand, createCommand } from '../services/commands/commands';
import { getDevice } from '../services/devices/manage-device';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { eventually } from '../testing/eventually';
import { createTestApp } from '../testing/test-app';
import { enroll, newIdentity } from './testing/simulated-agent';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HEARTBEAT_MS = 3_000;

describe('a gateway process that dies', () => {
  let app: Awaited<ReturnType<typeof createTestApp>>;
  let local: Awaited<ReturnType<typeof app.listen>>;
  let child: ChildProcess;
  let otherUrl: string;

  beforeAll(async () => {
    app = await createTestApp();
    local = await app.listen({ heartbeatMs: HEARTBEAT_MS });
    // node itself (not the tsx wrapper, which would survive as a parent): SIGKILL hits the server
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(HERE, 'testing/gateway-process.ts'),
        app.url,
        String(HEARTBEAT_MS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
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
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await local.close();
    await app.close();
  });

  it('its devices go offline within one heartbeat interval; the other process keeps its own', async () => {
    const ctx = { db: app.db, actor: SYSTEM_ACTOR };
    const { token } = await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true });
    const onDead = newIdentity();
    const onLive = newIdentity();
    const doomed = await enroll(otherUrl, onDead, token);
    await doomed.next('welcome');
    const survivor = await enroll(local.baseUrl, onLive, token);
    await survivor.next('welcome');
    const online = async (deviceId: string) => (await getDevice(ctx, { deviceId })).online;
    await eventually(
      async () => [await online(onDead.deviceId), await online(onLive.deviceId)],
      (both) => both.every(Boolean),
    );

    // a cancel made here reaches the device held by the other process
    const command = await createCommand(ctx, { deviceId: onDead.deviceId, kind: 'check' });
    expect((await doomed.next('command')).id).toBe(command.id);
    expect((await cancelCommand(ctx, { commandId: command.id })).outcome).toBe('cancel_requested');
    expect(await doomed.next('cancel')).toEqual({ type: 'cancel', commandId: command.id });

    // two heartbeats of both running: nobody is taken for dead
    await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_MS));
    expect(await online(onDead.deviceId)).toBe(true);
    expect(await online(onLive.deviceId)).toBe(true);

    const killed = Date.now();
    child.kill('SIGKILL');
    await eventually(
      () => online(onDead.deviceId),
      (value) => !value,
      30_000,
    );
    const offlineAfterMs = Date.now() - killed;
    console.info(
      `devices of a killed gateway offline after ${offlineAfterMs} ms (heartbeat ${HEARTBEAT_MS} ms)`,
    );
    expect(offlineAfterMs).toBeLessThanOrEqual(HEARTBEAT_MS + 500);
    expect(await online(onLive.deviceId)).toBe(true);
    survivor.close();
  });
});
