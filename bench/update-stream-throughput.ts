// Streaming throughput of the update server's two channels against reading the same bytes from
// disk, each hashed with sha1 as the consumer goes (os-update pipes the SSH stream through sha1sum
// and dd; our agent hashes the HTTP stream). All three read the same root partition of one
// generated image, in the same run, from a warm page cache.
//   npm run bench:stream -w @eos-fleet/bench -- [--root-mib 512] [--runs 3]
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildEosImage } from '@eos-fleet/image';
import { sha1OfFile } from '@eos-fleet/shared';
import { startUpdateServer } from '@eos-fleet/update-server';
import pino from 'pino';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'root-mib': { type: 'string', default: '512' },
    runs: { type: 'string', default: '3' },
  },
});
const rootMiB = Number(values['root-mib']);
const runs = Number(values.runs);

interface Sample {
  seconds: number;
  sha1: string;
  bytes: number;
}

async function timed(fn: () => Promise<{ sha1: string; bytes: number }>): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function hashStream(stream: AsyncIterable<Buffer>): Promise<{ sha1: string; bytes: number }> {
  const h = createHash('sha1');
  let bytes = 0;
  for await (const chunk of stream) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha1: h.digest('hex'), bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'bench-stream-'));
  const server = await (async () => {
    const image = await buildEosImage({
      outPath: join(dir, 'EOS.raw'),
      version: '1',
      sizes: { uefi: 4, root: rootMiB, spare: 4 },
    });
    const key = join(dir, 'id_fleet');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    writeFileSync(
      join(dir, 'os-update.yml'),
      `update:\n  - image: ${pathToFileURL(image.path).href}\n    name: EOS.x86_64-AB.raw\n`,
    );
    const s = await startUpdateServer(
      {
        osUpdateYml: join(dir, 'os-update.yml'),
        publishDir: join(dir, 'os-images'),
        stateDir: join(dir, 'state'),
        fetchOnStart: false,
        catalogToken: 'bench-token-0123456789',
        http: { host: '127.0.0.1', port: 0 },
        ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: join(dir, 'authorized_keys') },
        logLevel: 'silent',
      },
      { logger: pino({ level: 'silent' }) },
    );
    await s.fetchNow();
    return { s, image, key };
  })();
  const { s, image, key } = server;
  const published = join(dir, 'os-images', '.versions', 'EOS.x86_64-AB', `${image.sha1}.raw`);
  const expected = await sha1OfFile({
    path: published,
    offset: image.root.offset,
    length: image.root.size,
  });

  const channels: Record<string, () => Promise<{ sha1: string; bytes: number }>> = {
    'disk (read + sha1)': async () => ({
      sha1: await sha1OfFile({
        path: published,
        offset: image.root.offset,
        length: image.root.size,
      }),
      bytes: image.root.size,
    }),
    'HTTP GET .raw.dev (+ sha1)': async () => {
      const req = request({
        host: '127.0.0.1',
        port: s.httpPort,
        path: '/os-images/EOS.x86_64-AB.raw.dev',
      });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      return hashStream(res as AsyncIterable<Buffer>);
    },
    'SSH sudo cat .raw.dev, /usr/bin/ssh (+ sha1)': async () => {
      const child = spawn(
        '/usr/bin/ssh',
        [
          '-i',
          key,
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'LogLevel=ERROR',
          '-o',
          'BatchMode=yes',
          '-p',
          String(s.sshPort),
          'fleet@127.0.0.1',
          'sudo cat /srv/www/fleet/os-images/EOS.x86_64-AB.raw.dev',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exit = once(child, 'close');
      const r = await hashStream(child.stdout as AsyncIterable<Buffer>);
      const [code] = (await exit) as [number];
      if (code !== 0) throw new Error(`ssh exited ${code}`);
      return r;
    },
  };

  // Warm-up (page cache, JIT, ssh code paths), then rounds that take each channel in turn, so a
  // load change on the machine hits all channels alike and the ratios stay meaningful.
  const entries = Object.entries(channels);
  for (const [, fn] of entries) await fn();
  const samples = new Map<string, Sample[]>(entries.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, fn] of entries) {
      const smp = await timed(fn);
      if (smp.sha1 !== expected || smp.bytes !== image.root.size)
        throw new Error(`${name}: wrong bytes (${smp.sha1})`);
      samples.get(name)?.push(smp);
    }
  }
  const results = entries.map(([name]) => {
    const seconds = median((samples.get(name) ?? []).map((x) => x.seconds));
    return { name, seconds, mibps: image.root.size / MiB / seconds };
  });
  await s.stop();
  rmSync(dir, { recursive: true, force: true });

  const disk = results[0]?.mibps ?? Number.NaN;
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.mibps.toFixed(0)} | ${r.seconds.toFixed(2)} | ${(r.mibps / disk).toFixed(2)} |`,
  );
  const fullGiB = 1200 / 1024;
  const table = [
    `Root partition of ${rootMiB} MiB, median of ${runs} interleaved rounds after a warm-up, every run's sha1 checked.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ` +
      `load average before the run ${loadBefore}. SSH cipher: aes128-gcm (the server's default offer).`,
    '',
    '| channel | MiB/s | s | ratio to disk |',
    '|---|---|---|---|',
    ...rows,
    '',
    `At these rates a full 1200 MiB AB slot streams in ${results
      .slice(1)
      .map((r) => `${((fullGiB * 1024) / r.mibps).toFixed(1)} s over ${r.name.split(' ')[0]}`)
      .join(' and ')} (one stream, loopback).`,
  ].join('\n');
  process.stdout.write(`${table}\n`);

  const docs = join(import.meta.dirname, '..', 'docs', 'BENCHMARKS.md');
  const section = [
    '<!-- bench:update-stream -->',
    '## Update stream throughput (`npm run bench:stream -w @eos-fleet/bench`)',
    '',
    'Update server channels (`bench/update-stream-throughput.ts`): the consumer sha1-hashes the',
    'stream as it arrives, against reading the same partition bytes from disk with sha1 in the same',
    'run (warm page cache; both ends on one machine, so the channels share its cores with the server).',
    "Absolute figures move with the machine's load (noted below); the ratios are the comparable part.",
    '',
    table,
    '<!-- /bench:update-stream -->',
  ].join('\n');
  let text: string;
  try {
    text = readFileSync(docs, 'utf8');
  } catch {
    text =
      '# Benchmarks\n\nFigures written by the scripts in `bench/`; each owns one marked section.\n';
  }
  const re = /<!-- bench:update-stream -->[\s\S]*?<!-- \/bench:update-stream -->/;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, text);
  process.stdout.write(`updated ${docs}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
