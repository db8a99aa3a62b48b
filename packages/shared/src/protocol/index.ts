// The agent protocol /agent/v1, shared by the device agent and the gateway. docs/protocol.md
// describes it in prose; node:crypto helpers live in ./ed25519 (not re-exported here).
export * from './constants';
export * from './values';
export * from './commands';
export * from './inventory';
export * from './frames';
export * from './signing';
export * from './parse';
