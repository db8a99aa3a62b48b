import { listAuditEvents, listAuditEventsInput } from '../../services/audit/list-audit-events';
import { auditPageOutput } from '../openapi-outputs';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const auditRouter = createTRPCRouter({
  list: permittedProcedure('audit.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/audit',
        tags: ['audit'],
        summary: 'A page of the audit log',
      },
    })
    .output(auditPageOutput)
    .input(listAuditEventsInput)
    .query(({ ctx, input }) => listAuditEvents(ctx.service, input)),
});
