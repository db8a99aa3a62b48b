// The command journal: every command id the agent has acknowledged, its state and its result.
// Invariants: an id is journaled (fsynced) before it is acked; a journaled id never runs twice;
// an apply/rollback is journaled as awaiting_reboot before the tool that reboots is started, so the
// agent that starts after the reboot can decide the outcome; a result stays (unconfirmed) until the
// server said `result_stored`; a `cancel` that arrives before its command leaves a `cancelled`
// entry, so the command, when it comes, is answered as cancelled and never run.
import {
  type ResultData,
  resultDataSchema,
  rootSlotSchema,
} from '@eos-fleet/shared/protocol/index';
import { COMMAND_ERROR_CODES } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import { type StateStore } from './state-store';

const JOURNAL_FILE = 'journal.json';
export interface JournalLimits {
  /** Finished entries kept for answering re-deliveries; the server stops re-sending long before. */
  keepFinished: number;
  /**
   * Finished entries that keep their output and params. Older ones keep id, status, error and
   * data only, so the file (rewritten and fsynced on every change) stays small on an SD card.
   */
  keepOutput: number;
}
const DEFAULT_LIMITS: JournalLimits = { keepFinished: 500, keepOutput: 20 };

const storedResultSchema = z.object({
  status: z.enum(['succeeded', 'failed']),
  error: z.object({ code: z.enum(COMMAND_ERROR_CODES), message: z.string() }).optional(),
  output: z.string().optional(),
  data: resultDataSchema.optional(),
  finishedAt: z.string(),
});
export type StoredResult = z.infer<typeof storedResultSchema>;

const rebootExpectationSchema = z.object({
  /** apply: the hash the new slot must have; absent for rollback. */
  expectedRootPrefixHash: z.string().optional(),
  /**
   * apply: sha256 of the first `expectedRootBytes` of the new slot, checked by the commit gate
   * (`eos-fleet-agent --verify-slot`) before EOS may commit it. Absent in entries of older agents.
   */
  expectedRootSha256: z.string().optional(),
  expectedRootBytes: z.int().positive().optional(),
  previousSlot: rootSlotSchema,
  previousBootId: z.string(),
  deadline: z.string().optional(),
});
export type RebootExpectation = z.infer<typeof rebootExpectationSchema>;

/**
 * received: acked, waiting in the one-at-a-time queue; running; awaiting_reboot: the decision
 * falls after the next boot; done: has a result; cancelled: the server cancelled this id before
 * its command arrived (kind unknown until then).
 */
export const JOURNAL_STATES = [
  'received',
  'running',
  'awaiting_reboot',
  'done',
  'cancelled',
] as const;
export type JournalState = (typeof JOURNAL_STATES)[number];

const journalEntrySchema = z.preprocess(
  (raw) => {
    // Journals of agents before result_stored had only `reported` (sent on some connection): take
    // that as confirmed, so an upgrade does not re-send every result the journal still holds.
    if (typeof raw === 'object' && raw !== null && !('confirmed' in raw) && 'reported' in raw) {
      const { reported, ...rest } = raw;
      return { ...rest, confirmed: reported === true };
    }
    return raw;
  },
  z.object({
    id: z.string(),
    kind: z.string(),
    // Absent in slimmed entries (and JSON drops undefined): optional, also inside the preprocess.
    params: z.unknown().optional(),
    receivedAt: z.string(),
    state: z.enum(JOURNAL_STATES),
    reboot: rebootExpectationSchema.optional(),
    result: storedResultSchema.optional(),
    /**
     * The server is done with the result: it answered `result_stored`, or refused the result for
     * good (no such command). Until then the agent re-sends it (see ResultOutbox).
     */
    confirmed: z.boolean().default(false),
  }),
);
export type JournalEntry = z.infer<typeof journalEntrySchema>;

const journalFileSchema = z.object({ version: z.literal(1), entries: z.array(journalEntrySchema) });

export class Journal {
  private constructor(
    private readonly store: StateStore,
    private entries: JournalEntry[],
    private readonly limits: JournalLimits,
  ) {}

  private writing: Promise<void> = Promise.resolve();

  static async load(store: StateStore, limits: JournalLimits = DEFAULT_LIMITS): Promise<Journal> {
    const file = await store.readJson(JOURNAL_FILE, journalFileSchema);
    return new Journal(store, file?.entries ?? [], limits);
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  all(): readonly JournalEntry[] {
    return this.entries;
  }

  /**
   * Changes the entry in memory at once (so later reads see it) and resolves when a snapshot that
   * contains it is on disk. Writes are chained, so the file never goes back to an older snapshot.
   */
  async put(entry: JournalEntry): Promise<void> {
    const next = compact([...this.entries.filter((e) => e.id !== entry.id), entry], this.limits);
    this.entries = next;
    const write = this.writing.then(() =>
      this.store.writeJson(JOURNAL_FILE, { version: 1, entries: next }),
    );
    this.writing = write.catch(() => undefined);
    await write;
  }

  async update(id: string, change: Partial<JournalEntry>): Promise<JournalEntry> {
    const current = this.get(id);
    if (!current) throw new Error(`journal has no command ${id}`);
    const next = { ...current, ...change };
    await this.put(next);
    return next;
  }

  async finish(id: string, result: StoredResult, kind?: string): Promise<JournalEntry> {
    return this.update(id, {
      state: 'done',
      result,
      confirmed: false,
      ...(kind !== undefined ? { kind } : {}),
    });
  }

  /** Results the server has not confirmed yet, oldest first. */
  unconfirmed(): JournalEntry[] {
    return this.entries.filter((e) => e.state === 'done' && !e.confirmed);
  }
}

function compact(entries: JournalEntry[], limits: JournalLimits): JournalEntry[] {
  const finished = entries.filter((e) => e.state === 'done' || e.state === 'cancelled');
  const drop = new Set(
    finished.slice(0, Math.max(0, finished.length - limits.keepFinished)).map((e) => e.id),
  );
  // A result still to be re-sent keeps its output: the server should get what the first send had.
  const slim = new Set(
    finished
      .slice(0, Math.max(0, finished.length - limits.keepOutput))
      .filter((e) => e.confirmed)
      .map((e) => e.id),
  );
  return entries
    .filter((e) => !drop.has(e.id))
    .map((e) => {
      if (!slim.has(e.id) || (e.params === undefined && e.result?.output === undefined)) return e;
      const { output: _output, ...result } = e.result ?? {
        status: 'failed' as const,
        finishedAt: '',
      };
      return { ...e, params: undefined, ...(e.result ? { result } : {}) };
    });
}

export type { ResultData };
