// The agent's version, from its package.json (inlined into the bundle by esbuild).
import packageJson from '../package.json';

export const AGENT_VERSION: string = packageJson.version;
