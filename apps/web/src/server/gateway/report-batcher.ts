// Presence and inventory from every socket of this process, written together once per flush
// interval (services/devices/device-reports.ts): the latest value per device wins. One device's
// report can never cost the others theirs: presence and inventory are written separately, and a
// statement PostgreSQL refuses because of a value in it is split in halves until the bad row stands
// alone; that row is dropped (logged, rate-limited), every other row is written. A failure that is
// not about the values (the database is away) keeps every row for the next flush.
import { reportFlushSeconds } from '../metrics';
import type { Inventory } from '@eos-fleet/shared/protocol/index';
import type { Db } from '@eos-fleet/db';
import {
  flushInventories,
  flushPresence,
  type PresenceUpdate,
} from '../services/devices/device-reports';
import { databaseValueError, sqlStateOf } from '../services/errors';
import type { Logger } from '../logger';
import { LogLimiter, slotFields } from './log-limiter';

export class ReportBatcher {
  private presence = new Map<string, PresenceUpdate>();
  private inventories = new Map<string, Inventory>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** the flush results are waiting on (settle) */
  private early: Promise<void> | null = null;
  private readonly logs = new LogLimiter(10);
  /** statements sent to PostgreSQL by flushes: the bench reads it */
  statements = 0;
  /** device reports PostgreSQL refused and that were dropped */
  refused = 0;

  constructor(
    private readonly db: Db,
    private readonly gatewayId: string,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start() {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  connected(deviceId: string) {
    const now = new Date();
    this.presence.set(deviceId, { deviceId, online: true, lastSeenAt: now, connectedAt: now });
  }

  seen(deviceId: string) {
    const current = this.presence.get(deviceId);
    // keep a pending connectedAt: a connection and a pong in one interval are one write
    this.presence.set(deviceId, {
      deviceId,
      online: true,
      lastSeenAt: new Date(),
      connectedAt: current?.connectedAt,
    });
  }

  disconnected(deviceId: string) {
    this.presence.set(deviceId, { deviceId, online: false, lastSeenAt: new Date() });
  }

  inventory(deviceId: string, inventory: Inventory) {
    this.inventories.set(deviceId, inventory);
  }

  /**
   * Resolves once the inventory this device sent so far is written (or kept for the next flush
   * after a failure). A result is stored after it, so the device's row never shows the boot
   * before a result the agent reported later (a commit's reboot, then "succeeded").
   */
  async settle(deviceId: string): Promise<void> {
    // every result arriving meanwhile waits on the same early flush (hundreds of devices back
    // from a reboot at once cost one or two flushes, not one each); a second round covers an
    // inventory that came after that flush had taken its rows
    for (let round = 0; round < 2 && this.inventories.has(deviceId); round++) {
      this.early ??= this.flush().finally(() => (this.early = null));
      await this.early;
    }
    await this.flushing;
  }

  /** Write what has gathered; concurrent calls queue behind the running one. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const timer = reportFlushSeconds.startTimer();
      const inventories = [...this.inventories].map(([deviceId, inventory]) => ({
        deviceId,
        inventory,
      }));
      const presence = [...this.presence.values()];
      this.presence.clear();
      this.inventories.clear();
      const inventoriesLeft = await this.write('inventory', inventories, (rows) =>
        flushInventories(this.db, rows),
      );
      for (const report of inventoriesLeft)
        if (!this.inventories.has(report.deviceId))
          this.inventories.set(report.deviceId, report.inventory);
      const presenceLeft = await this.write('presence', presence, (rows) =>
        flushPresence(this.db, this.gatewayId, rows),
      );
      for (const update of presenceLeft)
        if (!this.presence.has(update.deviceId)) this.presence.set(update.deviceId, update);
      if (inventories.length + presence.length > 0) timer();
    });
    return this.flushing;
  }

  /** Writes `rows` with one statement where it can; returns the rows to try again next flush. */
  private async write<T extends { deviceId: string }>(
    what: 'inventory' | 'presence',
    rows: T[],
    statement: (rows: T[]) => Promise<void>,
  ): Promise<T[]> {
    if (!rows.length) return [];
    try {
      this.statements++;
      await statement(rows);
      return [];
    } catch (error) {
      const refusal = databaseValueError(error);
      if (!refusal) {
        const slot = this.logs.take('flush-failed');
        if (slot)
          this.logger.warn(
            { err: error, what, rows: rows.length, ...slotFields(slot, this.logs.windowMs) },
            'device report flush failed; retrying with the next',
          );
        return rows;
      }
      const [only, ...others] = rows;
      if (only && !others.length) {
        this.refused++;
        const slot = this.logs.take('refused');
        if (slot)
          this.logger.warn(
            {
              deviceId: only.deviceId,
              what,
              reason: refusal,
              sqlState: sqlStateOf(error),
              ...slotFields(slot, this.logs.windowMs),
            },
            'PostgreSQL refused one device report; dropped it, the others are written',
          );
        return [];
      }
      const middle = Math.ceil(rows.length / 2);
      const left = await this.write(what, rows.slice(0, middle), statement);
      const right = await this.write(what, rows.slice(middle), statement);
      return [...left, ...right];
    }
  }

  async stop() {
    clearInterval(this.timer);
    await this.flush();
  }
}
