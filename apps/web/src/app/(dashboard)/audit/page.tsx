'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useState, type FormEvent } from 'react';
import {
  Badge,
  Button,
  Card,
  EmptyState,
  Field,
  Loading,
  PageHeader,
  Select,
  TextInput,
  formatTime,
} from '~/components/ui';
import { auditSentence } from '~/server/services/audit/audit-sentence';
import type { AuditEventView } from '~/server/services/audit/list-audit-events';
import { errorMessage, useTRPC } from '~/trpc/react';
import {
  ACTOR_TYPES,
  AUDIT_ACTIONS,
  AUDIT_ENTITIES,
  EMPTY_FILTER,
  TARGET_TYPES,
  filterFromParams,
  fromLocalInput,
  paramsOf,
  parseFilter,
  relativeTime,
  toLocalInput,
  type FilterKey,
  type FilterValues,
} from './audit-filter';

const EXPORT_PATH = '/api/audit/export.csv';
const EXPORT_MAX_ROWS = '100,000';

export default function AuditPage() {
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change, who made it and when, and how every command ended. Newest first."
      />
      <Suspense fallback={<Loading what="the audit log" />}>
        <AuditLog />
      </Suspense>
    </>
  );
}

function AuditLog() {
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const applied = filterFromParams(new URLSearchParams(searchParams.toString()));
  const parsed = parseFilter(applied);
  const query = parsed.ok ? parsed.filter : {};
  const search = paramsOf(applied).toString();

  const trpc = useTRPC();
  const audit = useInfiniteQuery({
    ...trpc.audit.list.infiniteQueryOptions(
      { limit: 50, ...query },
      { getNextPageParam: (page) => page.nextCursor },
    ),
    enabled: parsed.ok,
  });
  const events = audit.data?.pages.flatMap((page) => page.events) ?? [];

  function show(values: FilterValues) {
    const params = paramsOf(values).toString();
    router.replace(params ? `${pathname}?${params}` : pathname, { scroll: false });
  }

  const filtered = search !== '';
  return (
    <>
      <FilterForm applied={applied} onApply={show} />
      {!parsed.ok && (
        <p role="alert" className="mb-4 text-sm text-red-700">
          The link holds a filter that is not valid: {Object.values(parsed.errors).join('; ')}
        </p>
      )}
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600">
        <span data-testid="audit-count">
          {audit.data
            ? `${events.length}${audit.hasNextPage ? '+' : ''} ${events.length === 1 ? 'event' : 'events'}${filtered ? ' matching the filter' : ''}`
            : ''}
        </span>
        <a
          className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50"
          href={search ? `${EXPORT_PATH}?${search}` : EXPORT_PATH}
          download
          data-testid="audit-export"
          title={`Every matching event, at most ${EXPORT_MAX_ROWS}`}
        >
          Export CSV
        </a>
      </div>
      {audit.error && <p role="alert">{errorMessage(audit.error)}</p>}
      {parsed.ok && audit.isPending && <Loading what="the audit log" />}
      {audit.data && events.length === 0 && (
        <EmptyState title={filtered ? 'Nothing matches this filter' : 'Nothing has changed yet'}>
          {filtered
            ? 'Widen the time range or clear a filter.'
            : 'Changes made by operators, devices and the system appear here.'}
        </EmptyState>
      )}
      {events.length > 0 && (
        <Card className="min-w-0">
          <ol className="divide-y divide-slate-100" data-testid="audit-list">
            {events.map((event) => (
              <AuditEntry
                key={event.id}
                event={event}
                onTarget={() =>
                  show({
                    ...applied,
                    targetType: event.targetType,
                    targetId: event.targetId ?? '',
                  })
                }
              />
            ))}
          </ol>
        </Card>
      )}
      {audit.hasNextPage && (
        <Button
          variant="secondary"
          className="mt-4"
          onClick={() => void audit.fetchNextPage()}
          disabled={audit.isFetchingNextPage}
        >
          Older events
        </Button>
      )}
    </>
  );
}

function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const ACTOR_TONE = {
  operator: 'sky',
  device: 'green',
  system: 'slate',
  api_token: 'amber',
} as const;

function AuditEntry({ event, onTarget }: { event: AuditEventView; onTarget: () => void }) {
  const now = useNow();
  const created = new Date(event.createdAt);
  return (
    <li className="min-w-0 px-4 py-3" data-testid="audit-entry" data-action={event.action}>
      <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
        <p className="min-w-0 break-words text-sm text-ink" data-testid="audit-sentence">
          {auditSentence(event)}
        </p>
        <time
          className="shrink-0 text-xs text-slate-500"
          dateTime={created.toISOString()}
          title={created.toISOString()}
        >
          {relativeTime(created, now)} · {formatTime(created)}
        </time>
      </div>
      <div className="mt-1 flex flex-wrap items-center gap-2 text-xs text-slate-500">
        <Badge tone={ACTOR_TONE[event.actorType]}>{event.actorType}</Badge>
        <span className="font-mono">{event.action}</span>
        {event.targetId && (
          <button
            type="button"
            className="font-mono text-brand-700 underline-offset-2 hover:underline"
            onClick={onTarget}
            title={`Only events about ${event.targetType} ${event.targetId}`}
          >
            {event.targetType} {event.targetId.slice(0, 8)}
          </button>
        )}
        {event.ipAddress && <span>from {event.ipAddress}</span>}
      </div>
      <details className="mt-2 min-w-0 text-xs" data-testid="audit-raw">
        <summary className="cursor-pointer select-none text-slate-500 hover:text-slate-700">
          Raw data
        </summary>
        <pre className="mt-2 max-h-72 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-50 p-3 font-mono text-slate-700">
          {JSON.stringify(
            {
              id: event.id,
              action: event.action,
              actor: { type: event.actorType, id: event.actorId, label: event.actorLabel },
              target: { type: event.targetType, id: event.targetId },
              data: event.data,
              ipAddress: event.ipAddress,
              createdAt: created.toISOString(),
            },
            null,
            2,
          )}
        </pre>
      </details>
    </li>
  );
}

function FilterForm({
  applied,
  onApply,
}: {
  applied: FilterValues;
  onApply: (values: FilterValues) => void;
}) {
  const key = paramsOf(applied).toString();
  const [values, setValues] = useState<FilterValues>(applied);
  const [errors, setErrors] = useState<Partial<Record<FilterKey, string>>>({});
  // the URL changed (back, a shared link, a click on a target): the form follows it
  useEffect(() => {
    setValues(filterFromParams(new URLSearchParams(key)));
    setErrors({});
  }, [key]);

  function set(field: FilterKey, value: string) {
    const next = { ...values, [field]: value };
    setValues(next);
    // a message goes away once it no longer applies
    if (errors[field] || (field === 'from' && errors.to)) {
      const verdict = parseFilter(next);
      setErrors(verdict.ok ? {} : verdict.errors);
    }
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const verdict = parseFilter(values);
    if (!verdict.ok) return setErrors(verdict.errors);
    setErrors({});
    onApply(values);
  }

  return (
    <Card className="mb-4 p-4">
      <form
        onSubmit={submit}
        className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4"
        aria-label="Filter the audit log"
      >
        <Field label="Action" error={errors.action}>
          <Select
            name="action"
            value={values.action}
            onChange={(e) => set('action', e.target.value)}
          >
            <option value="">Any action</option>
            {AUDIT_ENTITIES.map((entity) => (
              <optgroup key={entity} label={entity.replace('_', ' ')}>
                <option value={`${entity}.`}>every {entity.replace('_', ' ')} action</option>
                {AUDIT_ACTIONS.filter((action) => action.startsWith(`${entity}.`)).map((action) => (
                  <option key={action} value={action}>
                    {action}
                  </option>
                ))}
              </optgroup>
            ))}
          </Select>
        </Field>
        <Field label="Actor type" error={errors.actorType}>
          <Select
            name="actorType"
            value={values.actorType}
            onChange={(e) => set('actorType', e.target.value)}
          >
            <option value="">Anyone</option>
            {ACTOR_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Actor (name, email or id)" error={errors.actor}>
          <TextInput
            name="actor"
            value={values.actor}
            maxLength={200}
            placeholder="alice@example.org"
            onChange={(e) => set('actor', e.target.value)}
          />
        </Field>
        <Field label="Target type" error={errors.targetType}>
          <Select
            name="targetType"
            value={values.targetType}
            onChange={(e) => set('targetType', e.target.value)}
          >
            <option value="">Any target</option>
            {TARGET_TYPES.map((type) => (
              <option key={type} value={type}>
                {type.replace('_', ' ')}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Target id" error={errors.targetId}>
          <TextInput
            name="targetId"
            value={values.targetId}
            maxLength={100}
            onChange={(e) => set('targetId', e.target.value)}
          />
        </Field>
        <Field label="From" error={errors.from}>
          <TextInput
            name="from"
            type="datetime-local"
            value={toLocalInput(values.from)}
            onChange={(e) => set('from', fromLocalInput(e.target.value))}
          />
        </Field>
        <Field label="To" error={errors.to}>
          <TextInput
            name="to"
            type="datetime-local"
            value={toLocalInput(values.to)}
            onChange={(e) => set('to', fromLocalInput(e.target.value))}
          />
        </Field>
        <div className="flex items-end gap-2">
          <Button type="submit">Apply</Button>
          <Button variant="secondary" onClick={() => onApply(EMPTY_FILTER)}>
            Clear
          </Button>
        </div>
      </form>
    </Card>
  );
}
