'use client';
// The new-rollout form: validated by the procedure's own schema (createRolloutInput, through
// useZodForm), issues at their fields in words, down to one batch row; beside it the preview
// (rollouts.preview), re-run a moment after the form last changed into a valid state. The target
// may come in the address (the Devices table's "New rollout…", rollout-target-url.ts); a device
// list is picked by name (device-picker.tsx), never pasted as ids.
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { Plus, Trash2 } from 'lucide-react';
import { useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Button,
  Card,
  Checkbox,
  EmptyState,
  Field,
  Select,
  SelectMenu,
  Switch,
  TextInput,
  formatBytes,
  formatTime,
  type SelectOption,
} from '~/components/ui';
import { formNumber, formText, useZodForm, validateWith, type FieldOf } from '~/lib/form';
import { formatLabels, parseLabels } from '~/lib/labels';
import { createRolloutInput, windowState } from '~/server/services/rollouts/rollout-inputs';
import { errorMessage, useTRPC } from '~/trpc/react';
import { DevicePicker, usePickedDevices } from './device-picker';
import { RolloutPreview } from './rollout-preview';
import { parsePrefilledTarget } from './rollout-target-url';

const FIELDS = [
  'name',
  'imageVersionId',
  'target',
  'batches',
  'dynamic',
  'startAt',
  'maintenanceWindow',
  'successThresholdPercent',
  'failureThresholdCount',
  'failureThresholdPercent',
  'failureMinSample',
  'failureAction',
  'deviceTimeoutSeconds',
  'maxRetries',
  'retryBackoffSeconds',
  'maxConcurrentPerServer',
  'disruptionBudget',
  'rollbackOnAbort',
  'start',
] as const;

/** a batch row's issues at the row, a window's or a budget's at its part */
const fieldOf: FieldOf = (path) => {
  const [top, next] = path;
  if (top === undefined) return '';
  if (top === 'batches' && typeof next === 'number') return `batches.${next}`;
  if ((top === 'maintenanceWindow' || top === 'disruptionBudget') && typeof next === 'string')
    return `${String(top)}.${next}`;
  return String(top);
};

type TargetKind = 'labels' | 'imageName' | 'deviceIds';
interface BatchRow {
  key: number;
  unit: 'count' | 'percent';
  size: string;
  gate: 'automatic' | 'manual';
}

const DEFAULT_BATCHES: BatchRow[] = [
  { key: 1, unit: 'count', size: '1', gate: 'automatic' },
  { key: 2, unit: 'percent', size: '100', gate: 'manual' },
];

function optional(form: FormData, name: string) {
  const text = formText(form, name).trim();
  return text === '' ? undefined : text;
}

function timeZones(): string[] {
  const supported =
    (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ??
    [];
  return ['UTC', ...supported.filter((zone) => zone !== 'UTC')];
}

export function RolloutForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const canManage = useCan('rollout.manage');
  const images = useQuery(trpc.catalog.images.queryOptions(undefined, { staleTime: 60_000 }));
  const formRef = useRef<HTMLFormElement>(null);
  const [versionId, setVersionId] = useState<string | undefined>();
  // the address's target, read once: the form is the operator's from then on
  const searchParams = useSearchParams();
  const [prefill] = useState(() =>
    parsePrefilledTarget(new URLSearchParams(searchParams.toString())),
  );
  const [targetKind, setTargetKind] = useState<TargetKind>(prefill.target?.kind ?? 'labels');
  const [prefilledIds] = useState<readonly string[]>(() =>
    prefill.target?.kind === 'deviceIds' ? prefill.target.deviceIds : [],
  );
  const [deviceIds, setDeviceIds] = useState<readonly string[]>(prefilledIds);
  const picked = usePickedDevices(deviceIds, prefilledIds);
  // what the schema cannot know: the list's ids name devices that can take part, and are known
  const listProblem =
    targetKind !== 'deviceIds'
      ? null
      : (picked.problem ??
        (picked.looking > 0
          ? `Still looking up ${picked.looking} of the devices: try again in a moment.`
          : null));
  const schema = useMemo(
    () =>
      listProblem
        ? createRolloutInput.superRefine((_, ctx) =>
            ctx.addIssue({ code: 'custom', path: ['target'], message: listProblem }),
          )
        : createRolloutInput,
    [listProblem],
  );
  const [batches, setBatches] = useState<BatchRow[]>(DEFAULT_BATCHES);
  const nextKey = useRef(3);
  const [windowOn, setWindowOn] = useState(false);
  const [dynamic, setDynamic] = useState(false);
  const [rollbackOnAbort, setRollbackOnAbort] = useState(false);
  const [zones, setZones] = useState<string[]>(['UTC']);
  const [zone, setZone] = useState('UTC');
  const [windowText, setWindowText] = useState({ cron: '0 2 * * *', duration: '120' });
  useEffect(() => {
    setZones(timeZones());
    setZone(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  }, []);

  const read = useCallback(
    (form: FormData) => {
      const failureKind = formText(form, 'failureKind');
      const failure = formNumber(form, 'failureThreshold');
      const budgetLabel = optional(form, 'budgetLabel');
      const startAt = optional(form, 'startAt');
      return {
        name: formText(form, 'name'),
        imageVersionId: formText(form, 'imageVersionId'),
        target:
          targetKind === 'labels'
            ? { labels: parseLabels(formText(form, 'targetLabels')) }
            : targetKind === 'imageName'
              ? { imageName: formText(form, 'targetImage').trim() }
              : { deviceIds: [...deviceIds] },
        batches: batches.map((row) => {
          const size = formNumber(form, `batch.${row.key}.size`);
          const selector = optional(form, `batch.${row.key}.selector`);
          return {
            count: row.unit === 'count' ? size : undefined,
            percent: row.unit === 'percent' ? size : undefined,
            selector: selector ? { labels: parseLabels(selector) } : undefined,
            soakSeconds: formNumber(form, `batch.${row.key}.soak`),
            gate: row.gate,
          };
        }),
        dynamic,
        startAt: startAt ? new Date(startAt) : undefined,
        maintenanceWindow: windowOn
          ? {
              cron: formText(form, 'windowCron').trim(),
              timezone: formText(form, 'windowZone'),
              durationMinutes: formNumber(form, 'windowDuration'),
            }
          : undefined,
        successThresholdPercent: formNumber(form, 'successThresholdPercent'),
        failureThresholdCount: failureKind === 'count' ? failure : undefined,
        failureThresholdPercent: failureKind === 'percent' ? failure : undefined,
        failureMinSample: formNumber(form, 'failureMinSample'),
        failureAction: formText(form, 'failureAction') || undefined,
        deviceTimeoutSeconds: formNumber(form, 'deviceTimeoutSeconds'),
        maxRetries: formNumber(form, 'maxRetries'),
        retryBackoffSeconds: formNumber(form, 'retryBackoffSeconds'),
        maxConcurrentPerServer: formNumber(form, 'maxConcurrentPerServer'),
        disruptionBudget: budgetLabel
          ? {
              label: budgetLabel,
              max: formNumber(form, 'budgetMax'),
              percent: formText(form, 'budgetUnit') === 'percent',
            }
          : undefined,
        rollbackOnAbort,
        start: formText(form, 'start') !== 'draft',
      };
    },
    [targetKind, deviceIds, batches, dynamic, windowOn, rollbackOnAbort],
  );

  const create = useMutation(trpc.rollouts.create.mutationOptions());
  const form = useZodForm({
    schema,
    fields: FIELDS,
    fieldOf,
    read,
    onValid: async (data) => {
      const created = await create.mutateAsync(data);
      router.push(`/rollouts/${created.id}`);
    },
  });

  // the preview: the form's values once they are valid (a placeholder name is enough), debounced
  const [previewInput, setPreviewInput] = useState<ReturnType<typeof read> | null>(null);
  const [previewStale, setPreviewStale] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const schedulePreview = useCallback(() => {
    const element = formRef.current;
    if (!element) return;
    const values = read(new FormData(element));
    const result = validateWith(schema, { ...values, name: values.name || 'preview' });
    if (timer.current) clearTimeout(timer.current);
    if (!result.ok) {
      setPreviewStale(true);
      return;
    }
    timer.current = setTimeout(() => {
      setPreviewStale(false);
      setPreviewInput((previous) => {
        const next = { ...values, name: values.name || 'preview' };
        return JSON.stringify(previous) === JSON.stringify(next) ? previous : next;
      });
    }, 400);
  }, [read, schema]);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const preview = useQuery(
    trpc.rollouts.preview.queryOptions(
      // the schema's input type; `read` builds it loosely (numbers may be undefined or NaN)
      (previewInput ?? { name: '', imageVersionId: '', target: {}, batches: [] }) as Parameters<
        typeof create.mutate
      >[0],
      { enabled: previewInput !== null, placeholderData: keepPreviousData, retry: false },
    ),
  );

  // controls that are not native inputs change no form event: re-check after they render
  const { onChange } = form.formProps;
  useEffect(() => {
    const element = formRef.current;
    if (!element) return;
    onChange({ currentTarget: element } as FormEvent<HTMLFormElement>);
    schedulePreview();
  }, [onChange, schedulePreview, versionId, targetKind, batches, windowOn, dynamic, zone]);

  const versionOptions = useMemo<SelectOption[]>(
    () =>
      (images.data ?? []).flatMap((image) =>
        image.versions
          .filter((v) => !v.blocked && v.available)
          .map((v) => ({
            value: v.id,
            label: v.displayName,
            detail: `${v.rootPrefixHash.slice(0, 12)} · ${formatBytes(v.rootPartitionSize)} · ${image.updateServer.name}${v.rootSha256 ? '' : ' · no whole-root sha256 published: cannot be pinned'}`,
            disabled: !v.rootSha256,
          })),
      ),
    [images.data],
  );
  const imageNames = [...new Set((images.data ?? []).map((image) => image.name))];

  const nextOpening = useMemo(() => {
    if (!windowOn) return null;
    try {
      const state = windowState(
        {
          cron: windowText.cron,
          timezone: zone,
          durationMinutes: Number(windowText.duration) || 1,
        },
        new Date(),
      );
      return state.open
        ? `open now, until ${formatTime(state.closesAt)}`
        : state.opensAt
          ? `next opens ${formatTime(state.opensAt)}`
          : 'never opens again';
    } catch {
      return null;
    }
  }, [windowOn, windowText, zone]);

  if (!canManage)
    return (
      <EmptyState title="Your role cannot plan rollouts">
        Creating a rollout needs an operator or admin role.
      </EmptyState>
    );

  const { errors } = form;
  return (
    <div className="grid min-w-0 grid-cols-1 gap-6 xl:grid-cols-3">
      <form
        ref={formRef}
        {...form.formProps}
        onChange={(event) => {
          form.formProps.onChange(event);
          schedulePreview();
        }}
        aria-label="New rollout"
        className="min-w-0 space-y-6 xl:col-span-2"
      >
        <Card className="grid gap-4 p-4 md:grid-cols-2">
          <h2 className="font-medium text-ink md:col-span-2">What</h2>
          <Field label="Name" error={errors.name}>
            <TextInput name="name" autoComplete="off" placeholder="Berlin to 2.1" />
          </Field>
          <Field
            label="Version"
            error={errors.imageVersionId}
            hint="From the catalog; blocked versions are not offered."
          >
            <SelectMenu
              name="imageVersionId"
              value={versionId}
              onValueChange={setVersionId}
              options={versionOptions}
              placeholder={images.data ? 'Choose a version…' : 'Loading versions…'}
            />
          </Field>
        </Card>

        <Card className="space-y-4 p-4">
          <h2 className="font-medium text-ink">Target</h2>
          <fieldset className="flex flex-wrap gap-4 text-sm">
            <legend className="sr-only">Target by</legend>
            {(
              [
                ['labels', 'Label selector'],
                ['imageName', 'Image name'],
                ['deviceIds', 'Device list'],
              ] as const
            ).map(([kind, text]) => (
              <label key={kind} className="inline-flex items-center gap-2">
                <input
                  type="radio"
                  name="targetKind"
                  value={kind}
                  checked={targetKind === kind}
                  onChange={() => setTargetKind(kind)}
                />
                {text}
              </label>
            ))}
          </fieldset>
          {prefill.ignored.length > 0 && (
            <Alert tone="info">Not used from the address: {prefill.ignored.join('; ')}</Alert>
          )}
          {targetKind === 'labels' && (
            <Field
              label="Labels"
              error={errors.target}
              hint="key=value pairs, comma-separated: devices with all of them."
            >
              <TextInput
                name="targetLabels"
                placeholder="site=berlin, ring=canary"
                defaultValue={
                  prefill.target?.kind === 'labels'
                    ? formatLabels(prefill.target.labels)
                    : undefined
                }
              />
            </Field>
          )}
          {targetKind === 'imageName' && (
            <Field label="Image name" error={errors.target} hint="Every device running this image.">
              <TextInput
                name="targetImage"
                list="rollout-image-names"
                defaultValue={
                  prefill.target?.kind === 'imageName' ? prefill.target.imageName : undefined
                }
              />
              <datalist id="rollout-image-names">
                {imageNames.map((name) => (
                  <option key={name} value={name} />
                ))}
              </datalist>
            </Field>
          )}
          {targetKind === 'deviceIds' && (
            <DevicePicker
              entries={picked.entries}
              error={
                deviceIds.length === 0 && errors.target
                  ? 'Add at least one device to the list.'
                  : (picked.problem ?? errors.target)
              }
              onAdd={(device) => {
                picked.remember(device);
                setDeviceIds((ids) => (ids.includes(device.id) ? ids : [...ids, device.id]));
              }}
              onRemove={(id) => setDeviceIds((ids) => ids.filter((other) => other !== id))}
              onClear={() => setDeviceIds([])}
            />
          )}
          <Switch
            checked={dynamic}
            onCheckedChange={setDynamic}
            label="Dynamic: devices that join the target later join the rollout"
          />
        </Card>

        <Card className="space-y-3 p-4">
          <h2 className="font-medium text-ink">Batches</h2>
          <p className="text-xs text-slate-600">
            In order; what the sizes leave over goes with the last batch. A manual gate waits for an
            operator to approve the batch.
          </p>
          {errors.batches && <Alert>{errors.batches}</Alert>}
          <ol className="space-y-3">
            {batches.map((row, index) => (
              <li
                key={row.key}
                className="grid min-w-0 gap-3 rounded-md border border-slate-200 p-3 md:grid-cols-[repeat(4,minmax(0,1fr))_auto]"
                aria-label={`Batch ${index + 1}`}
                data-testid={`batch-row-${index + 1}`}
              >
                <Field label={`Batch ${index + 1} size`} error={errors[`batches.${index}`]}>
                  <div className="flex gap-1">
                    <TextInput
                      name={`batch.${row.key}.size`}
                      inputMode="numeric"
                      defaultValue={row.size}
                      aria-label={`Batch ${index + 1} size`}
                    />
                    <select
                      aria-label={`Batch ${index + 1} size unit`}
                      className="rounded-md border border-slate-300 bg-white px-1 text-sm"
                      value={row.unit}
                      onChange={(e) =>
                        setBatches((rows) =>
                          rows.map((r) =>
                            r.key === row.key
                              ? { ...r, unit: e.target.value as BatchRow['unit'] }
                              : r,
                          ),
                        )
                      }
                    >
                      <option value="count">devices</option>
                      <option value="percent">%</option>
                    </select>
                  </div>
                </Field>
                <Field label="Only labels (optional)">
                  <TextInput
                    name={`batch.${row.key}.selector`}
                    placeholder="ring=canary"
                    aria-label={`Batch ${index + 1} only labels`}
                  />
                </Field>
                <Field label="Soak (seconds)">
                  <TextInput
                    name={`batch.${row.key}.soak`}
                    inputMode="numeric"
                    defaultValue="0"
                    aria-label={`Batch ${index + 1} soak (seconds)`}
                  />
                </Field>
                <Field label="Gate">
                  <Select
                    value={row.gate}
                    onChange={(e) =>
                      setBatches((rows) =>
                        rows.map((r) =>
                          r.key === row.key
                            ? { ...r, gate: e.target.value as BatchRow['gate'] }
                            : r,
                        ),
                      )
                    }
                    aria-label={`Batch ${index + 1} gate`}
                  >
                    <option value="automatic">automatic</option>
                    <option value="manual">manual approval</option>
                  </Select>
                </Field>
                <div className="flex items-end">
                  <Button
                    variant="ghost"
                    aria-label={`Remove batch ${index + 1}`}
                    disabled={batches.length === 1}
                    onClick={() => setBatches((rows) => rows.filter((r) => r.key !== row.key))}
                  >
                    <Trash2 aria-hidden className="size-4" />
                  </Button>
                </div>
              </li>
            ))}
          </ol>
          <Button
            variant="secondary"
            disabled={batches.length >= 50}
            onClick={() =>
              setBatches((rows) => [
                ...rows,
                { key: nextKey.current++, unit: 'percent', size: '100', gate: 'automatic' },
              ])
            }
          >
            <Plus aria-hidden className="size-4" />
            Add a batch
          </Button>
        </Card>

        <Card className="grid gap-4 p-4 md:grid-cols-3">
          <h2 className="font-medium text-ink md:col-span-3">When</h2>
          <Field
            label="Not before (optional)"
            error={errors.startAt}
            hint="Your browser's time."
            className="md:col-span-3"
          >
            <TextInput name="startAt" type="datetime-local" />
          </Field>
          <div className="md:col-span-3">
            <Checkbox
              checked={windowOn}
              onCheckedChange={setWindowOn}
              label="Applies start only inside a maintenance window"
            />
          </div>
          {windowOn && (
            <>
              <Field
                label="Window opens (cron)"
                error={errors['maintenanceWindow.cron'] ?? errors.maintenanceWindow}
                hint="minute hour day month weekday, e.g. 0 2 * * 1-5"
              >
                <TextInput
                  name="windowCron"
                  value={windowText.cron}
                  onChange={(e) => setWindowText((w) => ({ ...w, cron: e.target.value }))}
                />
              </Field>
              <Field label="Time zone" error={errors['maintenanceWindow.timezone']}>
                <Select name="windowZone" value={zone} onChange={(e) => setZone(e.target.value)}>
                  {zones.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </Select>
              </Field>
              <Field label="Open for (minutes)" error={errors['maintenanceWindow.durationMinutes']}>
                <TextInput
                  name="windowDuration"
                  inputMode="numeric"
                  value={windowText.duration}
                  onChange={(e) => setWindowText((w) => ({ ...w, duration: e.target.value }))}
                />
              </Field>
              <p className="text-sm text-slate-700 md:col-span-3" data-testid="window-next">
                {nextOpening ?? 'The expression does not parse yet.'}
              </p>
            </>
          )}
        </Card>

        <Card className="grid gap-4 p-4 md:grid-cols-3">
          <h2 className="font-medium text-ink md:col-span-3">Thresholds</h2>
          <Field
            label="Success threshold (%)"
            error={errors.successThresholdPercent}
            hint="Of a batch's decided devices, for the batch to count as done."
          >
            <TextInput name="successThresholdPercent" inputMode="numeric" defaultValue="100" />
          </Field>
          <Field
            label="Failure threshold"
            error={errors.failureThresholdCount ?? errors.failureThresholdPercent}
            hint="Empty: none."
          >
            <div className="flex gap-1">
              <TextInput
                name="failureThreshold"
                inputMode="numeric"
                aria-label="Failure threshold"
              />
              <select
                name="failureKind"
                aria-label="Failure threshold unit"
                className="rounded-md border border-slate-300 bg-white px-1 text-sm"
                defaultValue="count"
              >
                <option value="count">failures</option>
                <option value="percent">% failed</option>
              </select>
            </div>
          </Field>
          <Field
            label="Judged after (devices)"
            error={errors.failureMinSample}
            hint="The minimum sample before the threshold applies."
          >
            <TextInput name="failureMinSample" inputMode="numeric" defaultValue="1" />
          </Field>
          <Field label="When the failure threshold is reached" error={errors.failureAction}>
            <Select name="failureAction" defaultValue="pause">
              <option value="pause">pause the rollout</option>
              <option value="abort">abort the rollout</option>
            </Select>
          </Field>
        </Card>

        <Card className="grid gap-4 p-4 md:grid-cols-3">
          <h2 className="font-medium text-ink md:col-span-3">Pace and safety</h2>
          <Field
            label="Per-device timeout (seconds)"
            error={errors.deviceTimeoutSeconds}
            hint="An apply not done by then counts as failed (timed out)."
          >
            <TextInput name="deviceTimeoutSeconds" inputMode="numeric" defaultValue="3600" />
          </Field>
          <Field label="Retries per device" error={errors.maxRetries}>
            <TextInput name="maxRetries" inputMode="numeric" defaultValue="0" />
          </Field>
          <Field
            label="Retry backoff (seconds)"
            error={errors.retryBackoffSeconds}
            hint="Doubles with each retry."
          >
            <TextInput name="retryBackoffSeconds" inputMode="numeric" defaultValue="300" />
          </Field>
          <Field
            label="Max concurrent per update server"
            error={errors.maxConcurrentPerServer}
            hint="Empty: the server's own cap."
          >
            <TextInput name="maxConcurrentPerServer" inputMode="numeric" />
          </Field>
          <Field
            label="Disruption budget label (optional)"
            error={errors['disruptionBudget.label'] ?? errors.disruptionBudget}
            hint="At most N (or N%) unavailable per value of this label, e.g. site."
          >
            <TextInput name="budgetLabel" placeholder="site" />
          </Field>
          <Field label="Budget" error={errors['disruptionBudget.max']}>
            <div className="flex gap-1">
              <TextInput name="budgetMax" inputMode="numeric" aria-label="Budget" />
              <select
                name="budgetUnit"
                aria-label="Budget unit"
                className="rounded-md border border-slate-300 bg-white px-1 text-sm"
                defaultValue="count"
              >
                <option value="count">devices</option>
                <option value="percent">%</option>
              </select>
            </div>
          </Field>
          <div className="md:col-span-3">
            <Switch
              checked={rollbackOnAbort}
              onCheckedChange={setRollbackOnAbort}
              label="On abort, send the devices that took the version back to their previous slot"
            />
          </div>
        </Card>

        <Card className="space-y-3 p-4">
          <fieldset className="flex flex-wrap gap-4 text-sm">
            <legend className="mb-2 font-medium text-ink">On create</legend>
            <label className="inline-flex items-center gap-2">
              <input type="radio" name="start" value="now" defaultChecked />
              Start now
            </label>
            <label className="inline-flex items-center gap-2">
              <input type="radio" name="start" value="draft" />
              Save as a draft (start it later)
            </label>
          </fieldset>
          {form.formError && <Alert>{form.formError}</Alert>}
          {create.error && !form.formError && <Alert>{errorMessage(create.error)}</Alert>}
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create rollout'}
          </Button>
        </Card>
      </form>
      <div className="min-w-0 xl:sticky xl:top-4 xl:self-start">
        <RolloutPreview
          preview={preview.data}
          error={preview.error ? errorMessage(preview.error) : null}
          pending={preview.isFetching}
          stale={previewStale}
        />
      </div>
    </div>
  );
}
