import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ed25519PublicKeyFromBase64,
  verifyChallengeSignature,
} from '@eos-fleet/shared/protocol/ed25519';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from './clock';
import { Identity } from './identity';
import { Journal } from './journal';
import { StateFileError, StateStore } from './state-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eos-agent-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state store', () => {
  it('writes atomically: the final file only, mode 0600, no temp files left', async () => {
    const store = new StateStore(join(dir, 'state'));
    await store.ensureDir();
    await store.writeJson('a.json', { n: 1 });
    await store.writeJson('a.json', { n: 2 });
    expect(await readdir(store.dir)).toEqual(['a.json']);
    expect(JSON.parse(await readFile(store.path('a.json'), 'utf8'))).toEqual({ n: 2 });
    expect((await stat(store.path('a.json'))).mode & 0o777).toBe(0o600);
    expect(await store.readJson('missing.json', z.object({}))).toBeNull();
  });

  it('reports a corrupt file instead of treating it as absent', async () => {
    const store = new StateStore(dir);
    await writeFile(store.path('bad.json'), '{"n":');
    await expect(store.readJson('bad.json', z.object({ n: z.number() }))).rejects.toBeInstanceOf(
      StateFileError,
    );
  });
});

describe('identity', () => {
  it('persists the key pair and device id across restarts', async () => {
    const store = new StateStore(dir);
    const first = await Identity.loadOrCreate(store, systemClock);
    expect(first.enrolled).toBe(false);
    await first.markEnrolled(systemClock);
    const second = await Identity.loadOrCreate(new StateStore(dir), systemClock);
    expect(second.deviceId).toBe(first.deviceId);
    expect(second.publicKey).toBe(first.publicKey);
    expect(second.enrolled).toBe(true);
    expect(Buffer.from(second.publicKey, 'base64')).toHaveLength(32);
  });

  it('signs the canonical challenge message verifiably', async () => {
    const identity = await Identity.loadOrCreate(new StateStore(dir), systemClock);
    const publicKey = ed25519PublicKeyFromBase64(identity.publicKey);
    expect(publicKey).not.toBeNull();
    if (!publicKey) return;
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    const nonce = 'bm9uY2Utbm9uY2Utbm9uY2U=';
    const signature = identity.signChallenge('auth', nonce);
    expect(
      verifyChallengeSignature({
        publicKey,
        purpose: 'auth',
        deviceId: identity.deviceId,
        nonce,
        signature,
      }),
    ).toBe(true);
  });
});

describe('journal', () => {
  it('keeps entries across reloads', async () => {
    const store = new StateStore(dir);
    const journal = await Journal.load(store);
    await journal.put({
      id: 'c1',
      kind: 'check',
      params: {},
      receivedAt: 'now',
      state: 'received',
      confirmed: false,
    });
    await journal.finish('c1', { status: 'succeeded', finishedAt: 'later' });
    const reloaded = await Journal.load(store);
    expect(reloaded.get('c1')).toMatchObject({ state: 'done', result: { status: 'succeeded' } });
  });

  it('keeps old results small and drops the oldest beyond its bound', async () => {
    const store = new StateStore(dir);
    const journal = await Journal.load(store, { keepFinished: 50, keepOutput: 5 });
    for (let i = 0; i < 60; i++) {
      await journal.put({
        id: `c${i}`,
        kind: 'check',
        params: { server: 'u@h' },
        receivedAt: 'now',
        state: 'done',
        result: {
          status: 'succeeded',
          output: 'x'.repeat(1000),
          data: { updateAvailable: false },
          finishedAt: 'later',
        },
        confirmed: true,
      });
    }
    expect(journal.get('c9')).toBeUndefined();
    expect(journal.get('c10')?.result).toEqual({
      status: 'succeeded',
      data: { updateAvailable: false },
      finishedAt: 'later',
    });
    expect(journal.get('c10')?.params).toBeUndefined();
    expect(journal.get('c59')?.result?.output).toHaveLength(1000);
    expect(journal.get('c59')?.params).toEqual({ server: 'u@h' });
    const onDisk = JSON.parse(await readFile(store.path('journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    expect(onDisk.entries).toHaveLength(50);
  });

  it('keeps the output of a result the server has not confirmed', async () => {
    const journal = await Journal.load(new StateStore(dir), { keepFinished: 50, keepOutput: 1 });
    const done = { kind: 'check', params: {}, receivedAt: 'now', state: 'done' as const };
    const result = { status: 'succeeded' as const, output: 'the output', finishedAt: 'later' };
    await journal.put({ id: 'unconfirmed', ...done, result, confirmed: false });
    await journal.put({ id: 'newer', ...done, result, confirmed: true });
    expect(journal.get('unconfirmed')?.result?.output).toBe('the output');
    expect(journal.unconfirmed().map((e) => e.id)).toEqual(['unconfirmed']);
  });

  it('reads a journal written before result_stored: a reported result counts as confirmed', async () => {
    const store = new StateStore(dir);
    const entry = {
      kind: 'check',
      params: {},
      receivedAt: 'now',
      state: 'done',
      result: { status: 'succeeded', finishedAt: 'later' },
    };
    await store.writeJson('journal.json', {
      version: 1,
      entries: [
        { id: 'sent', ...entry, reported: true },
        { id: 'never-sent', ...entry, reported: false },
      ],
    });
    const journal = await Journal.load(store);
    expect(journal.get('sent')?.confirmed).toBe(true);
    expect(journal.unconfirmed().map((e) => e.id)).toEqual(['never-sent']);
  });
});
