export * from './build-eos-image';
export * from './eos-reference';
export * from './root-header';
