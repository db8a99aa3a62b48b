'use client';
import { HardDrive } from 'lucide-react';
import { Badge, Card } from '~/components/ui';
import { mib } from './format';
import { HashText } from './hash-text';
import type { DeviceView, SlotView } from './types';

// EOS's partition labels, and what they mean to someone who has not read the disk layout
const SLOT_NAMES: Record<string, string> = {
  'p.lxreadonly': 'slot A',
  'p.lxrootclone1': 'slot B',
};

const KNOWLEDGE_TONE = {
  running: 'green',
  history: 'sky',
  overwritten: 'amber',
  unknown: 'slate',
} as const;

const KNOWLEDGE_WORDS = {
  running: 'reported by the device',
  history: 'inferred from the command history',
  overwritten: 'overwritten',
  unknown: 'unknown',
} as const;

function Slot({ slot }: { slot: SlotView }) {
  const id = slot.slot.replace('.', '-');
  return (
    <li
      className={`min-w-0 rounded-md border p-3 ${slot.active ? 'border-brand-600 bg-brand-50' : 'border-slate-200'}`}
      data-testid={`slot-${slot.slot}`}
      data-active={slot.active}
      data-knowledge={slot.knowledge}
      aria-labelledby={`${id}-name`}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span id={`${id}-name`} className="flex items-center gap-2 text-sm font-medium text-ink">
          <HardDrive aria-hidden className="h-4 w-4 text-slate-500" />
          <span className="font-mono">{slot.slot}</span>
          <span className="text-xs font-normal text-slate-500">{SLOT_NAMES[slot.slot]}</span>
        </span>
        {slot.active ? (
          <Badge tone="green">active: running</Badge>
        ) : (
          <Badge tone="slate">inactive</Badge>
        )}
      </div>
      <p className="mt-2 text-sm" data-testid="slot-version">
        {slot.version ??
          (slot.knowledge === 'overwritten' ? 'overwritten, content unknown' : 'unknown')}
      </p>
      {slot.rootPrefixHash && (
        <HashText value={slot.rootPrefixHash} label={`root prefix hash in ${slot.slot}`} />
      )}
      <p className="mt-1 text-xs text-slate-600">
        <Badge tone={KNOWLEDGE_TONE[slot.knowledge]}>{KNOWLEDGE_WORDS[slot.knowledge]}</Badge>{' '}
        <span data-testid="slot-evidence">{slot.evidence}</span>
      </p>
    </li>
  );
}

/** Which A/B slot runs, what each holds when known (and how we know), size, commit pending. */
export function SlotPanel({ device }: { device: DeviceView }) {
  return (
    <Card className="min-w-0 p-4">
      <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
        <h2 className="font-medium text-ink">A/B root slots</h2>
        <span className="text-xs text-slate-500">
          active:{' '}
          <span className="font-mono" data-testid="active-slot">
            {device.activeSlot ?? 'not reported'}
          </span>{' '}
          · each slot {device.slotSize === null ? 'of unreported size' : mib(device.slotSize)}
        </span>
      </div>
      <ul className="grid grid-cols-1 gap-3 md:grid-cols-2" data-testid="slots">
        {device.slots.map((slot) => (
          <Slot key={slot.slot} slot={slot} />
        ))}
      </ul>
      {device.slots.length === 1 && (
        <p className="mt-2 text-xs text-slate-500">
          The {device.profile} profile has a single root slot: it cannot be updated.
        </p>
      )}
      <p className="mt-3 text-sm" data-testid="commit-pending">
        {device.commitPending ? (
          <>
            <Badge tone="amber">commit pending</Badge> The device booted the new slot once and has
            not committed it yet: a power cycle now returns to the other slot.
          </>
        ) : (
          <span className="text-slate-600">
            No commit pending: the boot loader boots the active slot.
          </span>
        )}
      </p>
    </Card>
  );
}
