export { startUpdateServer, type RunningUpdateServer } from './update-server';
export {
  EOS_PUBLISH_DIR,
  parseUpdateServerConfig,
  type UpdateServerConfig,
  type UpdateServerConfigInput,
} from './config';
export type { FetchResult } from './image-fetcher';
export type { Catalog } from './catalog';
export { parsePublishedName } from './image-store';
