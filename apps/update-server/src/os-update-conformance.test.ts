// EOS's own os-update (unmodified, from ../shared/eos-reference) and the real /usr/bin/ssh against
// this update server: the check that hung (eow@openssh.com), the raw stream, the exact way sshd
// ends a channel, and readers that die or stop mid-stream (their streams must be released).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildEosImage, type BuiltEosImage } from '@eos-fleet/image';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import { locateEosReference } from '@eos-fleet/image';
import {
  partitionBytes,
  publicKey,
  sshArgs,
  sshKeygen,
  tempDir,
  writeAuthorizedKeys,
} from './testing/fixtures';
import { startUpdateServer, type RunningUpdateServer } from './update-server';

const RUNS = 20;
/** A run longer than this is a hang (a healthy check takes about a second here, loaded). */
const RUN_LIMIT_MS = 30_000;
/** A dead or stopped reader's stream must be gone within this (stall bound 2 s in the fault server). */
const RELEASE_LIMIT_MS = 8_000;
const TOKEN = 'conformance-catalog-token-0123';
const NAME = 'EOS.x86_64-AB';
const EOS_DIR = '/srv/www/fleet/os-images';

const ref = locateEosReference();

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** Runs a command in its own process group; past `limit` the whole group is killed and it fails. */
async function runBounded(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin: 'ignore' | 'pipe',
): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(cmd, args, { env, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, RUN_LIMIT_MS);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  child.stdin?.destroy();
  if (timedOut)
    throw new Error(
      `${cmd} ${args.join(' ')} hung: killed after ${RUN_LIMIT_MS} ms; stdout ${Buffer.concat(out).toString().slice(0, 300)}`,
    );
  return { code, stdout: Buffer.concat(out), stderr, ms: Date.now() - t0 };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function catalog(server: RunningUpdateServer): Promise<Catalog> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/catalog`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  return (await res.json()) as Catalog;
}

/** Polls the catalog until no stream is active; returns how long that took, or throws. */
async function streamsReleased(
  server: RunningUpdateServer,
  limitMs = RELEASE_LIMIT_MS,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const active = (await catalog(server)).server.activeStreams;
    if (active.length === 0) return Date.now() - t0;
    if (Date.now() - t0 > limitMs)
      throw new Error(`streams still active after ${limitMs} ms: ${JSON.stringify(active)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function streamsActive(server: RunningUpdateServer, n: number): Promise<void> {
  const t0 = Date.now();
  while ((await catalog(server)).server.activeStreams.length < n) {
    if (Date.now() - t0 > 20_000) throw new Error(`expected ${n} active streams`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary(label: string, runs: Run[]): string {
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const mean = Math.round(ms.reduce((a, b) => a + b, 0) / ms.length);
  return `${label}: ${runs.length}/${RUNS} exited, mean ${mean} ms, median ${ms[Math.floor(ms.length / 2)]} ms, max ${ms[ms.length - 1]} ms`;
}

// Without EOS's scripts this suite fails: a conformance suite that did not run must not look green.
if ('missing' in ref) {
  describe('EOS os-update conformance', () => {
    it('has EOS reference scripts to run', () => {
      throw new Error(
        `${ref.missing}; set EOS_REFERENCE_DIR or put them at ../shared/eos-reference`,
      );
    });
  });
} else {
  const osUpdate = ref.osUpdate;
  const tmp = tempDir('update-server-conformance-');
  let key: string;
  let v1: BuiltEosImage;
  let v2: BuiltEosImage;
  let v2Root: Buffer;
  let env: NodeJS.ProcessEnv;

  async function start(dir: string, streamStallSeconds?: number): Promise<RunningUpdateServer> {
    mkdirSync(dir, { recursive: true });
    const src = join(dir, 'upstream.raw');
    const yml = join(dir, 'os-update.yml');
    writeFileSync(yml, `update:\n  - image: ${pathToFileURL(src).href}\n    name: ${NAME}.raw\n`);
    const server = await startUpdateServer(
      {
        osUpdateYml: yml,
        publishDir: join(dir, 'os-images'),
        stateDir: join(dir, 'state'),
        fetchOnStart: false,
        catalogToken: TOKEN,
        http: { host: '127.0.0.1', port: 0 },
        ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: join(tmp.path, 'authorized_keys') },
        shutdownGraceMs: 200,
        ...(streamStallSeconds ? { streamStallSeconds } : {}),
      },
      { logger: pino({ level: 'silent' }) },
    );
    // v1 then v2: v2 is current, v1 stays pinnable.
    copyFileSync(v1.path, src);
    expect((await server.fetchNow())[0]?.outcome).toBe('published');
    copyFileSync(v2.path, src);
    expect((await server.fetchNow())[0]?.outcome).toBe('published');
    return server;
  }

  /** An ssh reading .raw.dev whose stdout nobody reads: the stream stops mid-partition. */
  const startReader = async (server: RunningUpdateServer): Promise<ChildProcess> => {
    const child = spawn(
      '/usr/bin/ssh',
      sshArgs(key, server.sshPort, `sudo cat ${EOS_DIR}/${NAME}.raw.dev`),
      {
        stdio: ['pipe', 'pipe', 'ignore'],
        detached: true,
      },
    );
    await streamsActive(server, 1);
    return child;
  };

  const osUpdateArgs = (server: RunningUpdateServer, ...args: string[]): string[] => [
    ...args,
    '--server',
    `ssh://fleet@127.0.0.1:${server.sshPort}`,
    '--pkey',
    key,
  ];

  beforeAll(async () => {
    key = sshKeygen(join(tmp.path, 'id_fleet'));
    writeAuthorizedKeys(join(tmp.path, 'authorized_keys'), [publicKey(key)]);
    // Roots well past 10 MiB plus the SSH window and pipe buffers: the check's dd really leaves
    // the stream in the middle (the eow@openssh.com case), not after the server is done.
    const sizes = { uefi: 2, root: 32, spare: 1 };
    v1 = await buildEosImage({ outPath: join(tmp.path, 'v1.raw'), version: '1', sizes });
    v2 = await buildEosImage({ outPath: join(tmp.path, 'v2.raw'), version: '2', sizes });
    v2Root = partitionBytes(v2.path, v2.root);
    // The device runs v1: findmnt (the only hardware-facing tool --check needs) names a file
    // holding v1's root partition. Everything else (bash, dd, sha1sum, ssh) is the real thing.
    const currentRoot = join(tmp.path, 'current-root.img');
    writeFileSync(currentRoot, partitionBytes(v1.path, v1.root));
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'findmnt'),
      `#!/bin/sh\n# stand-in: the running root device\necho ${currentRoot}\n`,
    );
    chmodSync(join(bin, 'findmnt'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  });
  afterAll(() => tmp.remove());

  describe('EOS os-update conformance (real os-update, real ssh)', () => {
    let server: RunningUpdateServer;
    beforeAll(async () => {
      server = await start(join(tmp.path, 'conformance'));
    });
    afterAll(async () => {
      await server.stop();
    });

    it(
      `os-update --check exits ${RUNS} times in a row with the right hashes and frees each stream`,
      { timeout: RUNS * RUN_LIMIT_MS },
      async () => {
        const runs: Run[] = [];
        for (let i = 0; i < RUNS; i++) {
          // Half with ssh's stdin at EOF (/dev/null), half with it open: both ways sshd ends differ.
          const run = await runBounded(
            osUpdate,
            osUpdateArgs(server, '--check', '--read', NAME),
            env,
            i % 2 ? 'pipe' : 'ignore',
          );
          const lines = run.stdout.toString().split('\n');
          expect(lines, run.stderr).toContain(`Current OS: ${v1.rootPrefixHash}  -`);
          expect(lines).toContain(`Update OS : ${v2.rootPrefixHash}  -`);
          expect(run.code).toBe(1); // different: an update is available
          await streamsReleased(server);
          runs.push(run);
        }
        console.log(summary('os-update --check', runs));
        // The pinned running version: "not different", exit 0.
        const same = await runBounded(
          osUpdate,
          osUpdateArgs(server, '--check', '--read', `${NAME}@${v1.rootPrefixHash}`),
          env,
          'ignore',
        );
        expect(same.stdout.toString()).toContain('Update stream not different from current OS');
        expect(same.code).toBe(0);
      },
    );

    it(
      `os-update --read NAME.raw.dev streams the whole root partition ${RUNS} times in a row`,
      { timeout: RUNS * RUN_LIMIT_MS },
      async () => {
        const runs: Run[] = [];
        const want = sha256(v2Root);
        for (let i = 0; i < RUNS; i++) {
          const run = await runBounded(
            osUpdate,
            osUpdateArgs(server, '--read', `${NAME}.raw.dev`),
            env,
            i % 2 ? 'pipe' : 'ignore',
          );
          expect(run.stderr).toBe('');
          expect(run.code).toBe(0);
          expect(run.stdout.length).toBe(v2.root.size);
          expect(sha256(run.stdout)).toBe(want);
          runs.push(run);
        }
        await streamsReleased(server);
        console.log(summary('os-update --read NAME.raw.dev', runs));
      },
    );

    it("ends channels exactly as OpenSSH's sshd does (client side traced with ssh -vvv)", async () => {
      // sshd 9.2 with a forced `cat`, traced the same way: these are its sequences.
      const trace = async (pipeline: string, stdin: 'ignore' | 'pipe'): Promise<string[]> => {
        const log = join(tmp.path, `trace-${Date.now()}.log`);
        const ssh = sshArgs(key, server.sshPort, `sudo cat ${EOS_DIR}/${NAME}.raw.dev`, [
          '-vvv',
          '-E',
          log,
        ]).map((a) => `'${a}'`);
        await runBounded(
          '/bin/bash',
          ['-c', `/usr/bin/ssh ${ssh.join(' ')} | ${pipeline}`],
          env,
          stdin,
        );
        return readFileSync(log, 'utf8')
          .split('\n')
          .flatMap((l) => {
            const m =
              /rtype (exit-status|exit-signal|eow@openssh\.com)|channel 0: rcvd (eof|close)/.exec(
                l,
              );
            return m ? [m[1] ?? m[2] ?? ''] : [];
          });
      };
      const check = 'dd bs=10M count=1 iflag=fullblock 2>/dev/null | sha1sum';
      expect(await trace(check, 'pipe')).toEqual(['exit-signal', 'eow@openssh.com', 'close']);
      expect(await trace(check, 'ignore')).toEqual(['exit-signal', 'close']);
      expect(await trace('sha1sum', 'pipe')).toEqual([
        'exit-status',
        'eow@openssh.com',
        'eof',
        'close',
      ]);
      expect(await trace('sha1sum', 'ignore')).toEqual(['exit-status', 'eof', 'close']);
      await streamsReleased(server);
    });

    it('kill -9 of the ssh client mid-stream releases the stream at once (not by the 30 s stall bound)', async () => {
      const child = await startReader(server);
      const before = (await catalog(server)).server.activeStreams[0];
      expect(before?.bytesSent).toBeLessThan(v2.root.size);
      killGroup(child, 'SIGKILL');
      const ms = await streamsReleased(server);
      console.log(`kill -9 reader: stream released after ${ms} ms`);
    });
  });

  describe('readers that stop mid-stream release their stream (stall bound 2 s)', () => {
    let server: RunningUpdateServer;
    beforeAll(async () => {
      server = await start(join(tmp.path, 'faults'), 2);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('an ssh client that stops reading (SIGSTOP): cut after the stall bound', async () => {
      const child = await startReader(server);
      killGroup(child, 'SIGSTOP');
      const ms = await streamsReleased(server);
      console.log(`stopped ssh reader: stream released after ${ms} ms`);
      killGroup(child, 'SIGKILL');
      killGroup(child, 'SIGCONT');
    });

    it('an HTTP client that stops reading: cut after the stall bound', async () => {
      const req = request({
        host: '127.0.0.1',
        port: server.httpPort,
        path: `/os-images/${NAME}.raw.dev`,
        agent: false,
      });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.pause();
      await streamsActive(server, 1);
      const ms = await streamsReleased(server);
      console.log(`stopped http reader: stream released after ${ms} ms`);
      res.destroy();
    });
  });
}
