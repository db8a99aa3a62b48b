import { listAuditEvents, listAuditEventsInput } from '../../services/audit/list-audit-events';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const auditRouter = createTRPCRouter({
  list: permittedProcedure('audit.read')
    .input(listAuditEventsInput)
    .query(({ ctx, input }) => listAuditEvents(ctx.service, input)),
});
