// Loads /etc/eos-fleet/agent.yml. Every failure names the file and the field, because the person
// reading it is looking at a device's journal, not at this code.
import { readFile } from 'node:fs/promises';
import { type AgentConfig, agentConfigSchema } from '@eos-fleet/shared/agent-config';
import { parse as parseYaml } from 'yaml';

export class ConfigError extends Error {}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  return parseAgentConfig(text, path);
}

export function parseAgentConfig(text: string, path: string): AgentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = agentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const base = issue.path.map(String).join('.');
      if (keys.length > 0) {
        return keys.map((key) => `${base ? `${base}.` : ''}${key}: unknown field`).join('\n  ');
      }
      return `${base || '(root)'}: ${issue.message}`;
    });
    throw new ConfigError(`invalid config file ${path}:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** The gateway's CA certificate (server.caFile), read once; a missing file is a config error. */
export async function readCaFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`server.caFile: cannot read ${path}: ${(error as Error).message}`);
  }
}
