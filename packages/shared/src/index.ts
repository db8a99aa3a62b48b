export * from './domain';
export * from './gpt';
export * from './root-prefix-hash';
export * from './protocol';
