import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './testing/fixtures';

const tmp = tempDir('update-server-main-');
afterAll(() => tmp.remove());

function startMain(args: string[], env: Record<string, string> = {}) {
  return spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

describe('main', () => {
  it('starts from a config file, answers /healthz and stops cleanly on SIGTERM', async () => {
    const config = join(tmp.path, 'update-server.yml');
    writeFileSync(
      config,
      [
        `osUpdateYml: ${join(tmp.path, 'os-update.yml')}`,
        `publishDir: ${join(tmp.path, 'os-images')}`,
        `stateDir: ${join(tmp.path, 'state')}`,
        'http: { host: 127.0.0.1, port: 0 }',
        `ssh: { host: 127.0.0.1, port: 0, authorizedKeysFile: ${join(tmp.path, 'authorized_keys')} }`,
      ].join('\n'),
    );
    writeFileSync(join(tmp.path, 'os-update.yml'), 'update: []\n');
    const child = startMain(['--config', config], {
      EOS_FLEET_CATALOG_TOKEN: 'a-token-of-twenty-chars',
    });
    let httpPort = 0;
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = JSON.parse(line) as { msg: string; httpPort?: number };
      if (entry.msg === 'update server listening') {
        httpPort = entry.httpPort ?? 0;
        break;
      }
    }
    expect(httpPort).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(res.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });

  it('exits with a clear error naming a bad field', async () => {
    const config = join(tmp.path, 'bad.yml');
    writeFileSync(config, 'keepVersions: none\n');
    const child = startMain(['--config', config], {
      EOS_FLEET_CATALOG_TOKEN: 'a-token-of-twenty-chars',
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toMatch(/keepVersions/);
  });
});
