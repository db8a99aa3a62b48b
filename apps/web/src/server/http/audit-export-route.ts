// GET /api/audit/export.csv?<the audit page's filter>: every matching event as CSV, streamed page
// by page with backpressure, at most MAX_AUDIT_EXPORT_ROWS (the response says when it was cut).
// Signed in and permitted like audit.list.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '@eos-fleet/db';
import { describeIssues } from '@eos-fleet/shared/protocol/index';
import type { SessionOperator } from '../api/trpc';
import { can } from '../api/permissions';
import { AUDIT_CSV_COLUMNS, auditCsvRow, csvRow } from '../services/audit/audit-csv';
import { auditFilterInput, auditWhere, eachAuditEvent } from '../services/audit/list-audit-events';

export const MAX_AUDIT_EXPORT_ROWS = 100_000;
export const AUDIT_EXPORT_PATH = '/api/audit/export.csv';

function refuse(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ error: { code, message } }));
}

function writeOrWait(res: ServerResponse, chunk: string): Promise<void> | undefined {
  if (res.write(chunk)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function handleAuditExport(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: {
    db: Db;
    operator: SessionOperator | null;
    maxRows?: number;
  },
) {
  const { operator, db } = options;
  const maxRows = options.maxRows ?? MAX_AUDIT_EXPORT_ROWS;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return refuse(res, 405, 'METHOD_NOT_SUPPORTED', 'The export is read with GET.');
  }
  if (!operator || operator.disabled) return refuse(res, 401, 'UNAUTHORIZED', 'Sign in first.');
  if (operator.mustChangePassword)
    return refuse(res, 403, 'FORBIDDEN', 'Choose a new password first.');
  if (!can(operator.role, 'audit.read'))
    return refuse(
      res,
      403,
      'FORBIDDEN',
      `Your role (${operator.role}) may not do this (audit.read).`,
    );

  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) if (value !== '') raw[key] = value;
  const parsed = auditFilterInput.safeParse(raw);
  if (!parsed.success)
    return refuse(res, 400, 'BAD_REQUEST', `Invalid filter: ${describeIssues(parsed.error)}`);
  const filter = parsed.data;

  const matching = await db.auditEvent.count({ where: auditWhere(filter), take: maxRows + 1 });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="audit-${stamp}.csv"`,
    'cache-control': 'no-store',
    'x-audit-rows': String(Math.min(matching, maxRows)),
    'x-audit-truncated': matching > maxRows ? 'true' : 'false',
  });
  if (req.method === 'HEAD') return res.end();
  // a BOM so spreadsheets read UTF-8
  await writeOrWait(res, `\uFEFF${csvRow(AUDIT_CSV_COLUMNS)}`);
  for await (const event of eachAuditEvent({ db }, filter, maxRows)) {
    if (res.destroyed) return; // the client went away
    await writeOrWait(res, auditCsvRow(event));
  }
  res.end();
}
