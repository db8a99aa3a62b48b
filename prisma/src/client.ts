import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/client/client';

export type Db = PrismaClient;

/** One client per process: the pg pool behind it is the connection budget. */
export function createPrismaClient(url: string, { poolSize = 10 } = {}): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}
