// LISTEN for fleet events (services/events/fleet-events.ts) on a dedicated connection, so a
// command or a revocation reaches the device whichever process holds its socket, and for the
// dashboard's change notices (services/events/change-notices.ts) on the same connection.
// Reconnects with backoff; after a reconnect the caller re-syncs, since events sent meanwhile are
// lost.
import { Backoff } from '@eos-fleet/shared/backoff';
import pg from 'pg';
import type { Logger } from '../logger';
import {
  FLEET_EVENTS_CHANNEL,
  fleetEventSchema,
  type FleetEvent,
} from '../services/events/fleet-events';
import { CHANGES_CHANNEL, decodeTopics, type ChangeTopic } from '../services/events/change-notices';

export interface EventListener {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function listenForFleetEvents(
  url: string,
  logger: Logger,
  onEvent: (event: FleetEvent) => void,
  onReconnect: () => void,
  onChanges?: (topics: ChangeTopic[]) => void,
): EventListener {
  let client: pg.Client | undefined;
  let closed = false;
  let reconnecting = false;
  const backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) {
        const topics = decodeTopics(message.payload);
        if (topics) onChanges?.(topics);
        else logger.warn({ payload: message.payload.slice(0, 200) }, 'unknown change notice');
        return;
      }
      if (message.channel !== FLEET_EVENTS_CHANNEL || !message.payload) return;
      let json: unknown;
      try {
        json = JSON.parse(message.payload);
      } catch {
        return logger.warn({ payload: message.payload }, 'fleet event is not JSON');
      }
      const parsed = fleetEventSchema.safeParse(json);
      if (parsed.success) onEvent(parsed.data);
      else logger.warn({ payload: message.payload }, 'unknown fleet event');
    });
    next.on('error', (error) => {
      logger.warn({ err: error }, 'fleet event connection lost');
      void next.end().catch(() => undefined);
      if (client === next) {
        client = undefined;
        schedule();
      }
    });
    try {
      await next.connect();
      await next.query(`listen ${FLEET_EVENTS_CHANNEL}`);
      if (onChanges) await next.query(`listen ${CHANGES_CHANNEL}`);
      client = next;
      if (reconnecting) onReconnect();
      reconnecting = false;
      backoff.reset();
      markReady();
    } catch (error) {
      logger.warn({ err: error }, 'cannot listen for fleet events; retrying');
      await next.end().catch(() => undefined);
      schedule();
    }
  };
  const schedule = () => {
    if (closed) return;
    reconnecting = true;
    setTimeout(() => void connect(), backoff.next()).unref();
  };
  void connect();

  return {
    ready,
    async close() {
      closed = true;
      await client?.end().catch(() => undefined);
    },
  };
}
