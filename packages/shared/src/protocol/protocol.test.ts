import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COMMAND_KINDS } from '../domain';
import {
  CLOSE_CODES,
  commandSchema,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  parseCommand,
  parseServerFrame,
  signedChallengeMessage,
} from './index';
import {
  ed25519PublicKeyFromBase64,
  ed25519RawPublicKeyBase64,
  verifyChallengeSignature,
} from './ed25519';

const deviceId = '3f0c6f8e-7d1a-4c1e-9b7a-2f5d7c1e9a10';
const hash = 'a'.repeat(40);

describe('signed challenge', () => {
  it('is the four documented lines', () => {
    expect(signedChallengeMessage({ purpose: 'auth', deviceId, nonce: 'n0nce-n0nce-n0nce' })).toBe(
      `eos-fleet-agent/v1\nauth\n${deviceId}\nn0nce-n0nce-n0nce`,
    );
  });

  it('verifies with raw and SPKI keys and refuses other purposes, devices and nonces', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const nonce = 'c29tZS1yYW5kb20tbm9uY2U=';
    const signature = sign(
      null,
      Buffer.from(signedChallengeMessage({ purpose: 'auth', deviceId, nonce })),
      privateKey,
    ).toString('base64');
    const raw = ed25519RawPublicKeyBase64(publicKey);
    const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    for (const encoded of [raw, spki]) {
      const key = ed25519PublicKeyFromBase64(encoded);
      expect(key).not.toBeNull();
      if (!key) continue;
      expect(
        verifyChallengeSignature({ publicKey: key, purpose: 'auth', deviceId, nonce, signature }),
      ).toBe(true);
      expect(
        verifyChallengeSignature({ publicKey: key, purpose: 'enroll', deviceId, nonce, signature }),
      ).toBe(false);
      expect(
        verifyChallengeSignature({
          publicKey: key,
          purpose: 'auth',
          deviceId,
          nonce: nonce + 'x',
          signature,
        }),
      ).toBe(false);
      expect(
        verifyChallengeSignature({
          publicKey: key,
          purpose: 'auth',
          deviceId: deviceId.replace('3', '4'),
          nonce,
          signature,
        }),
      ).toBe(false);
      expect(
        verifyChallengeSignature({
          publicKey: key,
          purpose: 'auth',
          deviceId,
          nonce,
          signature: 'AAAA',
        }),
      ).toBe(false);
    }
    expect(ed25519PublicKeyFromBase64('not base64!')).toBeNull();
    expect(ed25519PublicKeyFromBase64(Buffer.alloc(31).toString('base64'))).toBeNull();
  });
});

describe('frame parsing', () => {
  it('returns typed errors instead of throwing', () => {
    expect(parseServerFrame('{')).toEqual({
      ok: false,
      error: { code: 'invalid_frame', message: 'frame is not valid JSON' },
    });
    const unknown = parseServerFrame(JSON.stringify({ type: 'nope' }));
    expect(unknown.ok).toBe(false);
    const big = parseAgentFrame('x'.repeat(MAX_FRAME_BYTES + 1));
    expect(big.ok ? null : big.error.code).toBe('frame_too_large');
    const missing = parseAgentFrame(JSON.stringify({ type: 'ack' }));
    expect(missing.ok ? null : missing.error.message).toMatch(/commandId/);
  });

  it('accepts every server frame kind', () => {
    const now = new Date().toISOString();
    const frames = [
      {
        type: 'challenge',
        protocolVersion: 'v1',
        nonce: 'abcdefghijklmnopqrstuv',
        serverTime: now,
      },
      {
        type: 'welcome',
        deviceId,
        status: 'accepted',
        serverTime: now,
        heartbeatIntervalMs: 30000,
      },
      { type: 'pending', deviceId },
      { type: 'rejected', reason: 'decommissioned' },
      { type: 'command', id: 'cmd-1', kind: 'check', params: {} },
      { type: 'error', code: 'invalid_frame', message: 'x' },
    ];
    for (const frame of frames) expect(parseServerFrame(JSON.stringify(frame)).ok).toBe(true);
  });

  it('accepts agent frames and refuses a bad result code', () => {
    const now = new Date().toISOString();
    const ok = [
      {
        type: 'auth',
        protocolVersion: 'v1',
        deviceId,
        signature: Buffer.alloc(64).toString('base64'),
        agentVersion: '0.1.0',
      },
      { type: 'ack', commandId: 'cmd-1' },
      {
        type: 'progress',
        commandId: 'cmd-1',
        phase: 'downloading',
        bytesWritten: 10,
        totalBytes: 100,
      },
      {
        type: 'result',
        commandId: 'cmd-1',
        kind: 'check',
        status: 'succeeded',
        data: { updateAvailable: false, currentRootPrefixHash: hash },
        finishedAt: now,
      },
    ];
    for (const frame of ok) expect(parseAgentFrame(JSON.stringify(frame)).ok).toBe(true);
    const bad = {
      type: 'result',
      commandId: 'c',
      kind: 'check',
      status: 'failed',
      error: { code: 'oops', message: '' },
      finishedAt: now,
    };
    expect(parseAgentFrame(JSON.stringify(bad)).ok).toBe(false);
  });

  it('documents close codes in the application range', () => {
    for (const code of Object.values(CLOSE_CODES)) expect(code >= 4000 && code <= 4999).toBe(true);
    expect(CLOSE_CODES.authFailed).toBe(4001);
    expect(CLOSE_CODES.tooManyInvalidFrames).toBe(4008);
    expect(CLOSE_CODES.replaced).toBe(4009);
  });
});

describe('commands', () => {
  it('has a schema for every command kind of the domain and no other', () => {
    expect(commandSchema.options.map((option) => option.shape.kind.value).sort()).toEqual(
      [...COMMAND_KINDS].sort(),
    );
  });

  it('separates unknown kinds from invalid params', () => {
    expect(parseCommand({ kind: 'format-disk', params: {} })).toMatchObject({
      ok: false,
      error: { code: 'unknown_command' },
    });
    expect(
      parseCommand({ kind: 'apply', params: { expectedRootPrefixHash: 'xyz' } }),
    ).toMatchObject({
      ok: false,
      error: { code: 'invalid_params' },
    });
  });

  it('applies defaults and narrows per kind', () => {
    const parsed = parseCommand({
      kind: 'flake.register',
      params: {
        engine: 'podman',
        container: 'registry.opensuse.org/suse/alp/joe',
        app: '/usr/share/flakes/bin/joe',
      },
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        kind: 'flake.register',
        params: {
          engine: 'podman',
          container: 'registry.opensuse.org/suse/alp/joe',
          app: '/usr/share/flakes/bin/joe',
          layers: [],
          opts: [],
          force: false,
        },
      },
    });
    expect(parseCommand({ kind: 'inventory.refresh', params: undefined }).ok).toBe(true);
  });

  it('refuses values that could become options or reach a remote shell', () => {
    const deadline = new Date().toISOString();
    const bad = [
      {
        kind: 'apply',
        params: { expectedRootPrefixHash: hash, deadline, imageName: 'x; rm -rf /' },
      },
      { kind: 'apply', params: { expectedRootPrefixHash: hash, deadline, imageName: 'EOS.raw' } },
      // an apply must pin the whole partition's content, not just its first 10 MiB
      { kind: 'apply', params: { expectedRootPrefixHash: hash, deadline } },
      {
        kind: 'apply',
        params: {
          expectedRootPrefixHash: hash,
          expectedRootSha256: 'B'.repeat(64),
          expectedRootBytes: 1,
          deadline,
        },
      },
      { kind: 'check', params: { server: '-oProxyCommand=sh' } },
      {
        kind: 'flake.register',
        params: { engine: 'podman', container: '--privileged', app: '/usr/share/flakes/bin/x' },
      },
      {
        kind: 'flake.register',
        params: { engine: 'podman', container: 'c', app: '/usr/share/flakes/../../etc/x' },
      },
      { kind: 'flake.register', params: { engine: 'firecracker', vm: 'v', app: 'relative' } },
      {
        kind: 'flake.remove',
        params: { engine: 'podman', container: 'c', app: '/usr/share/flakes/bin/x' },
      },
      { kind: 'flake.remove', params: { engine: 'firecracker' } },
      {
        kind: 'flake.pull',
        params: { engine: 'firecracker', name: 'v', kisImage: 'file:///etc/shadow' },
      },
      {
        kind: 'flake.pull',
        params: { engine: 'firecracker', name: 'v', rootfs: 'https://e.org/r' },
      },
    ];
    for (const command of bad)
      expect(parseCommand(command).ok, JSON.stringify(command)).toBe(false);
    const good = [
      {
        kind: 'apply',
        params: {
          expectedRootPrefixHash: hash,
          expectedRootSha256: 'b'.repeat(64),
          expectedRootBytes: 1200 * 1024 * 1024,
          deadline,
          imageName: 'EOS.aarch64-RPI-TW',
          server: 'ec2-user@update.example.org',
        },
      },
      { kind: 'flake.remove', params: { engine: 'firecracker', vm: 'mvm' } },
      {
        kind: 'flake.pull',
        params: { engine: 'firecracker', name: 'v', kisImage: 'https://e.org/v.tar.xz' },
      },
      {
        kind: 'flake.pull',
        params: {
          engine: 'firecracker',
          name: 'v',
          rootfs: 'https://e.org/r',
          kernel: 'https://e.org/k',
        },
      },
      {
        kind: 'flake.register',
        params: {
          engine: 'firecracker',
          vm: 'v',
          app: '/usr/share/flakes/bin/v',
          overlaySize: '20GiB',
          noNet: true,
        },
      },
    ];
    for (const command of good)
      expect(parseCommand(command).ok, JSON.stringify(command)).toBe(true);
  });
});

describe('text PostgreSQL cannot store', () => {
  const inventory = {
    rootPrefixHash: null,
    activeSlot: null,
    slotSizeBytes: null,
    imageName: null,
    updateServer: null,
    arch: 'x86_64',
    profile: null,
    osRelease: {},
    kernelRelease: null,
    bootId: 'b',
    commitPending: false,
    flakes: [],
    agentVersion: '1',
    stateDiskFreeBytes: null,
    collectedAt: new Date().toISOString(),
  };
  it('refuses NUL and lone surrogates in reported facts, with a typed error naming the field', () => {
    for (const bad of ['EOS\u0000', 'x\ud800y', '\udc00']) {
      const parsed = parseAgentFrame(
        JSON.stringify({
          type: 'inventory',
          inventory: { ...inventory, osRelease: { name: bad } },
        }),
      );
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.code).toBe('invalid_frame');
        expect(parsed.error.message).toMatch(/inventory\.osRelease\.name: .*NUL/);
      }
    }
    expect(
      parseAgentFrame(
        JSON.stringify({
          type: 'inventory',
          inventory: { ...inventory, osRelease: { name: 'EOS 😀' } },
        }),
      ).ok,
    ).toBe(true);
  });
  it('escapes them in command output so the result itself is kept', () => {
    const parsed = parseAgentFrame(
      JSON.stringify({
        type: 'result',
        commandId: 'c1',
        kind: 'check',
        status: 'succeeded',
        output: 'a\u0000b\ud800',
        finishedAt: new Date().toISOString(),
      }),
    );
    expect(parsed.ok && parsed.value.type === 'result' && parsed.value.output).toBe(
      'a\uFFFDb\uFFFD',
    );
  });
});

describe('cancel and result_stored', () => {
  it('are server frames', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'cancel', commandId: 'c1' })).ok).toBe(true);
    expect(parseServerFrame(JSON.stringify({ type: 'result_stored', commandId: 'c1' })).ok).toBe(
      true,
    );
    expect(
      parseServerFrame(JSON.stringify({ type: 'result_stored', commandId: 'bad id' })).ok,
    ).toBe(false);
  });
});

describe('pinned image names', () => {
  it('accept NAME@<root prefix hash> and refuse anything else after the @', () => {
    const deadline = new Date().toISOString();
    const apply = (imageName: string) =>
      parseCommand({
        kind: 'apply',
        params: {
          imageName,
          expectedRootPrefixHash: hash,
          expectedRootSha256: 'b'.repeat(64),
          expectedRootBytes: 1,
          deadline,
        },
      }).ok;
    expect(apply(`EOS.x86_64-AB@${hash}`)).toBe(true);
    expect(apply('EOS.x86_64-AB@latest')).toBe(false);
    expect(apply(`EOS@${hash};reboot`)).toBe(false);
    expect(apply(`@${hash}`)).toBe(false);
  });
});
