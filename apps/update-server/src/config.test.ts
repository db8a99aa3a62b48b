import { describe, expect, it } from 'vitest';
import { ConfigError, mergeConfigLayers, parseUpdateServerConfig } from './config';
import { readCommandLine } from './env';

const token = { catalogToken: 'x'.repeat(16) };

describe('update server config', () => {
  it('fills EOS defaults', () => {
    const c = parseUpdateServerConfig(token);
    expect(c).toMatchObject({
      osUpdateYml: '/etc/os-update.yml',
      publishDir: '/srv/www/fleet/os-images',
      fetchIntervalSeconds: 3600,
      keepVersions: 3,
      http: { port: 8080 },
      ssh: { port: 2222, hostKeyFile: '/var/lib/eos-fleet/update-server/ssh_host_ed25519_key' },
    });
  });

  it('names the bad field', () => {
    expect(() => parseUpdateServerConfig({})).toThrow(/catalogToken/);
    expect(() => parseUpdateServerConfig({ ...token, ssh: { port: 70000 } })).toThrow(/ssh\.port/);
    expect(() => parseUpdateServerConfig({ ...token, keepVersions: 0 })).toThrow(/keepVersions/);
    expect(() => parseUpdateServerConfig({ ...token, htp: {} })).toThrow(ConfigError);
    expect(() => parseUpdateServerConfig({ ...token, catalogToken: 'short' })).toThrow(
      /catalogToken: must be at least 16/,
    );
  });

  it('layers file < env < flags', () => {
    const cli = readCommandLine(['--http-port', '9000', '--publish-dir', '/tmp/p'], {
      EOS_FLEET_CATALOG_TOKEN: 'y'.repeat(20),
      EOS_FLEET_UPDATE_SERVER_HTTP_PORT: '8000',
      EOS_FLEET_UPDATE_SERVER_SSH_PORT: '2200',
    });
    const c = parseUpdateServerConfig(
      mergeConfigLayers(
        { catalogToken: 'z'.repeat(16), http: { host: '127.0.0.1', port: 1 }, keepVersions: 5 },
        cli.env,
        cli.flags,
      ),
    );
    expect(c).toMatchObject({
      catalogToken: 'y'.repeat(20),
      publishDir: '/tmp/p',
      keepVersions: 5,
      http: { host: '127.0.0.1', port: 9000 },
      ssh: { port: 2200 },
    });
    expect(() => readCommandLine(['--http-port', 'eighty'], {})).toThrow(/--http-port/);
  });
});
