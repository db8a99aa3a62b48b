'use client';
// The rollout form's device list: a search on the server (devices.page's `q`: name, id prefix or
// label value) whose results toggle devices in and out of the list, and the list itself by name,
// each with a remove button. The form owns the ids (target.deviceIds); usePickedDevices knows who
// they are: devices added from the search by their row, ids the address brought by devices.byIds.
// What is wrong with the list (an id of no device, a decommissioned one, too many) is said in
// words at the field, and nothing is dropped from it but by the operator.
import { keepPreviousData, useQueries, useQuery } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { Check, Plus, X } from 'lucide-react';
import { ToggleGroup } from 'radix-ui';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Badge, Button, FOCUS_RING, Field, TextInput } from '~/components/ui';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';
import { z } from 'zod';
import { MAX_PICKED_DEVICES } from './rollout-target-url';

type Outputs = inferRouterOutputs<AppRouter>['devices'];
/** what the list shows of a device: from a search row or from devices.byIds */
type KnownDevice = Pick<
  Outputs['byIds'][number],
  'id' | 'name' | 'status' | 'online' | 'imageName'
>;

export type PickedEntry =
  | { id: string; state: 'known'; device: KnownDevice }
  | { id: string; state: 'looking' | 'missing' | 'invalid' };

/** an id the lookup (devices.byIds, z.uuid()) accepts, by its own schema */
const isDeviceId = (id: string) => z.uuid().safeParse(id).success;
const RESULTS = 8;
const LOOKUP_CHUNK = 100;

function plural(n: number, one: string, many = `${one}s`) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** the lookups' answers as one (structurally shared by react-query: stable while unchanged) */
function combineLookups(results: readonly { data?: readonly KnownDevice[]; error: unknown }[]): {
  devices: KnownDevice[];
  done: boolean;
  error: unknown;
} {
  return {
    devices: results.flatMap((result) => result.data ?? []),
    done: results.every((result) => result.data !== undefined),
    error: results.find((result) => result.error)?.error ?? null,
  };
}

/**
 * Who the ids of the list are. `prefilled` (the address's ids, fixed for the form's life) are
 * looked up once; devices added from the search are known by their row. `problem` is what the
 * field says at once; `looking` counts ids whose lookup has not answered yet.
 */
export function usePickedDevices(deviceIds: readonly string[], prefilled: readonly string[]) {
  const trpc = useTRPC();
  const [added, setAdded] = useState<ReadonlyMap<string, KnownDevice>>(new Map());
  const chunks = useMemo(() => {
    const valid = prefilled.filter((id) => isDeviceId(id));
    return Array.from({ length: Math.ceil(valid.length / LOOKUP_CHUNK) }, (_, i) =>
      valid.slice(i * LOOKUP_CHUNK, (i + 1) * LOOKUP_CHUNK),
    );
  }, [prefilled]);
  const lookup = useQueries({
    queries: chunks.map((ids) =>
      trpc.devices.byIds.queryOptions({ ids }, { staleTime: 60_000, refetchOnWindowFocus: false }),
    ),
    combine: combineLookups,
  });
  const looked = useMemo(
    () => new Map(lookup.devices.map((device) => [device.id, device])),
    [lookup.devices],
  );

  const entries = useMemo(
    () =>
      deviceIds.map((id): PickedEntry => {
        const device = added.get(id) ?? looked.get(id);
        if (device) return { id, state: 'known', device };
        if (!isDeviceId(id)) return { id, state: 'invalid' };
        return { id, state: lookup.done ? 'missing' : 'looking' };
      }),
    [deviceIds, added, looked, lookup.done],
  );

  const problem = useMemo(() => {
    const problems: string[] = [];
    const invalid = entries.filter((e) => e.state === 'invalid').length;
    const missing = entries.filter((e) => e.state === 'missing').length;
    const decommissioned = entries.flatMap((e) =>
      e.state === 'known' && e.device.status === 'decommissioned' ? [e.device.name] : [],
    );
    if (entries.length > MAX_PICKED_DEVICES)
      problems.push(
        `The list has ${plural(entries.length, 'device')}; a list picked here holds at most ${MAX_PICKED_DEVICES}. Remove ${entries.length - MAX_PICKED_DEVICES}, or give the devices a label and target the label.`,
      );
    if (invalid)
      problems.push(
        `${invalid === 1 ? 'One entry is' : `${invalid} entries are`} not a device id: remove ${invalid === 1 ? 'it' : 'them'}.`,
      );
    if (missing)
      problems.push(
        `${missing === 1 ? 'One id names' : `${missing} ids name`} no device (it may have been deleted): remove ${missing === 1 ? 'it' : 'them'}.`,
      );
    if (decommissioned.length)
      problems.push(
        `${decommissioned.length === 1 ? `${decommissioned[0]} is` : `${decommissioned.length} devices are`} decommissioned and cannot take part: remove ${decommissioned.length === 1 ? 'it' : 'them'}.`,
      );
    if (lookup.error)
      problems.push(`The devices could not be looked up: ${errorMessage(lookup.error)}`);
    return problems.length ? problems.join(' ') : null;
  }, [entries, lookup.error]);

  const remember = useCallback(
    (device: KnownDevice) => setAdded((known) => new Map(known).set(device.id, device)),
    [],
  );
  return {
    entries,
    problem,
    looking: entries.filter((e) => e.state === 'looking').length,
    remember,
  };
}

function DeviceBadges({ device }: { device: KnownDevice }) {
  return (
    <>
      <Badge tone={device.online ? 'green' : 'slate'}>{device.online ? 'online' : 'offline'}</Badge>
      {device.status !== 'accepted' && <Badge tone="red">{device.status}</Badge>}
    </>
  );
}

export function DevicePicker({
  entries,
  error,
  onAdd,
  onRemove,
  onClear,
}: {
  entries: readonly PickedEntry[];
  /** what is wrong with the list, in words */
  error?: string;
  onAdd: (device: KnownDevice) => void;
  onRemove: (id: string) => void;
  onClear: () => void;
}) {
  const trpc = useTRPC();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(timer);
  }, [text]);
  const search = useQuery(
    trpc.devices.page.queryOptions(
      { q: q || undefined, sort: 'name', dir: 'asc', pageSize: RESULTS },
      { staleTime: 10_000, placeholderData: keepPreviousData },
    ),
  );
  const inList = useMemo(() => new Set(entries.map((e) => e.id)), [entries]);
  const rows = search.data?.rows ?? [];
  const full = entries.length >= MAX_PICKED_DEVICES;

  // TextInput takes no ref: the search box is found in its wrapper
  const searchBox = useRef<HTMLDivElement>(null);
  const focusSearch = () => searchBox.current?.querySelector('input')?.focus();
  const resultsRef = useRef<HTMLDivElement>(null);
  const removeRefs = useRef<(HTMLButtonElement | null)[]>([]);
  // after a removal, focus the next remove button (or the search): never lost on the page
  const [focusAfterRemove, setFocusAfterRemove] = useState<number | null>(null);
  useEffect(() => {
    if (focusAfterRemove === null) return;
    const next = removeRefs.current[Math.min(focusAfterRemove, entries.length - 1)];
    if (next) next.focus();
    else focusSearch();
    setFocusAfterRemove(null);
  }, [focusAfterRemove, entries.length]);

  const more = (search.data?.total ?? 0) - rows.length;
  return (
    <div className="space-y-3">
      <div ref={searchBox}>
        <Field
          label="Devices"
          error={error}
          hint={`By name, id or label value; pick from the results, at most ${MAX_PICKED_DEVICES} (for more, target a label). The Devices table hands over a selection too: New rollout….`}
        >
          <TextInput
            type="search"
            autoComplete="off"
            placeholder="Search devices"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              // Enter searches now; it must not submit the rollout form
              if (e.key === 'Enter') {
                e.preventDefault();
                setQ(text.trim());
              }
              if (e.key === 'ArrowDown') {
                e.preventDefault();
                resultsRef.current
                  ?.querySelector<HTMLButtonElement>('button:not(:disabled)')
                  ?.focus();
              }
            }}
          />
        </Field>
      </div>

      <div>
        <p
          className="text-xs text-slate-600"
          aria-live="polite"
          data-testid="picker-results-summary"
        >
          {search.isPending
            ? 'Searching…'
            : search.error
              ? ''
              : rows.length === 0
                ? 'No device matches.'
                : `${q ? 'Matching' : 'The first by name'}: ${plural(rows.length, 'device')}${more > 0 ? `, ${more.toLocaleString('en-US')} more (search to narrow them)` : ''}. Arrow keys move, Space adds or removes.`}
        </p>
        {search.error && <p className="text-xs text-red-700">{errorMessage(search.error)}</p>}
        <ToggleGroup.Root
          ref={resultsRef}
          type="multiple"
          orientation="vertical"
          aria-label="Matching devices"
          value={rows.filter((row) => inList.has(row.id)).map((row) => row.id)}
          onValueChange={(value) => {
            const pressed = new Set(value);
            for (const row of rows) {
              if (pressed.has(row.id) && !inList.has(row.id)) onAdd(row);
              if (!pressed.has(row.id) && inList.has(row.id)) onRemove(row.id);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') focusSearch();
          }}
          className="mt-1 divide-y divide-slate-100 rounded-md border border-slate-200 empty:hidden"
        >
          {rows.map((row) => {
            const picked = inList.has(row.id);
            return (
              <ToggleGroup.Item
                key={row.id}
                value={row.id}
                disabled={!picked && full}
                aria-label={row.name}
                className={`flex w-full min-w-0 items-center gap-2 px-3 py-1.5 text-left text-sm hover:bg-slate-50 disabled:text-slate-500 data-[state=on]:bg-brand-50 ${FOCUS_RING}`}
              >
                {picked ? (
                  <Check aria-hidden className="size-4 shrink-0 text-brand-700" />
                ) : (
                  <Plus aria-hidden className="size-4 shrink-0 text-slate-500" />
                )}
                <span className="min-w-0 truncate font-medium">{row.name}</span>
                <span className="min-w-0 truncate text-xs text-slate-500">
                  {row.imageName ?? 'unknown image'}
                </span>
                <span className="ml-auto flex shrink-0 gap-1">
                  <DeviceBadges device={row} />
                </span>
              </ToggleGroup.Item>
            );
          })}
        </ToggleGroup.Root>
        {full && (
          <p className="mt-1 text-xs text-slate-600">
            The list is full ({MAX_PICKED_DEVICES} devices). For more, give the devices a label and
            target the label.
          </p>
        )}
      </div>

      <div>
        <div className="flex items-center justify-between gap-2">
          <h3 className="text-sm font-medium text-slate-700" data-testid="picked-count">
            {entries.length === 0
              ? 'No device in the list yet'
              : `${plural(entries.length, 'device')} in the list`}
          </h3>
          {entries.length > 0 && (
            <Button variant="ghost" className="px-2 py-1 text-xs" onClick={onClear}>
              Remove all
            </Button>
          )}
        </div>
        <ul
          aria-label="Devices in the rollout"
          className="mt-1 flex max-h-64 flex-wrap gap-1.5 overflow-y-auto empty:hidden"
        >
          {entries.map((entry, index) => {
            const label = entry.state === 'known' ? entry.device.name : entry.id;
            return (
              <li
                key={entry.id}
                data-testid="picked-device"
                className={`inline-flex min-w-0 max-w-full items-center gap-1 rounded-full border py-0.5 pl-2.5 pr-1 text-sm ${entry.state === 'known' && entry.device.status !== 'decommissioned' ? 'border-slate-300 bg-white' : entry.state === 'looking' ? 'border-slate-300 bg-slate-50' : 'border-red-300 bg-red-50'}`}
              >
                <span
                  className={`min-w-0 truncate ${entry.state === 'known' ? 'font-medium' : 'font-mono text-xs'}`}
                >
                  {label}
                </span>
                {entry.state === 'known' && entry.device.status !== 'accepted' && (
                  <Badge tone="red">{entry.device.status}</Badge>
                )}
                {entry.state === 'looking' && (
                  <span className="text-xs text-slate-500">looking up…</span>
                )}
                {entry.state === 'missing' && <Badge tone="red">no such device</Badge>}
                {entry.state === 'invalid' && <Badge tone="red">not a device id</Badge>}
                <button
                  type="button"
                  ref={(element) => {
                    removeRefs.current[index] = element;
                  }}
                  aria-label={`Remove ${label}`}
                  className={`rounded-full p-0.5 text-slate-600 hover:bg-slate-200 hover:text-slate-900 ${FOCUS_RING}`}
                  onClick={() => {
                    onRemove(entry.id);
                    setFocusAfterRemove(index);
                  }}
                >
                  <X aria-hidden className="size-3.5" />
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}
