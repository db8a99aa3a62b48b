// Test fixtures with real parts: temp dirs, keys from the real ssh-keygen, the real /usr/bin/ssh,
// EOS-shaped images from @eos-fleet/image, and a tiny upstream HTTP server.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A key pair from the real ssh-keygen: returns the private key path; `.pub` beside it. */
export function sshKeygen(path: string, type: 'ed25519' | 'rsa' = 'ed25519'): string {
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-C',
    `test-${type}`,
    '-f',
    path,
  ]);
  return path;
}

export function publicKey(privatePath: string): string {
  return readFileSync(`${privatePath}.pub`, 'utf8').trim();
}

export function writeAuthorizedKeys(path: string, lines: string[]): void {
  writeFileSync(path, `${lines.join('\n')}\n`);
}

export interface SshResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The exact ssh invocation of EOS's os-update, plus -p and BatchMode (no prompts in tests). */
export function sshArgs(
  key: string,
  port: number,
  command: string,
  extra: string[] = [],
): string[] {
  return [
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
    '-o',
    'IdentitiesOnly=yes',
    '-p',
    String(port),
    ...extra,
    'fleet@127.0.0.1',
    command,
  ];
}

export async function runSsh(
  key: string,
  port: number,
  command: string,
  extra: string[] = [],
): Promise<SshResult> {
  const child = spawn('/usr/bin/ssh', sshArgs(key, port, command, extra), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out), stderr };
}

export function partitionBytes(imagePath: string, part: { offset: number; size: number }): Buffer {
  return readFileSync(imagePath).subarray(part.offset, part.offset + part.size);
}

/**
 * A tiny upstream: serves files from a map of routes with an ETag (size and mtime) and answers
 * If-None-Match with 304; `truncate` routes lie about their length. Counts full downloads per path.
 */
export async function startUpstream(): Promise<{
  url: (path: string) => string;
  routes: Map<string, { file: string; truncate?: boolean; status?: number }>;
  downloads: Map<string, number>;
  close: () => Promise<void>;
}> {
  const routes = new Map<string, { file: string; truncate?: boolean; status?: number }>();
  const downloads = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (!route || route.status) {
      res.writeHead(route?.status ?? 404);
      return void res.end('not found');
    }
    const st = statSync(route.file);
    const etag = `"${st.size}-${st.mtimeMs}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag });
      return void res.end();
    }
    downloads.set(req.url ?? '', (downloads.get(req.url ?? '') ?? 0) + 1);
    const body = readFileSync(route.file);
    res.writeHead(200, {
      'Content-Length': body.length,
      'Content-Type': 'application/octet-stream',
      ETag: etag,
    });
    if (route.truncate) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    routes,
    downloads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
