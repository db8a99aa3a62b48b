import { accountRouter } from './routers/account';
import { apiTokensRouter } from './routers/api-tokens';
import { auditRouter } from './routers/audit';
import { catalogRouter } from './routers/catalog';
import { devicesRouter } from './routers/devices';
import { enrollmentRouter } from './routers/enrollment';
import { fleetRouter } from './routers/fleet';
import { liveRouter } from './routers/live';
import { operatorsRouter } from './routers/operators';
import { rolloutsRouter } from './routers/rollouts';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  account: accountRouter,
  apiTokens: apiTokensRouter,
  audit: auditRouter,
  catalog: catalogRouter,
  devices: devicesRouter,
  enrollment: enrollmentRouter,
  fleet: fleetRouter,
  live: liveRouter,
  operators: operatorsRouter,
  rollouts: rolloutsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
