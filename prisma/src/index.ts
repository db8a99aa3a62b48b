export * from './client';
export * from './embedded-postgres';
export * from './migrations';
export * from './project-database';
export * from '../generated/client/client';
export * from '../generated/client/enums';
