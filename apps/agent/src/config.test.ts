import { describe, expect, it } from 'vitest';
import { ConfigError, parseAgentConfig } from './config';

const parse = (text: string) => parseAgentConfig(text, '/etc/eos-fleet/agent.yml');
const errorOf = (text: string): string => {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a config error');
};

describe('agent config', () => {
  it('fills EOS defaults around the required server URL', () => {
    const config = parse(
      'server:\n  url: wss://fleet.example.org/agent/v1\n  enrollmentToken: abc\n',
    );
    expect(config.stateDir).toBe('/var/lib/containers/storage/eos-fleet');
    expect(config.paths).toMatchObject({
      osUpdate: '/usr/sbin/os-update',
      fleet: '/usr/bin/fleet',
      flakeCtl: '/usr/bin/flake-ctl',
      flakesDir: '/usr/share/flakes',
      osUpdateConfig: '/etc/os-update.yml',
      cmdline: '/proc/cmdline',
      bootId: '/proc/sys/kernel/random/boot_id',
    });
    expect(config.paths.rootDevice).toBeUndefined();
    expect(config.reconnect.maxDelayMs).toBe(300_000);
  });

  it('names the missing or wrong field', () => {
    expect(errorOf('stateDir: /x\n')).toMatch(/agent\.yml:\n {2}server: /);
    expect(errorOf('server:\n  url: http://fleet.example.org\n')).toMatch(
      /server\.url: expected a ws:\/\/ or wss:\/\/ URL/,
    );
    expect(errorOf('server:\n  url: ws://h/agent/v1\npaths:\n  osUpdate: os-update\n')).toMatch(
      /paths\.osUpdate: expected an absolute path/,
    );
    expect(errorOf('server:\n  url: ws://h/agent/v1\nreconnect:\n  maxDelayMs: -1\n')).toMatch(
      /reconnect\.maxDelayMs/,
    );
  });

  it('refuses misspelt keys by name', () => {
    expect(
      errorOf('server:\n  url: ws://h/agent/v1\npaths:\n  flakectl: /usr/bin/flake-ctl\n'),
    ).toMatch(/paths\.flakectl: unknown field/);
  });

  it('says when the file is not YAML', () => {
    expect(errorOf('server: [unclosed\n')).toMatch(/not valid YAML/);
  });
});
