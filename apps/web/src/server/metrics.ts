// Prometheus metrics of this process (prom-client, one registry), served at /metrics by
// http/app-server.ts. Counters are bumped where things happen (gateway, report batcher, catalog
// poller); gauges are read at scrape time from what the process holds, and the commands gauge
// from one grouped query, cached a few seconds so scrapes cannot hammer PostgreSQL.
import { poolStatsOf, type Db } from '@eos-fleet/db';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { countCommandsByKindAndState } from './services/commands/count-commands';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'eos_fleet_' });

/** what every gateway of this process reports (a test process may run several) */
const gateways = new Set<() => { devices: number; connections: number }>();
/** the clients whose pools are reported, each with how many of its users track it */
const databases = new Map<Db, number>();

export function trackGateway(stats: () => { devices: number; connections: number }) {
  gateways.add(stats);
  return () => void gateways.delete(stats);
}

/** A client to report (the gateway's, the jobs'); one client tracked twice is counted once. */
export function trackDatabase(db: Db) {
  databases.set(db, (databases.get(db) ?? 0) + 1);
  let tracked = true;
  return () => {
    if (!tracked) return;
    tracked = false;
    const users = (databases.get(db) ?? 1) - 1;
    if (users > 0) databases.set(db, users);
    else databases.delete(db);
  };
}

new Gauge({
  name: 'eos_fleet_connected_devices',
  help: 'Devices with an authenticated gateway connection to this process',
  registers: [registry],
  collect() {
    this.set([...gateways].reduce((sum, stats) => sum + stats().devices, 0));
  },
});

new Gauge({
  name: 'eos_fleet_gateway_connections',
  help: 'Open device WebSocket connections on this process (authenticated or not)',
  registers: [registry],
  collect() {
    this.set([...gateways].reduce((sum, stats) => sum + stats().connections, 0));
  },
});

export const handshakes = new Counter({
  name: 'eos_fleet_gateway_handshakes_total',
  help: 'Device handshakes by outcome (accepted, pending, or the reason for a refusal)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const reportFlushSeconds = new Histogram({
  name: 'eos_fleet_report_flush_seconds',
  help: 'Time to write one batch of device presence and inventory reports',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const catalogPolls = new Counter({
  name: 'eos_fleet_catalog_polls_total',
  help: 'Update-server catalog polls by server and outcome (ok, unreachable, skipped, failed)',
  labelNames: ['server', 'outcome'] as const,
  registers: [registry],
});

const COMMANDS_CACHE_MS = 5_000;
let commandsCache: {
  at: number;
  rows: Awaited<ReturnType<typeof countCommandsByKindAndState>>;
} | null = null;

new Gauge({
  name: 'eos_fleet_commands',
  help: 'Commands by kind and state (read at most every 5 s)',
  labelNames: ['kind', 'state'] as const,
  registers: [registry],
  async collect() {
    const db = databases.keys().next().value;
    if (!db) return;
    if (!commandsCache || Date.now() - commandsCache.at > COMMANDS_CACHE_MS)
      commandsCache = { at: Date.now(), rows: await countCommandsByKindAndState(db) };
    this.reset();
    for (const row of commandsCache.rows) this.set({ kind: row.kind, state: row.state }, row.count);
  },
});

function poolGauge(
  name: string,
  help: string,
  read: (stats: NonNullable<ReturnType<typeof poolStatsOf>>) => number,
) {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let sum = 0;
      for (const db of databases.keys()) {
        const stats = poolStatsOf(db);
        if (stats) sum += read(stats);
      }
      this.set(sum);
    },
  });
}
poolGauge(
  'eos_fleet_db_pool_connections',
  'PostgreSQL connections open in the pool',
  (s) => s.total,
);
poolGauge('eos_fleet_db_pool_idle', 'Idle PostgreSQL connections in the pool', (s) => s.idle);
poolGauge(
  'eos_fleet_db_pool_waiting',
  'Queries waiting for a free pool connection',
  (s) => s.waiting,
);
poolGauge('eos_fleet_db_pool_max', 'The pool size limit', (s) => s.max);
