// The whole agent (real ws client, journal, inventory, process runner) against a real ws server
// speaking /agent/v1 and a device laid out in a temp dir with stub tools.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ResultFrame } from '@eos-fleet/shared/protocol/index';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentDeps, type RunningAgent, startAgent } from './agent';
import { silentLogger } from './logger';
import { verifySlot } from './slot-verification';
import { systemClock } from './clock';
import { waitUntilGone } from './testing/processes';
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

async function start(
  overrides: Partial<Record<string, unknown>> = {},
  deps: AgentDeps = {},
): Promise<RunningAgent> {
  const agent = await startAgent(device.config(gateway.url, overrides), {
    ...(process.env.AGENT_TEST_LOG ? {} : { log: silentLogger }),
    // Unconfirmed results are re-sent quickly here; the default starts at 2 s.
    resultRetry: { initialMs: 100, maxMs: 400 },
    ...deps,
  });
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
    expect(enroll).toMatchObject({
      deviceId: id,
      enrollmentToken: 'demo-token',
      publicKey: first.identity.publicKey,
    });
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
    gateway.onWelcome.push(
      { id: 'queued-1', kind: 'inventory.refresh' },
      { id: 'queued-2', kind: 'check' },
    );
    await start();
    expect(await gateway.waitFor(resultOf('queued-1'))).toMatchObject({ status: 'succeeded' });
    expect(await gateway.waitFor(resultOf('queued-2'))).toMatchObject({ status: 'succeeded' });
    expect(gateway.framesOf('error')).toEqual([]);
  });

  it('reconnects with backoff when the server drops it', async () => {
    const agent = await start();
    const id = await online(agent);
    for (const socket of (gateway as unknown as { wss: { clients: Set<{ terminate(): void }> } })
      .wss.clients)
      socket.terminate();
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
      data: {
        updateAvailable: false,
        currentRootPrefixHash: await device.slotHash('p.lxreadonly'),
      },
    });
    const update = 'b'.repeat(40);
    await device.setCheck({ updateHash: update });
    gateway.command(id, 'c-update', 'check');
    expect(await gateway.waitFor(resultOf('c-update'))).toMatchObject({
      status: 'succeeded',
      data: { updateAvailable: true, updateRootPrefixHash: update },
    });
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
    await gateway.waitFor(
      () => gateway.framesOf('result').filter((r) => r.commandId === 'dup-1').length === 2,
    );
    const results = gateway.framesOf('result').filter((r) => r.commandId === 'dup-1');
    expect(results[1]).toEqual(first);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
    expect(gateway.framesOf('ack').filter((a) => a.commandId === 'dup-1')).toHaveLength(1);

    // Across a restart too: the journal answers.
    stop(agent);
    const again = await start();
    await online(again);
    gateway.command(id, 'dup-1', 'check');
    await gateway.waitFor(
      () => gateway.framesOf('result').filter((r) => r.commandId === 'dup-1').length === 3,
    );
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
    gateway.command(id, 'p-1', 'flake.register', {
      engine: 'podman',
      container: '--privileged',
      app: '/usr/share/flakes/bin/x',
    });
    expect(await gateway.waitFor(resultOf('u-1'))).toMatchObject({
      status: 'failed',
      kind: 'format.disk',
      error: { code: 'unknown_command' },
    });
    expect(await gateway.waitFor(resultOf('p-1'))).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_params' },
    });
    expect(await device.calls()).toEqual([]);
  });

  it('survives malformed frames from the server and keeps serving', async () => {
    const agent = await start({
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, firstConnectJitterMs: 0 },
    });
    const id = await online(agent);
    gateway.sendTo(id, 'not json');
    gateway.sendTo(id, JSON.stringify({ type: 'command', id: 'x' }));
    gateway.sendTo(id, JSON.stringify({ type: 'launch-missiles' }));
    await gateway.waitFor(() => gateway.framesOf('error').length === 3);
    expect(gateway.framesOf('error').map((e) => e.code)).toEqual([
      'invalid_frame',
      'invalid_frame',
      'invalid_frame',
    ]);
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
    const withFlake = await gateway.waitFor(() =>
      gateway.framesOf('inventory').find((f) => f.inventory.flakes.length === 1),
    );
    expect(withFlake.inventory.flakes[0]).toEqual({
      engine: 'podman',
      name: 'joe',
      appPath: '/usr/share/flakes/bin/joe',
      target: '/usr/bin/joe',
      container: 'registry.opensuse.org/home/eos/joe',
      base: null,
    });
    gateway.command(id, 'f-2', 'flake.remove', {
      engine: 'podman',
      app: '/usr/share/flakes/bin/joe',
    });
    await gateway.waitFor(resultOf('f-2'));
    const frames = gateway.framesOf('inventory');
    expect(frames[frames.length - 1]?.inventory.flakes).toEqual([]);
  });
});

describe('apply', () => {
  const deadline = () => new Date(Date.now() + 3_600_000).toISOString();
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  /** Params for an image the device will not get to write (a check or a fit refuses it first). */
  const otherImage = (expectedRootPrefixHash: string) => ({
    expectedRootPrefixHash,
    expectedRootSha256: 'f'.repeat(64),
    expectedRootBytes: 1024,
    deadline: deadline(),
  });

  /**
   * An apply up to kexec. os-update's stand-in does not write: the test puts the image into slot
   * B itself, as dd would. Returns the image (its whole-slot hash is what the apply asks for).
   */
  async function applyUntilKexec(): Promise<{
    id: string;
    agent: RunningAgent;
    newHash: string;
    image: Buffer;
  }> {
    const image = randomBytes(80 * 1024);
    const newHash = await device.writeSlot('p.lxrootclone1', image);
    await device.setCheck({ updateHash: newHash });
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-1', 'apply', {
      expectedRootPrefixHash: newHash,
      expectedRootSha256: sha256(image),
      expectedRootBytes: image.length,
      deadline: deadline(),
    });
    await gateway.waitFor(() =>
      gateway
        .framesOf('progress')
        .find((p) => p.commandId === 'apply-1' && p.phase === 'rebooting'),
    );
    const entry = agent.journal.get('apply-1');
    expect(entry).toMatchObject({
      state: 'awaiting_reboot',
      reboot: {
        expectedRootPrefixHash: newHash,
        expectedRootSha256: sha256(image),
        expectedRootBytes: image.length,
        previousSlot: 'p.lxreadonly',
        previousBootId: device.bootId,
      },
    });
    expect(
      gateway
        .framesOf('progress')
        .some((p) => p.phase === 'downloading' && (p.bytesWritten ?? 0) > 0),
    ).toBe(true);
    // kexec: every process dies.
    stop(agent);
    await gateway.waitFor(() => !gateway.connected(id));
    return { id, agent, newHash, image };
  }

  it('journals before kexec and reports success after the new slot is committed', async () => {
    const { newHash } = await applyUntilKexec();
    expect(gateway.framesOf('ack').filter((a) => a.commandId === 'apply-1')).toHaveLength(1);
    expect(await device.calls()).toEqual(
      expect.arrayContaining(['fleet --getkey', 'os-update --check', 'os-update --apply']),
    );

    // kexec boot into slot B: COMMIT_UPDATE pending, no verdict yet.
    await device.boot('p.lxrootclone1', true);
    const verifying = await start();
    await online(verifying);
    await gateway.waitFor(() =>
      gateway
        .framesOf('progress')
        .find((p) => p.commandId === 'apply-1' && p.phase === 'verifying'),
    );
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

  it('an apply stopped before kexec (systemctl stop) ends os-update and is reported interrupted', async () => {
    const newHash = await device.writeSlot('p.lxrootclone1', randomBytes(80 * 1024));
    await device.setCheck({ updateHash: newHash });
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-stop', 'apply', {
      ...otherImage(newHash),
      expectedRootBytes: 80 * 1024,
    });
    const pid = await gateway.waitFor(() => device.applyPid());
    stop(agent);
    // The tool's process group went with the agent: nothing keeps writing the slot.
    await waitUntilGone(pid);
    // systemd restarts the agent in the same boot: the slot may be half-written, never booted.
    await start();
    expect(await gateway.waitFor(resultOf('apply-stop'))).toMatchObject({
      status: 'failed',
      error: { code: 'interrupted' },
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

  it('reports content_mismatch when the commit gate found the new slot half-written, not rolled_back', async () => {
    const { image } = await applyUntilKexec();
    // The stream was cut after 48 KiB: dd exited 0 and EOS kexec'd into a slot that is half the
    // new image and half what was there before.
    const cut = Buffer.concat([image.subarray(0, 48 * 1024), randomBytes(32 * 1024)]);
    await device.writeSlot('p.lxrootclone1', cut);

    // The kexec boot: the agent of this boot waits for the gate; the gate's --verify-slot refuses.
    await device.boot('p.lxrootclone1', true);
    const onNewSlot = await start();
    await online(onNewSlot);
    await gateway.waitFor(() =>
      gateway
        .framesOf('progress')
        .find((p) => p.commandId === 'apply-1' && p.phase === 'verifying'),
    );
    const verdict = await verifySlot(device.config(gateway.url), onNewSlot.journal, systemClock);
    expect(verdict).toMatchObject({ kind: 'mismatch' });
    expect(verdict.message).toContain(`is ${sha256(cut)}, expected ${sha256(image)}`);
    // What the gate writes before it reboots uncommitted (image/overlay/.../commit-gate).
    const report = device.config(gateway.url).paths.commitGateReport;
    await mkdir(dirname(report), { recursive: true });
    await writeFile(
      report,
      `result=rollback\nreason=content_mismatch: ${verdict.message}\nboot_id=${device.bootId}\ncmdline=x\nat=now\n`,
    );
    stop(onNewSlot);

    // The firmware boots the old slot (nothing was committed).
    await device.boot('p.lxreadonly', false);
    await start();
    const result = await gateway.waitFor(resultOf('apply-1'));
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'content_mismatch' },
      data: { activeSlot: 'p.lxreadonly', previousSlot: 'p.lxreadonly' },
    });
    expect(result.error?.message).toContain(`is ${sha256(cut)}, expected ${sha256(image)}`);
  });

  it('refuses an image larger than the slot it would go to, before writing', async () => {
    await device.setCheck({ updateHash: 'c'.repeat(40) });
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-big', 'apply', {
      ...otherImage('c'.repeat(40)),
      expectedRootBytes: 64 * 1024 + 1,
    });
    expect(await gateway.waitFor(resultOf('apply-big'))).toMatchObject({
      status: 'failed',
      error: { code: 'apply_failed' },
    });
    expect(resultOf('apply-big')()?.error?.message).toMatch(
      /65537 bytes, p\.lxrootclone1 holds 65536; nothing was written/,
    );
    expect((await device.calls()).filter((c) => c.includes('--apply'))).toEqual([]);
  });

  it('fails with the output when os-update --apply returns (no space in the slot)', async () => {
    const newHash = 'c'.repeat(40);
    await device.setCheck({ updateHash: newHash });
    await device.setApply('no-space');
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'apply-2', 'apply', otherImage(newHash));
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
    gateway.command(id, 'apply-3', 'apply', otherImage('e'.repeat(40)));
    expect(await gateway.waitFor(resultOf('apply-3'))).toMatchObject({
      status: 'failed',
      error: { code: 'image_mismatch' },
    });
    gateway.command(id, 'apply-4', 'apply', {
      ...otherImage('e'.repeat(40)),
      deadline: new Date(Date.now() - 1000).toISOString(),
    });
    expect(await gateway.waitFor(resultOf('apply-4'))).toMatchObject({
      status: 'failed',
      error: { code: 'deadline_exceeded' },
    });
    expect((await device.calls()).filter((c) => c.includes('--apply'))).toEqual([]);
  });

  it('rolls back and judges the outcome after the reboot', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.command(id, 'rb-1', 'rollback');
    await gateway.waitFor(() =>
      gateway.framesOf('progress').find((p) => p.commandId === 'rb-1' && p.phase === 'rebooting'),
    );
    await agent.processor.idle();
    expect(await device.calls()).toEqual(['os-update --rollback --reboot']);
    stop(agent);
    await device.boot('p.lxrootclone1', false);
    await start();
    expect(await gateway.waitFor(resultOf('rb-1'))).toMatchObject({
      status: 'succeeded',
      data: { activeSlot: 'p.lxrootclone1' },
    });
  });
});

describe('results are kept until the server has stored them', () => {
  it('re-sends a result answered `internal` on the same connection until result_stored, then stops', async () => {
    const agent = await start();
    const id = await online(agent);
    // The server's database is down for the first two tries.
    gateway.resultAnswers.push('internal', 'internal');
    gateway.command(id, 'db-down', 'check');
    await gateway.waitFor(() => gateway.resultsOf('db-down').length === 3);
    await gateway.waitFor(() => agent.journal.get('db-down')?.confirmed === true);
    expect(agent.processor.outbox.pending()).toEqual([]);
    const results = gateway.resultsOf('db-down');
    expect(results[2]).toEqual(results[0]);
    // One connection throughout: re-sent on the same socket, not by reconnecting.
    expect(gateway.framesOf('enroll')).toHaveLength(1);
    expect(gateway.framesOf('auth')).toHaveLength(0);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
    // Nothing more after result_stored: a later command's round trip sees no fourth copy.
    gateway.command(id, 'after', 'inventory.refresh');
    await gateway.waitFor(resultOf('after'));
    await gateway.waitFor(() => agent.journal.get('after')?.confirmed === true);
    expect(gateway.resultsOf('db-down')).toHaveLength(3);
  });

  it('stops re-sending a result the server refuses for good (no such command)', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.resultAnswers.push('unknown');
    gateway.command(id, 'forgotten', 'check');
    await gateway.waitFor(() => agent.journal.get('forgotten')?.confirmed === true);
    expect(agent.processor.outbox.pending()).toEqual([]);
    expect(gateway.resultsOf('forgotten')).toHaveLength(1);
  });

  it('keeps an unanswered result across a restart and sends it after the next welcome', async () => {
    const agent = await start();
    const id = await online(agent);
    gateway.resultAnswers.push('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none');
    gateway.command(id, 'unanswered', 'check');
    await gateway.waitFor(() => gateway.resultsOf('unanswered').length >= 2);
    stop(agent);
    await gateway.waitFor(() => !gateway.connected(id));
    expect(agent.journal.get('unanswered')?.confirmed).toBe(false);
    const sentBefore = gateway.resultsOf('unanswered').length;
    gateway.resultAnswers.length = 0;
    const restarted = await start();
    await online(restarted);
    await gateway.waitFor(() => restarted.journal.get('unanswered')?.confirmed === true);
    expect(gateway.resultsOf('unanswered').length).toBeGreaterThan(sentBefore);
    expect((await device.calls()).filter((c) => c.endsWith('--check'))).toHaveLength(1);
  });
});

describe('cancel', () => {
  it('drops a queued command with a cancelled result, ignores a running one, and never runs a command cancelled before it arrived', async () => {
    const agent = await start();
    const id = await online(agent);
    await device.holdTools();
    gateway.command(id, 'running', 'check');
    await gateway.waitFor(() => agent.journal.get('running')?.state === 'running');
    gateway.command(id, 'queued', 'flake.pull', {
      engine: 'podman',
      uri: 'registry.opensuse.org/home/eos/joe',
    });
    await gateway.waitFor(() => gateway.framesOf('ack').find((a) => a.commandId === 'queued'));

    gateway.cancel(id, 'queued');
    gateway.cancel(id, 'running');
    expect(await gateway.waitFor(resultOf('queued'))).toMatchObject({
      status: 'failed',
      kind: 'flake.pull',
      error: { code: 'cancelled' },
    });
    await device.releaseTools();
    // The running one finishes and reports its real result.
    expect(await gateway.waitFor(resultOf('running'))).toMatchObject({ status: 'succeeded' });
    await agent.processor.idle();
    expect((await device.calls()).filter((c) => c.startsWith('flake-ctl'))).toEqual([]);
    expect(gateway.resultsOf('running')).toHaveLength(1);

    // A cancel that overtook its command (reordered across reconnects), and survives a restart.
    gateway.cancel(id, 'early');
    await gateway.waitFor(() => agent.journal.get('early')?.state === 'cancelled');
    stop(agent);
    const restarted = await start();
    await online(restarted);
    gateway.command(id, 'early', 'rollback');
    expect(await gateway.waitFor(resultOf('early'))).toMatchObject({
      status: 'failed',
      kind: 'rollback',
      error: { code: 'cancelled' },
    });
    await restarted.processor.idle();
    expect(await device.calls()).not.toContain('os-update --rollback --reboot');
    // A re-delivery of it gets the same answer, still without running.
    gateway.command(id, 'early', 'rollback');
    await gateway.waitFor(() => gateway.resultsOf('early').length === 2);
    expect(gateway.resultsOf('early')[1]).toEqual(gateway.resultsOf('early')[0]);
    expect(await device.calls()).not.toContain('os-update --rollback --reboot');
  });
});

describe('device text the server cannot store', () => {
  it('reports an inventory from an os-release holding a NUL, with U+FFFD in its place', async () => {
    await device.writeOsRelease(
      'NAME="EOS"\nID=eos\nVERSION_ID="1.0"\nPRETTY_NAME="SUSE EOS\u00001.0"\n',
    );
    const agent = await start();
    await online(agent);
    expect(gateway.framesOf('enroll')[0]?.facts.osRelease.prettyName).toBe('SUSE EOS\uFFFD1.0');
    const { inventory } = await gateway.waitFor(() => gateway.framesOf('inventory')[0]);
    expect(inventory.osRelease).toEqual({
      name: 'EOS',
      id: 'eos',
      versionId: '1.0',
      prettyName: 'SUSE EOS\uFFFD1.0',
    });
  });
});
