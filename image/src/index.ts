export * from './build-eos-image';
export * from './root-header';
