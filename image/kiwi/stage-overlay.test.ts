// stage-overlay.sh, run for real with a stand-in bundle (building the real one is the agent's own
// test): the tree a kiwi description's root/ receives, its modes, and that it keeps real configs.
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'stage-overlay.sh');
const overlay = join(import.meta.dirname, '../overlay');
const work = mkdtempSync(join(tmpdir(), 'eos-stage-overlay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'eos-fleet-agent.mjs');
writeFileSync(bundle, '// stand-in agent bundle\n');

function stage(...args: string[]) {
  return spawnSync('/bin/sh', [script, ...args], { encoding: 'utf8' });
}

function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => !statSync(join(dir, path)).isDirectory())
    .map((path) => relative(dir, join(dir, path)))
    .sort();
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('stage-overlay.sh', () => {
  it('stages the overlay and the bundle into a new root overlay directory', () => {
    const target = join(work, 'description/root');
    const result = stage('--bundle', bundle, target);
    expect(result.status, result.stderr).toBe(0);
    expect(tree(target)).toEqual([
      'etc/eos-fleet/agent.yml',
      'etc/eos-fleet/commit-gate.conf',
      'usr/bin/eos-fleet-agent',
      'usr/lib/eos-fleet/README.md',
      'usr/lib/eos-fleet/eos-fleet-agent.mjs',
      'usr/lib/systemd/system/eos-fleet-agent.service',
      'usr/lib/systemd/system/eos-fleet-commit-gate.service',
      'usr/lib/systemd/system/update_commit.service.d/eos-fleet-gate.conf',
      'usr/libexec/eos-fleet/commit-gate',
    ]);
    expect(readFileSync(join(target, 'usr/lib/eos-fleet/eos-fleet-agent.mjs'), 'utf8')).toBe(
      '// stand-in agent bundle\n',
    );
    expect(readFileSync(join(target, 'usr/libexec/eos-fleet/commit-gate'), 'utf8')).toBe(
      readFileSync(join(overlay, 'usr/libexec/eos-fleet/commit-gate'), 'utf8'),
    );
    expect(mode(join(target, 'usr/libexec/eos-fleet/commit-gate'))).toBe('755');
    expect(mode(join(target, 'usr/bin/eos-fleet-agent'))).toBe('755');
    expect(mode(join(target, 'usr/lib/systemd/system/eos-fleet-agent.service'))).toBe('644');
    expect(mode(join(target, 'etc/eos-fleet/agent.yml'))).toBe('600');
  });

  it('keeps an existing agent.yml unless --force-config', () => {
    const target = join(work, 'existing/root');
    mkdirSync(join(target, 'etc/eos-fleet'), { recursive: true });
    writeFileSync(
      join(target, 'etc/eos-fleet/agent.yml'),
      'server:\n  url: wss://real.example/agent/v1\n',
    );
    writeFileSync(join(target, 'etc/motd'), "the description's own file\n");
    const kept = stage('--bundle', bundle, target);
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stderr).toContain('kept the existing etc/eos-fleet/agent.yml');
    expect(readFileSync(join(target, 'etc/eos-fleet/agent.yml'), 'utf8')).toContain('real.example');
    expect(readFileSync(join(target, 'etc/motd'), 'utf8')).toContain('own file');
    expect(tree(join(target, 'etc/eos-fleet'))).toEqual(['agent.yml', 'commit-gate.conf']);
    expect(stage('--bundle', bundle, '--force-config', target).status).toBe(0);
    expect(readFileSync(join(target, 'etc/eos-fleet/agent.yml'), 'utf8')).toBe(
      readFileSync(join(overlay, 'etc/eos-fleet/agent.yml'), 'utf8'),
    );
  });

  it('refuses a missing bundle and bad arguments', () => {
    const missing = stage('--bundle', join(work, 'nope.mjs'), join(work, 'other'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no agent bundle');
    expect(stage().status).toBe(2);
    expect(stage('--bundle', bundle, 'a', 'b').status).toBe(2);
  });
});
