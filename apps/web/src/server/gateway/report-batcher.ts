// Presence and inventory from every socket of this process, written together once per flush
// interval (services/devices/device-reports.ts): the latest value per device wins, a failed
// flush is retried with the next one.
import type { Inventory } from '@eos-fleet/shared/protocol/index';
import type { Db } from '@eos-fleet/db';
import {
  flushInventories,
  flushPresence,
  type PresenceUpdate,
} from '../services/devices/device-reports';
import type { Logger } from '../logger';

export class ReportBatcher {
  private presence = new Map<string, PresenceUpdate>();
  private inventories = new Map<string, Inventory>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** statements sent to PostgreSQL by flushes: the bench reads it */
  statements = 0;

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

  /** Write what has gathered; concurrent calls queue behind the running one. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const presence = [...this.presence.values()];
      const inventories = [...this.inventories].map(([deviceId, inventory]) => ({
        deviceId,
        inventory,
      }));
      this.presence.clear();
      this.inventories.clear();
      try {
        if (inventories.length) {
          await flushInventories(this.db, inventories);
          this.statements++;
        }
        if (presence.length) {
          await flushPresence(this.db, this.gatewayId, presence);
          this.statements++;
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'device report flush failed; retrying with the next');
        for (const update of presence)
          if (!this.presence.has(update.deviceId)) this.presence.set(update.deviceId, update);
        for (const report of inventories)
          if (!this.inventories.has(report.deviceId))
            this.inventories.set(report.deviceId, report.inventory);
      }
    });
    return this.flushing;
  }

  async stop() {
    clearInterval(this.timer);
    await this.flush();
  }
}
