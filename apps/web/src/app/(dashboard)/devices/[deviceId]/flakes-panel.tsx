'use client';
import {
  flakeRegisterParamsSchema,
  flakeRemoveParamsSchema,
  type FlakeRegisterParams,
} from '@eos-fleet/shared/protocol/index';
import { useId, useState, type FormEvent } from 'react';
import type { z } from 'zod';
import { Badge, Button, Card, Select } from '~/components/ui';
import { ConfirmButton } from './confirm-button';
import type { DeviceView } from './types';

type Engine = 'podman' | 'firecracker';
type FlakeCommand =
  | { kind: 'flake.register'; params: z.input<typeof flakeRegisterParamsSchema> }
  | { kind: 'flake.remove'; params: z.input<typeof flakeRemoveParamsSchema> };

// The rules of packages/shared/src/protocol/values.ts (absolutePathSchema, containerRefSchema,
// overlaySizeSchema), which the agent applies again before it runs flake-ctl, in words.
const PATH_RULE =
  'An absolute path: letters, digits and . _ + - /, no ".." segment, at most 1024 characters.';
const REF_RULE =
  'Starts with a letter or digit; letters, digits and . _ / : @ + - only (no spaces), at most 512 characters.';

interface FieldSpec {
  name: string;
  label: string;
  placeholder: string;
  rule: string;
  optional?: boolean;
}

const FIELDS: Record<Engine, FieldSpec[]> = {
  podman: [
    {
      name: 'container',
      label: 'Container',
      placeholder: 'registry.opensuse.org/suse-apps/lynx:latest',
      rule: `The container image the app runs in. ${REF_RULE}`,
    },
    {
      name: 'app',
      label: 'App path',
      placeholder: '/usr/share/flakes/bin/lynx',
      rule: `Where the command appears on the device (flake-ctl links it to podman-pilot). On EOS only /usr/share/flakes is writable: put apps under /usr/share/flakes/bin. ${PATH_RULE}`,
    },
    {
      name: 'target',
      label: 'Target in the container',
      placeholder: '/usr/bin/lynx',
      rule: `The program run inside the container; the app path when empty. ${PATH_RULE}`,
      optional: true,
    },
    {
      name: 'base',
      label: 'Base container',
      placeholder: 'basesystem',
      rule: `A base the container is layered on. ${REF_RULE}`,
      optional: true,
    },
  ],
  firecracker: [
    {
      name: 'vm',
      label: 'VM name',
      placeholder: 'leap',
      rule: `A VM pulled before with flake.pull. ${REF_RULE}`,
    },
    {
      name: 'app',
      label: 'App path',
      placeholder: '/usr/share/flakes/bin/leap',
      rule: `Where the command appears on the device (flake-ctl links it to firecracker-pilot). On EOS only /usr/share/flakes is writable: put apps under /usr/share/flakes/bin. ${PATH_RULE}`,
    },
    {
      name: 'target',
      label: 'Target in the VM',
      placeholder: '/usr/bin/bash',
      rule: `The program run inside the VM; the app path when empty. ${PATH_RULE}`,
      optional: true,
    },
    {
      name: 'overlaySize',
      label: 'Overlay size',
      placeholder: '20GiB',
      rule: 'The VM’s writable overlay: digits and an optional K, M, G or T (with i and B), e.g. 20GiB.',
      optional: true,
    },
  ],
};

/** The same schema the procedure applies (createCommand parses params with commandSchema). */
function validate(engine: Engine, values: Record<string, string>) {
  const given = Object.fromEntries(
    Object.entries(values).filter(
      ([name, value]) => value !== '' && FIELDS[engine].some((f) => f.name === name),
    ),
  );
  const parsed = flakeRegisterParamsSchema.safeParse({ engine, ...given });
  if (parsed.success) return { params: parsed.data, errors: {} };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= (values[field] ?? '') === '' ? 'required' : issue.message;
  }
  return { params: null, errors };
}

function RegisterFlakeForm({
  pending,
  onSend,
}: {
  pending: boolean;
  onSend: (params: FlakeRegisterParams) => void;
}) {
  const formId = useId();
  const [engine, setEngine] = useState<Engine>('podman');
  const [values, setValues] = useState<Record<string, string>>({});
  const [submitted, setSubmitted] = useState(false);
  const { errors } = validate(engine, values);
  // errors show after the first attempt, and go away as soon as they no longer apply
  const shown: Record<string, string> = submitted ? errors : {};

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSubmitted(true);
    const result = validate(engine, values);
    if (result.params) onSend(result.params);
  }

  return (
    <form
      onSubmit={onSubmit}
      noValidate
      aria-label="Register flake"
      className="mt-4 min-w-0 space-y-3 border-t border-slate-200 pt-3"
    >
      <h3 className="text-sm font-medium text-ink">Register a flake</h3>
      <label className="block text-sm">
        <span className="font-medium text-slate-700">Engine</span>
        <div className="mt-1">
          <Select value={engine} onChange={(event) => setEngine(event.target.value as Engine)}>
            <option value="podman">container (podman)</option>
            <option value="firecracker">VM (firecracker)</option>
          </Select>
        </div>
      </label>
      {FIELDS[engine].map((field) => {
        const id = `${formId}-${field.name}`;
        const error = shown[field.name];
        return (
          <div key={`${engine}-${field.name}`} className="text-sm">
            <label htmlFor={id} className="font-medium text-slate-700">
              {field.label}
              {field.optional && <span className="font-normal text-slate-500"> (optional)</span>}
            </label>
            <input
              id={id}
              name={field.name}
              value={values[field.name] ?? ''}
              onChange={(event) =>
                setValues((current) => ({ ...current, [field.name]: event.target.value }))
              }
              placeholder={field.placeholder}
              aria-invalid={error ? true : undefined}
              aria-describedby={`${id}-rule${error ? ` ${id}-error` : ''}`}
              className={`mt-1 w-full rounded-md border px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-brand-100 ${error ? 'border-red-500' : 'border-slate-300 focus:border-brand-600'}`}
            />
            <p id={`${id}-rule`} className="mt-1 text-xs text-slate-500">
              {field.rule}
            </p>
            {error && (
              <p
                id={`${id}-error`}
                className="mt-1 text-xs text-red-700"
                data-testid={`error-${field.name}`}
              >
                {field.label}: {error}
              </p>
            )}
          </div>
        );
      })}
      <Button type="submit" disabled={pending}>
        {pending ? 'Sending…' : 'Register'}
      </Button>
    </form>
  );
}

/** The workloads the device reported, with remove, and the register form for operators. */
export function FlakesPanel({
  device,
  canOperate,
  pending,
  onSend,
}: {
  device: DeviceView;
  canOperate: boolean;
  pending: boolean;
  onSend: (command: FlakeCommand) => void;
}) {
  return (
    <Card className="min-w-0 p-4">
      <h2 className="mb-3 font-medium text-ink">Flakes</h2>
      {device.flakes.length === 0 ? (
        <p className="text-sm text-slate-500">No workloads registered.</p>
      ) : (
        <ul className="divide-y divide-slate-100 text-sm" data-testid="flakes">
          {device.flakes.map((flake) => {
            const remove = flake.appPath
              ? flakeRemoveParamsSchema.safeParse({ engine: flake.engine, app: flake.appPath })
              : null;
            return (
              <li
                key={`${flake.engine}:${flake.name}`}
                className="flex min-w-0 items-center justify-between gap-2 py-2"
              >
                <span className="min-w-0">
                  <Badge>{flake.engine}</Badge> <span className="font-medium">{flake.name}</span>
                  <span
                    className="block truncate text-xs text-slate-500"
                    title={flake.appPath ?? ''}
                  >
                    {flake.appPath ?? 'app path not reported'}
                    {flake.target ? ` → ${flake.target}` : ''}
                  </span>
                </span>
                {canOperate && remove?.success && (
                  <ConfirmButton
                    title={`Remove the flake ${flake.name}?`}
                    description={
                      <p>
                        The device runs{' '}
                        <code>
                          flake-ctl {flake.engine} remove --app {flake.appPath}
                        </code>
                        : the app&apos;s registration (its link and its /usr/share/flakes entry)
                        goes away.
                      </p>
                    }
                    confirmLabel="Remove"
                    onConfirm={() => onSend({ kind: 'flake.remove', params: remove.data })}
                  >
                    Remove
                  </ConfirmButton>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {canOperate && (
        <RegisterFlakeForm
          pending={pending}
          onSend={(params) => onSend({ kind: 'flake.register', params })}
        />
      )}
    </Card>
  );
}
