// The whole agent (real ws client, journal, inventory, process runner) against a real ws server
// speaking /agent/v1 and a device laid out in a temp dir with stub tools.
import { randomBytes } from 'node:crypto';
import { type ResultFrame } from '@eos-fleet/shared/protocol/index';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from './agent';
import { silentLogger } from './logger';
import { FakeDevice } from './testing/fake-device';
import { TestGateway } from './testing/test-gateway';

let gateway: TestGateway;
let device: FakeDevice;
const agents: RunningAgent[] = [];

beforeEach(async () => {
  gateway = await TestGateway.start();
  device = await FakeDevice.create();
});

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.stop();
  await gateway.close();
  await device.remove();
});

async function start(overrides: Partial<Record<string, unknown>> = {}): Promise<RunningAgent> {
  const agent = await startAgent(device.config(gateway.url, overrides), { log: process.env.AGENT_TEST_LOG ? undefined : silentLogger });
  agents.push(agent);
  return agent;
}

async function online(agent: RunningAgent): Promise<string> {
  const id = agent.identity.deviceId;
  await gateway.waitFor(() => gateway.connected(id) && agent.connection.status === 'ready');
  return id;
}

function resultOf(commandId: string): () => ResultFrame | undefined {
  return () => gateway.framesOf('result').find((r) => r.commandId === commandId);
}

function stop(agent: RunningAgent): void {
  agent.stop();
  agents.splice(agents.indexOf(agent), 1);
}

describe('handshake', () => {
  it('enrolls with a verified signature, reports inventory, and authenticates by key after a restart', async () => {
    const first = await start();
    const id = await online(first);
    const enroll = gateway.framesOf('enroll')[0];
    expect(enroll).toMatchObject({ deviceId: id, enrollmentToken: 'demo-token', publicKey: first.identity.publicKey });
    expect(enroll?.facts.imageName).toBe('EOS.x86_64-AB-TW');

    const inventory = await gateway.waitFor(() => gateway.framesOf('inventory')[0]);
    expect(inventory.inventory).toMatchObject({
      rootPrefixHash: await device.slotHash('p.lxreadonly'),
      activeSlot: 'p.lxreadonly',
      slotSizeBytes: 64 * 1024,
      imageName: 'EOS.x86_64-AB-TW',
      updateServer: 'ec2-user@update.example.org',
      profile: 'AB',
      osRelease: { id: 'eos', versionId: '1.0', prettyName: 'SUSE EOS 1.0' },
      bootId: device.bootId,
      commitPending: false,
      flakes: [],
    });

    stop(first);
    await gateway.waitFor(() => !gateway.connected(id));
    const second = await start();
    expect(second.identity.deviceId).toBe(id);
    await online(second);
    expect(gateway.framesOf('auth')).toHaveLength(1);
    expect(gateway.framesOf('enroll')).toHaveLength(1);
  });

  it('waits while pending and becomes ready when accepted', async () => {
    gateway.autoAccept = false;
    const agent = await start();
    await gateway.waitFor(() => agent.connection.status === 'pending');
    expect(gateway.framesOf('inventory')).toHaveLength(0);
    gateway.accept(agent.identity.deviceId);
    await gateway.waitFor(() => gateway.framesOf('inventory')[0]);
    expect(agent.connection.status).toBe('ready');
  });

  it('handles commands sent right behind welcome', async () => {
    gateway.onWelcome.push({ id: 'queued-1', kind: 'inventory.refresh' }, { id: 'queued-2', kind: 'check' });
    await start();
    expect(await gateway.waitFor(resultOf('queued-1'))).toMatchObject({ status: 'succeeded' });
    expect(await gateway.waitFor(resultOf('queued-2'))).toMatchObject({ status: 'succeeded' });
    expect(gateway.framesOf('error')).toEqual([]);
  });

  it('reconnects with backoff when the server drops it', async () => {
    const agent = await start();
    const id = await online(agent);
    for (const socket of (gateway as unknown as { wss: { clients: Set<{ terminate(): void }> } }).wss.clients) socket.terminate();
    await gateway.waitFor(() => gateway.framesOf('auth').length === 1 && gateway.connected(id));
  });
});

describe('commands', () => {
  it('parses check output and does not trust the exit code', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'c-same', 'check');
    expect(await gateway.waitFor(resultOf('c-same'))).toMatchObject({
      status: 'succeeded',
      data: { updateAvailable: false, currentRootPrefixHash: await device.slotHash('p.lxreadonly') },
    });
    const update = 'b'.repeat(40);
    await device.setCheck({ updateHash: update });
    gateway.command(id, 'c-update', 'check');
    expect(await gateway.waitFor(resultOf('c-update'))).toMatchObject({ status: 'succeeded', data: { updateAvailable: true, updateRootPrefixHash: update } });
    await device.setCheck('error');
    gateway.command(id, 'c-error', 'check', { server: 'ec2-user@other.example.org' });
    expect(await gateway.waitFor(resultOf('c-error'))).toMatchObject({
      status: 'failed',
      error: { code: 'check_failed' },
      output: expect.stringMatching(/Connection refused/) as unknown,
    });
    expect(await device.calls()).toContain(`os-update --server ec2-user@other.example.org --check`);
    expect((await device.calls()).filter((c) => c === 'fleet --getkey')).toHaveLength(3);
  });

  it('runs a re-delivered command once and answers with the stored result', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'dup-1', 'check');
    const first = await gateway.waitFor(resultOf('dup-1'));
    gateway.command(id, 'dup-1', 'check');
    await gateway.waitFor(() => gateway.framesOf('result').filter((r) => r.commandId === 'dup-1').length === 2);
    const results = gateway.framesOf('result').filter((r) => r.commandId === 'dup-1');
    expect(results[1]).toEqual(first);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
    expect(gateway.framesOf('ack').filter((a) => a.commandId === 'dup-1')).toHaveLength(1);

    // Across a restart too: the journal answers.
    stop(agent);
    const again = await start();
    await online(again);
    gateway.command(id, 'dup-1', 'check');
    await gateway.waitFor(() => gateway.framesOf('result').filter((r) => r.commandId === 'dup-1').length === 3);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
  });

  it('sends a result once more after the connection it went out on dropped', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.loseNextResult = true;
    gateway.command(id, 'lost-1', 'check');
    expect(await gateway.waitFor(resultOf('lost-1'))).toMatchObject({ status: 'succeeded' });
    expect(gateway.framesOf('auth')).toHaveLength(1);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
  });

  it('answers unknown kinds and invalid params with typed failed results', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'u-1', 'format.disk');
    gateway.command(id, 'p-1', 'flake.register', { engine: 'podman', container: '--privileged', app: '/usr/share/flakes/bin/x' });
    expect(await gateway.waitFor(resultOf('u-1'))).toMatchObject({ status: 'failed', kind: 'format.disk', error: { code: 'unknown_command' } });
    expect(await gateway.waitFor(resultOf('p-1'))).toMatchObject({ status: 'failed', error: { code: 'invalid_params' } });
    expect(await device.calls()).toEqual([]);
  });

  it('survives malformed frames from the server and keeps serving', async () => {
    const agent = await start({ reconnect: { initialDelayMs: 50, maxDelayMs: 200, firstConnectJitterMs: 0 } });
    const id = await online(agent);
    gateway.sendTo(id, 'not json');
    gateway.sendTo(id, JSON.stringify({ type: 'command', id: 'x' }));
    gateway.sendTo(id, JSON.stringify({ type: 'launch-missiles' }));
    await gateway.waitFor(() => gateway.framesOf('error').length === 3);
    expect(gateway.framesOf('error').map((e) => e.code)).toEqual(['invalid_frame', 'invalid_frame', 'invalid_frame']);
    gateway.command(id, 'after-garbage', 'inventory.refresh');
    expect(await gateway.waitFor(resultOf('after-garbage'))).toMatchObject({ status: 'succeeded' });
    expect(gateway.framesOf('auth')).toHaveLength(0);
  });

  it('registers and removes a flake with flake-ctl argv and reports it in the inventory', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'f-1', 'flake.register', {
      engine: 'podman',
      container: 'registry.opensuse.org/home/eos/joe',
      app: '/usr/share/flakes/bin/joe',
      opts: ['--net host'],
    });
    expect(await gateway.waitFor(resultOf('f-1'))).toMatchObject({ status: 'succeeded' });
    expect(await device.calls()).toContain(
      'flake-ctl podman register --container registry.opensuse.org/home/eos/joe --app /usr/share/flakes/bin/joe --opt \\--net host',
    );
    const withFlake = await gateway.waitFor(() => gateway.framesOf('inventory').find((f) => f.inventory.flakes.length === 1));
    expect(withFlake.inventory.flakes[0]).toEqual({
      engine: 'podman',
      name: 'joe',
      appPath: '/usr/share/flakes/bin/joe',
      target: '/usr/bin/joe',
      container: 'registry.opensuse.org/home/eos/joe',
      base: null,
    });
    gateway.command(id, 'f-2', 'flake.remove', { engine: 'podman', app: '/usr/share/flakes/bin/joe' });
    await gateway.waitFor(resultOf('f-2'));
    const frames = gateway.framesOf('inventory');
    expect(frames[frames.length - 1]?.inventory.flakes).toEqual([]);
  });
});

describe('apply', () => {
  const deadline = () => new Date(Date.now() + 3_600_000).toISOString();

  async function applyUntilKexec(): Promise<{ id: string; agent: RunningAgent; newHash: string }> {
    const newHash = await device.writeSlot('p.lxrootclone1', randomBytes(80 * 1024));
    await device.setCheck({ updateHash: newHash });
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-1', 'apply', { expectedRootPrefixHash: newHash, deadline: deadline() });
    await gateway.waitFor(() => gateway.framesOf('progress').find((p) => p.commandId === 'apply-1' && p.phase === 'rebooting'));
    const entry = agent.journal.get('apply-1');
    expect(entry).toMatchObject({
      state: 'awaiting_reboot',
      reboot: { expectedRootPrefixHash: newHash, previousSlot: 'p.lxreadonly', previousBootId: device.bootId },
    });
    expect(gateway.framesOf('progress').some((p) => p.phase === 'downloading' && (p.bytesWritten ?? 0) > 0)).toBe(true);
    // kexec: every process dies.
    stop(agent);
    await gateway.waitFor(() => !gateway.connected(id));
    return { id, agent, newHash };
  }

  it('journals before kexec and reports success after the new slot is committed', async () => {
    const { newHash } = await applyUntilKexec();
    expect(gateway.framesOf('ack').filter((a) => a.commandId === 'apply-1')).toHaveLength(1);
    expect(await device.calls()).toEqual(expect.arrayContaining(['fleet --getkey', 'os-update --check', 'os-update --apply']));

    // kexec boot into slot B: COMMIT_UPDATE pending, no verdict yet.
    await device.boot('p.lxrootclone1', true);
    const verifying = await start();
    await online(verifying);
    await gateway.waitFor(() => gateway.framesOf('progress').find((p) => p.commandId === 'apply-1' && p.phase === 'verifying'));
    expect(resultOf('apply-1')()).toBeUndefined();
    stop(verifying);

    // update_commit.service committed and rebooted: slot B without COMMIT_UPDATE.
    await device.boot('p.lxrootclone1', false);
    await start();
    expect(await gateway.waitFor(resultOf('apply-1'))).toMatchObject({
      status: 'succeeded',
      kind: 'apply',
      data: { rootPrefixHash: newHash, activeSlot: 'p.lxrootclone1', previousSlot: 'p.lxreadonly' },
    });
  });

  it('reports failed on the old slot after a power cycle before the commit', async () => {
    await applyUntilKexec();
    await device.boot('p.lxreadonly', false);
    await start();
    expect(await gateway.waitFor(resultOf('apply-1'))).toMatchObject({
      status: 'failed',
      error: { code: 'rolled_back' },
      data: { activeSlot: 'p.lxreadonly', previousSlot: 'p.lxreadonly' },
    });
  });

  it('fails with the output when os-update --apply returns (no space in the slot)', async () => {
    const newHash = 'c'.repeat(40);
    await device.setCheck({ updateHash: newHash });
    await device.setApply('no-space');
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-2', 'apply', { expectedRootPrefixHash: newHash, deadline: deadline() });
    expect(await gateway.waitFor(resultOf('apply-2'))).toMatchObject({
      status: 'failed',
      error: { code: 'apply_failed' },
      output: expect.stringMatching(/No space left on device/) as unknown,
    });
    expect(agent.journal.get('apply-2')?.state).toBe('done');
  });

  it('refuses to write an image other than the pinned one, and a passed deadline', async () => {
    await device.setCheck({ updateHash: 'd'.repeat(40) });
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-3', 'apply', { expectedRootPrefixHash: 'e'.repeat(40), deadline: deadline() });
    expect(await gateway.waitFor(resultOf('apply-3'))).toMatchObject({ status: 'failed', error: { code: 'image_mismatch' } });
    gateway.command(id, 'apply-4', 'apply', { expectedRootPrefixHash: 'e'.repeat(40), deadline: new Date(Date.now() - 1000).toISOString() });
    expect(await gateway.waitFor(resultOf('apply-4'))).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
    expect((await device.calls()).filter((c) => c.includes('--apply'))).toEqual([]);
  });

  it('rolls back and judges the outcome after the reboot', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'rb-1', 'rollback');
    await gateway.waitFor(() => gateway.framesOf('progress').find((p) => p.commandId === 'rb-1' && p.phase === 'rebooting'));
    await agent.processor.idle();
    expect(await device.calls()).toEqual(['os-update --rollback --reboot']);
    stop(agent);
    await device.boot('p.lxrootclone1', false);
    await start();
    expect(await gateway.waitFor(resultOf('rb-1'))).toMatchObject({ status: 'succeeded', data: { activeSlot: 'p.lxrootclone1' } });
  });
});
