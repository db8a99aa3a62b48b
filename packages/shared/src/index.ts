export * from './domain';
export * from './command-timeouts';
export * from './gpt';
export * from './root-prefix-hash';
export * from './protocol';
