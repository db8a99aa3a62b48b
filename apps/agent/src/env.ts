// The only place the agent reads process.env.
import { AGENT_CONFIG_PATH } from '@eos-fleet/shared/agent-config';

export const env = {
  /** Config file path when --config is not given. */
  configPath: process.env.EOS_FLEET_AGENT_CONFIG ?? AGENT_CONFIG_PATH,
};
