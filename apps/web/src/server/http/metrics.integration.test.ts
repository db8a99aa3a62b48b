/* eslint-disable @typescript-eslint/no-non-null-assertion -- test lookups of rows the test itself made */
// /metrics on the real server and PostgreSQL: refused without the metrics token or an admin API
// token, and a real scrape in Prometheus' text format (every line checked) that counts what the
// database and the process hold.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokenOf } from '../testing/http-principals';
import { createTestApp } from '../testing/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;

const METRICS_TOKEN = 'metrics-token-for-the-test-0123456789';

/** Prometheus text exposition format 0.0.4, line by line; returns the samples. */
function parseExposition(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (help) continue;
    const type =
      /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( -?\d+)?$/.exec(
        line,
      );
    if (!sample) throw new Error(`not a Prometheus exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    ))
      labels[key!] = value!;
    const family = sample[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(sample[1]!) && !types.has(family))
      throw new Error(`sample without a TYPE: ${line}`);
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

describe('/metrics (real server, real PostgreSQL)', () => {
  let app: TestApp;
  let server: Server;
  let admin: string;
  let operator: string;

  beforeAll(async () => {
    process.env.EOS_FLEET_METRICS_TOKEN = METRICS_TOKEN;
    app = await createTestApp();
    server = await app.listen();
    admin = await apiTokenOf(app, 'admin');
    operator = await apiTokenOf(app, 'operator');
  });
  afterAll(async () => {
    delete process.env.EOS_FLEET_METRICS_TOKEN;
    await server.close();
    await app.close();
  });

  const scrape = (token?: string) =>
    fetch(`${server.baseUrl}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('is refused without credentials (401), with a bad token (401) and to a non-admin token (403)', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('eosf_0000000000000000_nope')).status).toBe(401);
    expect((await scrape(`${METRICS_TOKEN}x`)).status).toBe(401);
    expect((await scrape(operator)).status).toBe(403);
  });

  it('exposes the fleet, the gateway, the pool and the process in Prometheus format', async () => {
    const deviceId = randomUUID();
    await app.db.device.create({
      data: { id: deviceId, name: 'metrics-1', publicKey: randomUUID(), status: 'accepted' },
    });
    for (let i = 0; i < 2; i += 1) {
      const sent = await fetch(`${server.baseUrl}/api/v1/devices/${deviceId}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'check' }),
      });
      expect(sent.status).toBe(200);
    }

    const response = await scrape(METRICS_TOKEN);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parseExposition(await response.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find(
        (sample) =>
          sample.name === name &&
          Object.entries(labels).every(([key, v]) => sample.labels[key] === v),
      )?.value;

    expect(value('eos_fleet_commands', { kind: 'check', state: 'queued' })).toBe(2);
    expect(value('eos_fleet_connected_devices')).toBe(0);
    expect(types.get('eos_fleet_gateway_handshakes_total')).toBe('counter');
    expect(types.get('eos_fleet_report_flush_seconds')).toBe('histogram');
    expect(types.get('eos_fleet_catalog_polls_total')).toBe('counter');
    expect(value('eos_fleet_db_pool_max')).toBeGreaterThanOrEqual(4);
    expect(value('eos_fleet_db_pool_connections')).toBeGreaterThan(0);
    expect(value('eos_fleet_process_resident_memory_bytes')).toBeGreaterThan(0);

    // an admin API token may scrape too
    expect((await scrape(admin)).status).toBe(200);
  });
});
