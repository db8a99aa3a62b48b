// The EOS testbed device: see README.md.
export * from './create-device';
export * from './device-layout';
export * from './device-state';
export * from './testbed-device';
export { requestBoot, type BootAction } from './boot-control';
export { parseDdBytes } from './dd-format';
