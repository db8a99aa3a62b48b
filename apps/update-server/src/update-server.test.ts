import { exec, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildEosImage, type BuiltEosImage } from '@eos-fleet/image';
import { GPT_TYPE, planGpt, writeGpt } from '@eos-fleet/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import {
  partitionBytes,
  publicKey,
  runSsh,
  sshArgs,
  sshKeygen,
  startUpstream,
  tempDir,
  writeAuthorizedKeys,
} from './testing/fixtures';
import { startUpdateServer, type RunningUpdateServer } from './update-server';

const execAsync = promisify(exec);
const MiB = 1024 * 1024;
const sizes = { uefi: 2, root: 12, spare: 1 };
const TOKEN = 'test-catalog-token-0123456789';
const EOS_DIR = '/srv/www/fleet/os-images';
const silent = pino({ level: 'silent' });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** The whole root partition stream's sha256, computed here from the image file itself. */
const rootSha256Of = (img: BuiltEosImage): string => sha256(partitionBytes(img.path, img.root));

const tmp = tempDir('update-server-test-');
afterAll(() => tmp.remove());

interface Setup {
  dir: string;
  publishDir: string;
  yml: string;
  key: string;
  server: RunningUpdateServer;
}

async function setup(name: string, keepVersions = 3): Promise<Setup> {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  const key = sshKeygen(join(dir, 'id_fleet'));
  writeAuthorizedKeys(join(dir, 'authorized_keys'), [publicKey(key)]);
  const yml = join(dir, 'os-update.yml');
  writeFileSync(yml, 'update: []\n');
  const publishDir = join(dir, 'os-images');
  const server = await startUpdateServer(
    {
      osUpdateYml: yml,
      publishDir,
      stateDir: join(dir, 'state'),
      keepVersions,
      fetchOnStart: false,
      catalogToken: TOKEN,
      http: { host: '127.0.0.1', port: 0 },
      ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: join(dir, 'authorized_keys') },
      shutdownGraceMs: 500,
      logLevel: 'silent',
    },
    { logger: silent },
  );
  return { dir, publishDir, yml, key, server };
}

function setSources(s: Setup, entries: { image: string; name: string }[]): void {
  writeFileSync(
    s.yml,
    `update:\n${entries.map((e) => `  - image: ${e.image}\n    name: ${e.name}\n`).join('')}`,
  );
}

async function build(
  dir: string,
  version: string,
  xz = false,
  rootMiB = sizes.root,
): Promise<BuiltEosImage> {
  const outPath = join(dir, `EOS-v${version}-${rootMiB}.raw${xz ? '.xz' : ''}`);
  return buildEosImage({ outPath, version, sizes: { ...sizes, root: rootMiB }, xz });
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function httpGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<HttpResult> {
  const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

async function catalog(s: Setup): Promise<Catalog> {
  const res = await httpGet(s.server.httpPort, '/api/v1/catalog', {
    Authorization: `Bearer ${TOKEN}`,
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body.toString()) as Catalog;
}

describe('fetch and publish', () => {
  let s: Setup;
  let v1: BuiltEosImage;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  beforeAll(async () => {
    s = await setup('publish');
    v1 = await build(s.dir, '1');
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await s.server.stop();
    await upstream.close();
  });

  it('publishes a file:// image in the EOS layout with the right hashes', async () => {
    setSources(s, [{ image: pathToFileURL(v1.path).href, name: 'EOS.x86_64-AB.raw' }]);
    const [result] = await s.server.fetchNow();
    expect(result).toMatchObject({
      name: 'EOS.x86_64-AB',
      outcome: 'published',
      sha1: v1.sha1,
      rootPrefixHash: v1.rootPrefixHash,
      rootSha256: rootSha256Of(v1),
    });
    expect(readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw.sha'), 'utf8')).toBe(
      `${v1.sha1}  EOS.x86_64-AB.raw\n`,
    );
    expect(
      readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw')).equals(readFileSync(v1.path)),
    ).toBe(true);
    const c = await catalog(s);
    const img = c.images.find((i) => i.name === 'EOS.x86_64-AB');
    expect(img?.current).toEqual({
      sha1: v1.sha1,
      rootPrefixHash: v1.rootPrefixHash,
      rootSha256: rootSha256Of(v1),
    });
    expect(img?.versions[0]).toMatchObject({
      sha1: v1.sha1,
      rootPrefixHash: v1.rootPrefixHash,
      rootSha256: rootSha256Of(v1),
      rootPartitionBytes: v1.root.size,
      imageBytes: v1.rawBytes,
      root: { offset: v1.root.offset, size: v1.root.size },
      firmware: { offset: v1.firmware.offset, size: v1.firmware.size },
      pinnedDev: `EOS.x86_64-AB@${v1.rootPrefixHash}.raw.dev`,
      // the image's own os-release VERSION_ID, read from its root partition
      osVersion: '1',
    });
    expect(img?.fetch.state).toBe('ok');

    const [again] = await s.server.fetchNow();
    expect(again?.outcome).toBe('unchanged');
  });

  it('fetches an .xz image over http:// and publishes the decompressed image', async () => {
    const v2xz = await build(s.dir, '2', true);
    upstream.routes.set('/EOS.x86_64-AB.raw.xz', { file: v2xz.path });
    setSources(s, [{ image: upstream.url('/EOS.x86_64-AB.raw.xz'), name: 'EOS.x86_64-AB.raw' }]);
    const [result] = await s.server.fetchNow();
    expect(result).toMatchObject({
      outcome: 'published',
      sha1: v2xz.sha1,
      rootPrefixHash: v2xz.rootPrefixHash,
    });
    expect(result?.rootSha256).toBe(
      sha256(partitionBytes((await build(s.dir, '2')).path, v2xz.root)),
    );
    expect(readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw.sha'), 'utf8')).toBe(
      `${v2xz.sha1}  EOS.x86_64-AB.raw\n`,
    );
    expect(statSync(join(s.publishDir, 'EOS.x86_64-AB.raw')).size).toBe(v2xz.rawBytes);
    const raw = await build(s.dir, '2');
    const res = await httpGet(s.server.httpPort, '/os-images/EOS.x86_64-AB.raw.dev');
    expect(res.body.equals(partitionBytes(raw.path, raw.root))).toBe(true);

    // Unchanged upstream: a conditional request (ETag) answers 304, nothing is downloaded again.
    expect((await s.server.fetchNow())[0]?.outcome).toBe('unchanged');
    expect(upstream.downloads.get('/EOS.x86_64-AB.raw.xz')).toBe(1);
    // A new file at the same URL is downloaded; same bytes are still recognised as unchanged by sha1.
    copyFileSync(v2xz.path, join(s.dir, 'v2-copy.raw.xz'));
    upstream.routes.set('/EOS.x86_64-AB.raw.xz', { file: join(s.dir, 'v2-copy.raw.xz') });
    const [again] = await s.server.fetchNow();
    expect(again).toMatchObject({ outcome: 'unchanged', sha1: v2xz.sha1 });
    expect(upstream.downloads.get('/EOS.x86_64-AB.raw.xz')).toBe(2);
  });

  it('records a broken upstream as a fetch error and keeps the last good version', async () => {
    const good = (await catalog(s)).images[0]?.current;
    expect(good).toBeTruthy();
    const before = readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw.sha'), 'utf8');

    // An image with a GPT but no p.lxreadonly.
    const noRoot = join(s.dir, 'no-root.raw');
    const layout = planGpt(
      [{ label: 'p.UEFI', typeGuid: GPT_TYPE.efiSystem, sizeBytes: MiB }],
      'no-root',
    );
    writeFileSync(noRoot, Buffer.alloc(layout.diskBytes));
    await writeGpt(noRoot, layout);
    // Corrupt xz: a valid one with bytes flipped in the middle.
    const v3xz = await build(s.dir, '3', true);
    const corrupt = join(s.dir, 'corrupt.raw.xz');
    const bytes = readFileSync(v3xz.path);
    for (let i = 200; i < 400; i++) bytes[i] = (bytes[i] ?? 0) ^ 0x5a;
    writeFileSync(corrupt, bytes);
    // Truncated xz file on disk (file://) and a truncated HTTP body.
    const shortXz = join(s.dir, 'short.raw.xz');
    writeFileSync(shortXz, readFileSync(v3xz.path).subarray(0, 100_000));
    const v3raw = await build(s.dir, '3');
    upstream.routes.set('/truncated.raw', { file: v3raw.path, truncate: true });

    const cases: [string, RegExp][] = [
      [upstream.url('/missing.raw.xz'), /HTTP 404/],
      [upstream.url('/truncated.raw'), /truncated download|terminated|fetching/],
      [pathToFileURL(corrupt).href, /xz decompression failed/],
      [pathToFileURL(shortXz).href, /xz decompression failed/],
      [pathToFileURL(noRoot).href, /no p\.lxreadonly/],
      [pathToFileURL(join(s.dir, 'nowhere.raw')).href, /ENOENT|no such file/i],
    ];
    for (const [url, why] of cases) {
      setSources(s, [{ image: url, name: 'EOS.x86_64-AB.raw' }]);
      const [result] = await s.server.fetchNow();
      expect(result?.outcome, url).toBe('error');
      expect(result?.error, url).toMatch(why);
      const img = (await catalog(s)).images[0];
      expect(img?.fetch.state).toBe('error');
      expect(img?.fetch.lastError?.message).toMatch(why);
      expect(img?.current).toEqual(good);
      expect(readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw.sha'), 'utf8')).toBe(before);
    }
    const res = await httpGet(s.server.httpPort, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'HEAD');
    expect(res.headers['x-root-prefix-hash']).toBe(good?.rootPrefixHash);
    expect(
      existsSync(join(s.publishDir, '.staging')) &&
        readFileSync(join(s.publishDir, 'EOS.x86_64-AB.raw')).length,
    ).toBeGreaterThan(0);
  });

  it('protects the catalog with the token; /healthz is open', async () => {
    const port = s.server.httpPort;
    expect((await httpGet(port, '/api/v1/catalog')).status).toBe(401);
    expect((await httpGet(port, '/api/v1/catalog', { Authorization: 'Bearer wrong' })).status).toBe(
      401,
    );
    expect(
      (await httpGet(port, '/api/v1/catalog', { Authorization: `Bearer ${TOKEN}x` })).status,
    ).toBe(401);
    expect((await httpGet(port, '/api/v1/catalog', { Authorization: TOKEN })).status).toBe(401);
    expect(
      (await httpGet(port, '/api/v1/catalog', { Authorization: `Bearer ${TOKEN}` })).status,
    ).toBe(200);
    const health = await httpGet(port, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toEqual({ status: 'ok' });
  });
});

describe('serving streams', () => {
  let s: Setup;
  let v1: BuiltEosImage;
  let v2: BuiltEosImage;
  let source: string;
  beforeAll(async () => {
    s = await setup('serve', 1);
    // Roots larger than what loopback socket buffers absorb (~10 MiB here), so a paused reader
    // really holds its stream in the middle of the partition.
    v1 = await build(s.dir, '1', false, 32);
    v2 = await build(s.dir, '2', false, 32);
    source = join(s.dir, 'upstream.raw');
    copyFileSync(v1.path, source);
    setSources(s, [{ image: pathToFileURL(source).href, name: 'EOS.x86_64-AB.raw' }]);
    const [r] = await s.server.fetchNow();
    expect(r?.outcome).toBe('published');
  });
  afterAll(async () => {
    await s.server.stop();
  });

  it('streams .raw.dev and .raw.firmware over SSH (real /usr/bin/ssh) byte-identical to the partitions', async () => {
    const dev = await runSsh(s.key, s.server.sshPort, `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev`);
    expect(dev.stderr).toBe('');
    expect(dev.code).toBe(0);
    expect(dev.stdout.length).toBe(v1.root.size);
    expect(dev.stdout.equals(partitionBytes(v1.path, v1.root))).toBe(true);
    const fw = await runSsh(
      s.key,
      s.server.sshPort,
      `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.firmware`,
    );
    expect(fw.code).toBe(0);
    expect(fw.stdout.equals(partitionBytes(v1.path, v1.firmware))).toBe(true);
    // The configured publish dir is accepted as well as EOS's literal path.
    const local = await runSsh(
      s.key,
      s.server.sshPort,
      `sudo cat ${s.publishDir}/EOS.x86_64-AB.raw.firmware`,
    );
    expect(local.stdout.equals(fw.stdout)).toBe(true);
  });

  it("gives os-update --check's pipeline (ssh | head -c 10M | sha1sum) the root prefix hash, and frees the cut stream", async () => {
    const ssh = sshArgs(s.key, s.server.sshPort, `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev`)
      .map((a) => `'${a}'`)
      .join(' ');
    // Async: the server runs in this process and must keep serving while the pipeline runs.
    const { stdout } = await execAsync(`/usr/bin/ssh ${ssh} | head -c 10M | sha1sum`, {
      shell: '/bin/bash',
    });
    expect(stdout).toBe(`${v1.rootPrefixHash}  -\n`);
    // head closed the pipe after 10 MiB: ssh went away mid-stream, the server lets go of it.
    for (let i = 0; i < 50 && (await catalog(s)).server.activeStreams.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await catalog(s)).server.activeStreams).toEqual([]);

    // Same for an HTTP client that hangs up early.
    const req = request({
      host: '127.0.0.1',
      port: s.server.httpPort,
      path: '/os-images/EOS.x86_64-AB.raw.dev',
      agent: false,
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'readable');
    res.destroy();
    for (let i = 0; i < 50 && (await catalog(s)).server.activeStreams.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await catalog(s)).server.activeStreams).toEqual([]);
  });

  it("takes os-update's exact ssh command line, the port given in an ssh:// --server", async () => {
    // os-update passes no -p: `--server ssh://fleet@127.0.0.1:PORT` carries the port.
    const child = spawn(
      '/usr/bin/ssh',
      [
        '-i',
        s.key,
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        `ssh://fleet@127.0.0.1:${s.server.sshPort}`,
        `test -e ${EOS_DIR}/EOS.x86_64-AB.raw.dev`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
  });

  it('answers test -e and a missing file like the real commands', async () => {
    expect(
      (await runSsh(s.key, s.server.sshPort, `test -e ${EOS_DIR}/EOS.x86_64-AB.raw.dev`)).code,
    ).toBe(0);
    expect(
      (await runSsh(s.key, s.server.sshPort, `test -e ${EOS_DIR}/EOS.x86_64-AB.raw.firmware`)).code,
    ).toBe(0);
    const missing = await runSsh(s.key, s.server.sshPort, `test -e ${EOS_DIR}/EOS.nothing.raw.dev`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('');
    const cat = await runSsh(s.key, s.server.sshPort, `sudo cat ${EOS_DIR}/EOS.nothing.raw.dev`);
    expect(cat.code).toBe(1);
    expect(cat.stdout.length).toBe(0);
    expect(cat.stderr).toBe(`cat: ${EOS_DIR}/EOS.nothing.raw.dev: No such file or directory\n`);
  });

  it('works with an ssh-rsa key too, and refuses unknown keys', async () => {
    const rsa = sshKeygen(join(s.dir, 'id_rsa'), 'rsa');
    const stranger = sshKeygen(join(s.dir, 'id_stranger'));
    const cmd = `test -e ${EOS_DIR}/EOS.x86_64-AB.raw.dev`;
    const refused = await runSsh(rsa, s.server.sshPort, cmd);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);
    writeAuthorizedKeys(join(s.dir, 'authorized_keys'), [
      '# fleet keys',
      publicKey(s.key),
      `command="/usr/bin/os-update-restricted.sh",no-pty ${publicKey(rsa)}`,
    ]);
    expect((await runSsh(rsa, s.server.sshPort, cmd)).code).toBe(0);
    const unknown = await runSsh(stranger, s.server.sshPort, cmd);
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('refuses every other command, path, shell, pty and forwarding', async () => {
    for (const cmd of [
      'cat /etc/passwd',
      'sudo cat /etc/shadow',
      'ls',
      'ls /srv/www/fleet/os-images',
      `sudo cat ${EOS_DIR}/../../../../etc/shadow`,
      `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw`,
      `sudo cat ${EOS_DIR}/.versions/EOS.x86_64-AB/index.json`,
      `test -e /etc/passwd`,
      `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev; cat /etc/passwd`,
      `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev /etc/passwd`,
      `bash -c 'cat /etc/passwd'`,
      'sh',
    ]) {
      const r = await runSsh(s.key, s.server.sshPort, cmd);
      expect(r.code, cmd).toBe(126);
      expect(r.stdout.length, cmd).toBe(0);
      expect(r.stderr, cmd).toMatch(/refused/);
    }
    // An interactive shell (no command), with and without a pty.
    for (const extra of [['-T'], ['-tt']]) {
      const args = sshArgs(s.key, s.server.sshPort, '', extra).slice(0, -1);
      const child = spawn('/usr/bin/ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdin.end('cat /etc/passwd\n');
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      const [code] = (await once(child, 'close')) as [number];
      expect(code, extra.join(' ')).not.toBe(0);
      expect(Buffer.concat(out).toString()).not.toMatch(/root:/);
    }
    // Port forwarding: the channel open is refused, ssh reports it and exits non-zero.
    const fwd = await runSsh(s.key, s.server.sshPort, '', [
      '-N',
      '-W',
      `127.0.0.1:${s.server.httpPort}`,
    ]);
    expect(fwd.code).not.toBe(0);
    expect(fwd.stdout.length).toBe(0);
  });

  it('serves over HTTP with Range, HEAD and the hashes in headers', async () => {
    const port = s.server.httpPort;
    const full = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev');
    expect(full.status).toBe(200);
    expect(full.headers['content-length']).toBe(String(v1.root.size));
    expect(full.headers['x-root-prefix-hash']).toBe(v1.rootPrefixHash);
    expect(full.headers['x-image-sha1']).toBe(v1.sha1);
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.body.equals(partitionBytes(v1.path, v1.root))).toBe(true);
    expect(full.headers['x-eos-root-sha256']).toBe(rootSha256Of(v1));
    expect(full.headers['x-eos-root-sha256']).toBe(sha256(full.body));
    expect(full.headers['x-eos-root-prefix-hash']).toBe(v1.rootPrefixHash);
    expect(full.headers['x-eos-root-bytes']).toBe(String(v1.root.size));
    expect(full.headers.etag).toBe(`"${v1.sha1}.dev"`);
    expect(full.headers['last-modified']).toMatch(/ GMT$/);

    const fw = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.firmware');
    expect(fw.body.equals(partitionBytes(v1.path, v1.firmware))).toBe(true);
    const raw = await httpGet(port, '/os-images/EOS.x86_64-AB.raw');
    expect(raw.body.equals(readFileSync(v1.path))).toBe(true);
    const sha = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.sha');
    expect(sha.body.toString()).toBe(`${v1.sha1}  EOS.x86_64-AB.raw\n`);

    const part = partitionBytes(v1.path, v1.root);
    const mid = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', {
      Range: 'bytes=1000-1999',
    });
    expect(mid.status).toBe(206);
    expect(mid.headers['content-range']).toBe(`bytes 1000-1999/${v1.root.size}`);
    expect(mid.body.equals(part.subarray(1000, 2000))).toBe(true);
    const tail = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', { Range: 'bytes=-4096' });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(part.subarray(part.length - 4096))).toBe(true);
    const open = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', {
      Range: `bytes=${10 * MiB}-`,
    });
    expect(open.body.equals(part.subarray(10 * MiB))).toBe(true);
    const beyond = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', {
      Range: `bytes=${v1.root.size}-`,
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${v1.root.size}`);

    const head = await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(v1.root.size));
    expect((await httpGet(port, '/os-images/EOS.nothing.raw.dev')).status).toBe(404);
    expect((await httpGet(port, '/os-images/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    expect((await httpGet(port, '/os-images/%E0%A4%A')).status).toBe(400);
    expect((await httpGet(port, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'DELETE')).status).toBe(
      405,
    );
  });

  it('does not corrupt streams in progress when a new version is published, and keeps pins reachable', async () => {
    const v1Root = partitionBytes(v1.path, v1.root);
    // Start a slow SSH read and a slow HTTP read of v1, each paused after its first bytes.
    const sshChild = spawn(
      '/usr/bin/ssh',
      sshArgs(s.key, s.server.sshPort, `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev`),
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Nothing reads ssh's stdout until v2 is published: the pipe, ssh's channel window and the
    // socket buffers fill up and the server has to wait in the middle of the partition.
    await once(sshChild.stdout, 'readable');
    const sshExit = once(sshChild, 'close');

    const req = request({
      host: '127.0.0.1',
      port: s.server.httpPort,
      path: '/os-images/EOS.x86_64-AB.raw.dev',
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    expect(res.headers['x-root-prefix-hash']).toBe(v1.rootPrefixHash);

    const before = await catalog(s);
    expect(before.server.activeStreams.length).toBe(2);
    for (const st of before.server.activeStreams) expect(st.sha1).toBe(v1.sha1);

    // Upstream moves on to v2 (keepVersions is 1 here: v1 would be pruned if nothing held it).
    copyFileSync(v2.path, source);
    const [r] = await s.server.fetchNow();
    expect(r).toMatchObject({ outcome: 'published', sha1: v2.sha1 });
    expect(
      (await httpGet(s.server.httpPort, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'HEAD')).headers[
        'x-root-prefix-hash'
      ],
    ).toBe(v2.rootPrefixHash);

    // Both streams are still in the middle of v1.
    const during = await catalog(s);
    expect(during.server.activeStreams.map((st) => st.sha1)).toEqual([v1.sha1, v1.sha1]);
    for (const st of during.server.activeStreams) expect(st.bytesSent).toBeLessThan(v1.root.size);

    const sshChunks: Buffer[] = [];
    const httpChunks: Buffer[] = [];
    await Promise.all([
      (async () => {
        for await (const c of sshChild.stdout) sshChunks.push(c as Buffer);
      })(),
      (async () => {
        for await (const c of res) httpChunks.push(c as Buffer);
      })(),
    ]);
    const [code] = (await sshExit) as [number];
    expect(code).toBe(0);
    expect(Buffer.concat(sshChunks).equals(v1Root)).toBe(true);
    expect(Buffer.concat(httpChunks).equals(v1Root)).toBe(true);

    // v1 was held by the streams past keepVersions (1); the next fetch run prunes it.
    const c = await catalog(s);
    expect(c.server.activeStreams).toEqual([]);
    expect(c.server.bytesServed.total).toBeGreaterThanOrEqual(2 * v1.root.size);
    expect(c.images[0]?.versions.map((v) => v.sha1)).toEqual([v2.sha1, v1.sha1]);
    const pin = `/os-images/EOS.x86_64-AB@${v1.rootPrefixHash}.raw.dev`;
    expect((await httpGet(s.server.httpPort, pin, {}, 'HEAD')).status).toBe(200);
    expect((await s.server.fetchNow())[0]?.outcome).toBe('unchanged');
    expect((await catalog(s)).images[0]?.versions.map((v) => v.sha1)).toEqual([v2.sha1]);
    expect((await httpGet(s.server.httpPort, pin, {}, 'HEAD')).status).toBe(404);
  });

  it('serves a pinned version after upstream moves on (keepVersions permitting)', async () => {
    const s3 = await setup('pins', 3);
    try {
      const src = join(s3.dir, 'upstream.raw');
      copyFileSync(v1.path, src);
      setSources(s3, [{ image: pathToFileURL(src).href, name: 'EOS.x86_64-AB.raw' }]);
      await s3.server.fetchNow();
      copyFileSync(v2.path, src);
      const [r] = await s3.server.fetchNow();
      expect(r?.outcome).toBe('published');
      const pinned = `EOS.x86_64-AB@${v1.rootPrefixHash}`;
      const ssh = await runSsh(s3.key, s3.server.sshPort, `sudo cat ${EOS_DIR}/${pinned}.raw.dev`);
      expect(ssh.code).toBe(0);
      expect(ssh.stdout.equals(partitionBytes(v1.path, v1.root))).toBe(true);
      expect(
        (await runSsh(s3.key, s3.server.sshPort, `test -e ${EOS_DIR}/${pinned}.raw.dev`)).code,
      ).toBe(0);
      const http = await httpGet(s3.server.httpPort, `/os-images/${pinned}.raw.dev`);
      expect(http.headers['x-root-prefix-hash']).toBe(v1.rootPrefixHash);
      expect(http.headers['x-pinned']).toBe('true');
      expect(http.body.equals(partitionBytes(v1.path, v1.root))).toBe(true);
      // Pinned by whole-image sha1 as well, and the unpinned name is v2.
      const bySha = await httpGet(
        s3.server.httpPort,
        `/os-images/EOS.x86_64-AB@${v1.sha1}.raw.firmware`,
      );
      expect(bySha.body.equals(partitionBytes(v1.path, v1.firmware))).toBe(true);
      const cur = await runSsh(
        s3.key,
        s3.server.sshPort,
        `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev`,
      );
      expect(cur.stdout.equals(partitionBytes(v2.path, v2.root))).toBe(true);
      // Upstream going back to v1 makes the kept v1 current again without a new copy.
      copyFileSync(v1.path, src);
      const [back] = await s3.server.fetchNow();
      expect(back).toMatchObject({ outcome: 'reactivated', sha1: v1.sha1 });
      const unknownPin = await runSsh(
        s3.key,
        s3.server.sshPort,
        `test -e ${EOS_DIR}/EOS.x86_64-AB@${'0'.repeat(40)}.raw.dev`,
      );
      expect(unknownPin.code).toBe(1);
    } finally {
      await s3.server.stop();
    }
  });
});

describe('If-Range (RFC 9110): a resumed download never mixes two versions', () => {
  it('resumes the same version (206); after a new version it answers 200 with all of the new one', async () => {
    const s = await setup('if-range');
    try {
      const v1 = await build(s.dir, '1');
      const v2 = await build(s.dir, '2');
      const src = join(s.dir, 'upstream.raw');
      copyFileSync(v1.path, src);
      setSources(s, [{ image: pathToFileURL(src).href, name: 'EOS.x86_64-AB.raw' }]);
      expect((await s.server.fetchNow())[0]?.outcome).toBe('published');
      const port = s.server.httpPort;
      const path = '/os-images/EOS.x86_64-AB.raw.dev';
      const v1Root = partitionBytes(v1.path, v1.root);
      const v2Root = partitionBytes(v2.path, v2.root);
      const rest = `bytes=${MiB}-`;

      const first = await httpGet(port, path, { Range: `bytes=0-${MiB - 1}` });
      expect(first.status).toBe(206);
      const etag1 = String(first.headers.etag);
      const date1 = String(first.headers['last-modified']);
      expect(etag1).toBe(`"${v1.sha1}.dev"`);
      // Still v1: the range is served, by entity tag and by date.
      const byTag = await httpGet(port, path, { Range: rest, 'If-Range': etag1 });
      expect(byTag.status).toBe(206);
      expect(Buffer.concat([first.body, byTag.body]).equals(v1Root)).toBe(true);
      const byDate = await httpGet(port, path, { Range: rest, 'If-Range': date1 });
      expect(byDate.status).toBe(206);
      expect(byDate.body.equals(v1Root.subarray(MiB))).toBe(true);
      // A weak tag never matches (strong comparison), nor does an unparsable date.
      expect((await httpGet(port, path, { Range: rest, 'If-Range': `W/${etag1}` })).status).toBe(
        200,
      );
      expect((await httpGet(port, path, { Range: rest, 'If-Range': 'yesterday' })).status).toBe(
        200,
      );

      // Upstream publishes v2, in a later second than v1 (so the dates differ too).
      const v1Second = Math.floor(Date.parse(date1) / 1000);
      while (Math.floor(Date.now() / 1000) <= v1Second) await new Promise((r) => setTimeout(r, 50));
      copyFileSync(v2.path, src);
      expect((await s.server.fetchNow())[0]?.outcome).toBe('published');

      for (const validator of [etag1, date1]) {
        const resumed = await httpGet(port, path, { Range: rest, 'If-Range': validator });
        expect(resumed.status, validator).toBe(200);
        expect(resumed.headers['content-range']).toBeUndefined();
        expect(resumed.headers.etag).toBe(`"${v2.sha1}.dev"`);
        expect(resumed.headers['content-length']).toBe(String(v2.root.size));
        expect(resumed.body.equals(v2Root)).toBe(true);
      }
      // The client restarts on v2 and resumes that: 206 again.
      const again = await httpGet(port, path, { Range: rest, 'If-Range': `"${v2.sha1}.dev"` });
      expect(again.status).toBe(206);
      expect(again.body.equals(v2Root.subarray(MiB))).toBe(true);
      // The pinned v1 name still resumes v1 with v1's tag.
      const pinned = await httpGet(port, `/os-images/EOS.x86_64-AB@${v1.rootPrefixHash}.raw.dev`, {
        Range: rest,
        'If-Range': etag1,
      });
      expect(pinned.status).toBe(206);
      expect(pinned.body.equals(v1Root.subarray(MiB))).toBe(true);
      // If-Range without Range is ignored; an unsatisfiable Range under a failed If-Range is ignored too.
      expect((await httpGet(port, path, { 'If-Range': etag1 })).status).toBe(200);
      expect(
        (await httpGet(port, path, { Range: `bytes=${v2.root.size}-`, 'If-Range': etag1 })).status,
      ).toBe(200);
      expect(
        (
          await httpGet(port, path, {
            Range: `bytes=${v2.root.size}-`,
            'If-Range': `"${v2.sha1}.dev"`,
          })
        ).status,
      ).toBe(416);
    } finally {
      await s.server.stop();
    }
  });
});

describe('restart', () => {
  it('keeps the host key, the versions and the catalog across a restart', async () => {
    const s = await setup('restart');
    const v1 = await build(s.dir, '1');
    setSources(s, [{ image: pathToFileURL(v1.path).href, name: 'EOS.x86_64-AB.raw' }]);
    await s.server.fetchNow();
    const hostKey = s.server.hostPublicKey;
    expect(hostKey).toMatch(/^ssh-ed25519 /);
    await s.server.stop();
    // An index.json from before rootSha256: the restart computes it (once) and saves it.
    const index = join(s.publishDir, '.versions', 'EOS.x86_64-AB', 'index.json');
    const old = JSON.parse(readFileSync(index, 'utf8')) as { versions: Record<string, unknown>[] };
    for (const v of old.versions) delete v.rootSha256;
    writeFileSync(index, JSON.stringify(old));
    const again = await startUpdateServer(
      {
        ...s.server.config,
        http: { host: '127.0.0.1', port: 0 },
        ssh: { ...s.server.config.ssh, port: 0 },
      },
      { logger: silent },
    );
    try {
      expect(again.hostPublicKey).toBe(hostKey);
      const res = await httpGet(again.httpPort, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'HEAD');
      expect(res.headers['x-root-prefix-hash']).toBe(v1.rootPrefixHash);
      expect(res.headers['x-eos-root-sha256']).toBe(rootSha256Of(v1));
      const saved = JSON.parse(readFileSync(index, 'utf8')) as {
        versions: { rootSha256?: string }[];
      };
      expect(saved.versions[0]?.rootSha256).toBe(rootSha256Of(v1));
      const r = await runSsh(s.key, again.sshPort, `sudo cat ${EOS_DIR}/EOS.x86_64-AB.raw.dev`);
      expect(r.stdout.equals(partitionBytes(v1.path, v1.root))).toBe(true);
    } finally {
      await again.stop();
    }
  });
});

describe('timer and shutdown', () => {
  it('fetches on start and on its interval, and lets a stream in progress finish on stop', async () => {
    const dir = join(tmp.path, 'timer');
    mkdirSync(dir, { recursive: true });
    const key = sshKeygen(join(dir, 'id_fleet'));
    writeAuthorizedKeys(join(dir, 'authorized_keys'), [publicKey(key)]);
    const v1 = await build(dir, '1', false, 32);
    const v2 = await build(dir, '2', false, 32);
    const src = join(dir, 'upstream.raw');
    copyFileSync(v1.path, src);
    const yml = join(dir, 'os-update.yml');
    writeFileSync(
      yml,
      `update:\n  - image: ${pathToFileURL(src).href}\n    name: EOS.x86_64-AB.raw\n`,
    );
    const server = await startUpdateServer(
      {
        osUpdateYml: yml,
        publishDir: join(dir, 'os-images'),
        stateDir: join(dir, 'state'),
        fetchIntervalSeconds: 0.5,
        catalogToken: TOKEN,
        http: { host: '127.0.0.1', port: 0 },
        ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: join(dir, 'authorized_keys') },
        shutdownGraceMs: 10_000,
      },
      { logger: silent },
    );
    const headRootHash = async (): Promise<unknown> =>
      (await httpGet(server.httpPort, '/os-images/EOS.x86_64-AB.raw.dev', {}, 'HEAD')).headers[
        'x-root-prefix-hash'
      ];
    const waitFor = async (want: string): Promise<void> => {
      for (let i = 0; i < 100 && (await headRootHash()) !== want; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await headRootHash()).toBe(want);
    };
    await waitFor(v1.rootPrefixHash); // fetched on start, no fetchNow()
    copyFileSync(v2.path, src);
    await waitFor(v2.rootPrefixHash); // fetched by the timer

    // A paused reader holds a stream open; stop() waits for it within the grace period.
    const req = request({
      host: '127.0.0.1',
      port: server.httpPort,
      path: '/os-images/EOS.x86_64-AB.raw.dev',
    });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.pause();
    await new Promise((r) => setTimeout(r, 200));
    const stopped = server.stop();
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    await stopped;
    expect(Buffer.concat(chunks).equals(partitionBytes(v2.path, v2.root))).toBe(true);
    await expect(httpGet(server.httpPort, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });
});
