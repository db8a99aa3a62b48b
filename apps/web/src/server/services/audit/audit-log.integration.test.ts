// The audit log's filters (through the tRPC caller) and its CSV export (over HTTP, real server,
// real sessions), against real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../testing/test-app';
import { csvCell } from './audit-csv';
import { eachAuditEvent } from './list-audit-events';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const T0 = new Date('2026-01-10T12:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const DEVICE_A = '11111111-1111-4111-8111-111111111111';
const DEVICE_B = '22222222-2222-4222-8222-222222222222';

/** RFC 4180, enough to read back what the export wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

describe('audit log: filters and CSV export', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let admin: Awaited<ReturnType<TestApp['addOperator']>>;
  let viewer: Awaited<ReturnType<TestApp['addOperator']>>;

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen();
    admin = await app.addOperator('admin', 'Alice@Example.org');
    viewer = await app.addOperator('viewer');
    // the operators' own creation events are from now; these are in January
    const event = (
      minutes: number,
      fields: {
        action: string;
        actorType: 'operator' | 'device' | 'system';
        actorId?: string;
        actorLabel: string;
        targetType: string;
        targetId?: string;
        data?: object;
      },
    ) => ({ createdAt: at(minutes), ...fields });
    await app.db.auditEvent.createMany({
      data: [
        event(0, {
          action: 'device.accepted',
          actorType: 'operator',
          actorId: admin.id,
          actorLabel: admin.email,
          targetType: 'device',
          targetId: DEVICE_A,
          data: { name: 'EOS-3f0c' },
        }),
        event(1, {
          action: 'command.created',
          actorType: 'operator',
          actorId: admin.id,
          actorLabel: admin.email,
          targetType: 'device',
          targetId: DEVICE_A,
          data: { commandId: 'c1', kind: 'apply', device: 'EOS-3f0c' },
        }),
        event(2, {
          action: 'command.succeeded',
          actorType: 'device',
          actorId: DEVICE_A,
          actorLabel: 'EOS-3f0c',
          targetType: 'device',
          targetId: DEVICE_A,
          data: { commandId: 'c1', kind: 'apply', device: 'EOS-3f0c' },
        }),
        event(3, {
          action: 'command.timed_out',
          actorType: 'system',
          actorLabel: 'system',
          targetType: 'device',
          targetId: DEVICE_B,
          data: { commandId: 'c2', kind: 'check', device: 'EOS-b', errorCode: 'timed_out' },
        }),
        event(4, {
          action: 'device.updated',
          actorType: 'operator',
          actorId: admin.id,
          // a name a spreadsheet would run as a formula, with a quote, a comma and a newline
          actorLabel: '=HYPERLINK("http://evil","x")',
          targetType: 'device',
          targetId: DEVICE_B,
          data: { labels: { note: 'a, "quoted"\nsecond line' } },
        }),
      ],
    });
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const january = { from: at(-1), to: at(60) };

  describe('filters (server side, with the cursor)', () => {
    const actions = async (filter: Record<string, unknown>) =>
      (await app.callerFor(viewer).audit.list({ ...january, ...filter })).events.map(
        (event) => event.action,
      );

    it('by action: one of the closed list, or all of an entity', async () => {
      expect(await actions({ action: 'command.succeeded' })).toEqual(['command.succeeded']);
      expect(await actions({ action: 'command.' })).toEqual([
        'command.timed_out',
        'command.succeeded',
        'command.created',
      ]);
      await expect(actions({ action: 'command.succ' })).rejects.toThrow(/audit actions/);
    });

    it('by actor: type, part of the name or email (any case), or id', async () => {
      expect(await actions({ actorType: 'device' })).toEqual(['command.succeeded']);
      expect(await actions({ actorType: 'system' })).toEqual(['command.timed_out']);
      expect(await actions({ actor: 'alice@EXAMPLE' })).toEqual([
        'command.created',
        'device.accepted',
      ]);
      expect(await actions({ actor: admin.id })).toEqual([
        'device.updated',
        'command.created',
        'device.accepted',
      ]);
      expect(await actions({ actor: DEVICE_A })).toEqual(['command.succeeded']);
      // LIKE's wildcards match only themselves
      expect(await actions({ actor: '%' })).toEqual([]);
    });

    it('by entity and by time: from inclusive, to exclusive', async () => {
      expect(await actions({ targetType: 'device', targetId: DEVICE_B })).toEqual([
        'device.updated',
        'command.timed_out',
      ]);
      expect(await actions({ targetType: 'operator' })).toEqual([]);
      expect(await actions({ from: at(1), to: at(3) })).toEqual([
        'command.succeeded',
        'command.created',
      ]);
      // the operators created just now are outside January
      const now = await app.callerFor(viewer).audit.list({ from: at(60) });
      expect(now.events.map((event) => event.action)).toEqual([
        'operator.created',
        'operator.created',
      ]);
      await expect(actions({ from: at(3), to: at(1) })).rejects.toThrow(
        /start of the time range must be before its end/,
      );
      await expect(actions({ from: 'yesterday' })).rejects.toThrow(/expected a date and time/);
    });

    it('pages through a filtered view with the cursor, newest first', async () => {
      const caller = app.callerFor(viewer);
      const first = await caller.audit.list({ ...january, targetId: DEVICE_A, limit: 2 });
      expect(first.events.map((event) => event.action)).toEqual([
        'command.succeeded',
        'command.created',
      ]);
      expect(first.nextCursor).toBeDefined();
      const second = await caller.audit.list({
        ...january,
        targetId: DEVICE_A,
        limit: 2,
        cursor: first.nextCursor,
      });
      expect(second.events.map((event) => event.action)).toEqual(['device.accepted']);
      expect(second.nextCursor).toBeUndefined();
    });
  });

  describe('CSV export', () => {
    async function signIn(email: string, password: string): Promise<string> {
      const response = await fetch(`${http.baseUrl}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(http.baseUrl).origin },
        body: JSON.stringify({ email, password }),
      });
      expect(response.status).toBe(200);
      const cookie = response.headers
        .getSetCookie()
        .find((line) => line.startsWith('better-auth.session_token='));
      if (!cookie) throw new Error('no session cookie');
      return cookie.split(';')[0] ?? '';
    }

    /** The body's rows; it starts with a UTF-8 BOM (fetch's text() would hide it). */
    async function readCsv(response: Response): Promise<string[][]> {
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      return parseCsv(new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes));
    }

    const exportUrl = (query: Record<string, string>) =>
      `${http.baseUrl}/api/audit/export.csv?${new URLSearchParams(query).toString()}`;
    const januaryQuery = { from: january.from.toISOString(), to: january.to.toISOString() };

    it('escapes quotes, commas, newlines and formulas', () => {
      expect(csvCell('plain')).toBe('plain');
      expect(csvCell('a,b')).toBe('"a,b"');
      expect(csvCell('say "hi"')).toBe('"say ""hi"""');
      expect(csvCell('two\nlines')).toBe('"two\nlines"');
      expect(csvCell('=1+1')).toBe("'=1+1");
      expect(csvCell('+1')).toBe("'+1");
      expect(csvCell('-1')).toBe("'-1");
      expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
      expect(csvCell('\tx')).toBe("'\tx");
      expect(csvCell('=A1,"b"')).toBe(`"'=A1,""b"""`);
      expect(csvCell(null)).toBe('');
    });

    it('refuses without a session: 401, nothing exported', async () => {
      const response = await fetch(exportUrl(januaryQuery));
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/json/);
      expect(await response.text()).not.toMatch(/EOS-3f0c/);
      const forged = await fetch(exportUrl(januaryQuery), {
        headers: { cookie: 'better-auth.session_token=forged.value' },
      });
      expect(forged.status).toBe(401);
    });

    it('gives a viewer the filtered log as CSV, every row read back as written', async () => {
      const cookie = await signIn(viewer.email, viewer.password);
      const response = await fetch(exportUrl(januaryQuery), { headers: { cookie } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(
        /^attachment; filename="audit-.*\.csv"$/,
      );
      expect(response.headers.get('x-audit-rows')).toBe('5');
      expect(response.headers.get('x-audit-truncated')).toBe('false');
      const [header, ...rows] = await readCsv(response);
      expect(header).toEqual([
        'id',
        'time',
        'actor_type',
        'actor_id',
        'actor',
        'action',
        'target_type',
        'target_id',
        'summary',
        'ip_address',
        'data',
      ]);
      expect(rows.map((row) => row[5])).toEqual([
        'device.updated',
        'command.timed_out',
        'command.succeeded',
        'command.created',
        'device.accepted',
      ]);
      const updated = rows[0] ?? [];
      // the formula is defused, its quote and comma survive the round trip
      expect(updated[4]).toBe(`'=HYPERLINK("http://evil","x")`);
      expect(updated[8]).toMatch(
        /^'=HYPERLINK\("http:\/\/evil","x"\) changed the labels of device 22222222$/,
      );
      expect(JSON.parse(updated[10] ?? '')).toEqual({
        labels: { note: 'a, "quoted"\nsecond line' },
      });
      expect(rows[2]?.[8]).toBe('device EOS-3f0c reported apply succeeded');
      expect(rows[4]?.[8]).toBe(`${admin.email} accepted device EOS-3f0c`);
      expect(rows[4]?.[1]).toBe(at(0).toISOString());
    });

    it('exports the same filter as the list, and refuses a bad one in words', async () => {
      const cookie = await signIn(viewer.email, viewer.password);
      const filtered = await fetch(exportUrl({ ...januaryQuery, actorType: 'device' }), {
        headers: { cookie },
      });
      const rows = await readCsv(filtered);
      expect(rows.slice(1).map((row) => row[5])).toEqual(['command.succeeded']);
      const bad = await fetch(exportUrl({ action: 'nonsense' }), { headers: { cookie } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
        /^Invalid filter: .*audit actions/,
      );
      const post = await fetch(exportUrl({}), { method: 'POST', headers: { cookie } });
      expect(post.status).toBe(405);
    });

    it('streams a large export in pages, bounded', async () => {
      const target = '33333333-3333-4333-8333-333333333333';
      await app.db.auditEvent.createMany({
        data: Array.from({ length: 2_500 }, (_, i) => ({
          action: 'device.updated',
          actorType: 'system' as const,
          actorLabel: 'system',
          targetType: 'device',
          targetId: target,
          data: { i },
          createdAt: at(10),
        })),
      });
      const cookie = await signIn(viewer.email, viewer.password);
      const response = await fetch(exportUrl({ targetId: target }), { headers: { cookie } });
      const rows = (await readCsv(response)).slice(1);
      expect(rows).toHaveLength(2_500);
      expect(new Set(rows.map((row) => row[0])).size).toBe(2_500);
      // the bound: no more than asked, whatever the page size
      const bounded: string[] = [];
      for await (const event of eachAuditEvent({ db: app.db }, { targetId: target }, 1_234, 500))
        bounded.push(event.id);
      expect(bounded).toHaveLength(1_234);
      expect(bounded).toEqual(rows.slice(0, 1_234).map((row) => row[0]));
    });
  });
});
