'use client';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Alert, Badge, Button, Card, Field, Loading, Select } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { Fact } from './device-facts';
import { mib } from './format';
import { HashText } from './hash-text';
import type { DeviceView } from './types';

/** What runs against what is recommended, and (for operators) the apply picker. */
export function VersionPanel({
  device,
  canApply,
  applying,
  onApply,
}: {
  device: DeviceView;
  canApply: boolean;
  applying: boolean;
  onApply: (imageVersionId: string) => void;
}) {
  return (
    <Card className="min-w-0 p-4">
      <h2 className="mb-3 font-medium text-ink">Version</h2>
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2">
        <Fact label="Running">
          <span data-testid="running-version">{device.runningVersion ?? 'not reported'}</span>{' '}
          {device.outOfDate ? (
            <Badge tone="amber">out of date</Badge>
          ) : device.recommendedVersion && device.runningVersion ? (
            <Badge tone="green">up to date</Badge>
          ) : null}
        </Fact>
        <Fact label="Recommended">
          <span data-testid="recommended-version">
            {device.recommendedVersion?.displayName ??
              `none set for ${device.imageName ?? 'its image name'}`}
          </span>
        </Fact>
        <Fact label="Root prefix hash">
          {device.rootPrefixHash ? (
            <HashText
              value={device.rootPrefixHash}
              label="root prefix hash"
              testId="root-prefix-hash"
            />
          ) : (
            'not reported'
          )}
        </Fact>
      </dl>
      {canApply && <ApplyVersionPicker deviceId={device.id} pending={applying} onApply={onApply} />}
    </Card>
  );
}

/**
 * The versions this device's update server offers (never blocked ones), with what matters to
 * choose: label, hash prefix, size, whether it fits the slot. The apply is pinned to the pick.
 */
function ApplyVersionPicker({
  deviceId,
  pending,
  onApply,
}: {
  deviceId: string;
  pending: boolean;
  onApply: (imageVersionId: string) => void;
}) {
  const trpc = useTRPC();
  const options = useQuery(trpc.devices.applicableVersions.queryOptions({ deviceId }));
  const [picked, setPicked] = useState('');
  if (options.error) return <Alert>{errorMessage(options.error)}</Alert>;
  if (!options.data) return <Loading what="the versions" />;
  const { versions, problem, updateServer } = options.data;
  const choice = versions.find((version) => version.id === picked);
  const refusal = !choice
    ? null
    : choice.fits === false
      ? "does not fit the device's slot"
      : !choice.applicable
        ? 'its server does not publish the whole-root sha256'
        : choice.running
          ? 'the device runs it already'
          : null;
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (choice && !refusal) onApply(choice.id);
  }
  return (
    <form
      onSubmit={onSubmit}
      noValidate
      aria-label="Apply update"
      className="mt-4 min-w-0 space-y-2 border-t border-slate-200 pt-3"
    >
      <h3 className="text-sm font-medium text-ink">Apply an image version</h3>
      {problem ? (
        <p className="text-sm text-amber-800">{problem}</p>
      ) : versions.length === 0 ? (
        <p className="text-sm text-slate-500">
          {updateServer?.name} offers no versions yet (none polled, or all blocked).
        </p>
      ) : (
        <>
          <Field label={`Version (from ${updateServer?.name ?? 'its update server'})`}>
            <Select
              name="imageVersionId"
              value={picked}
              onChange={(event) => setPicked(event.target.value)}
            >
              <option value="">Choose a version…</option>
              {versions.map((version) => (
                <option key={version.id} value={version.id} disabled={version.fits === false}>
                  {version.displayName} · {version.rootPrefixHash.slice(0, 12)} ·{' '}
                  {mib(version.rootPartitionSize)}
                  {version.recommended ? ' · recommended' : ''}
                  {version.running ? ' · running' : ''}
                  {version.fits === false ? ' · does not fit the slot' : ' · fits the slot'}
                </option>
              ))}
            </Select>
          </Field>
          {choice && (
            <p className="break-words text-xs text-slate-500" data-testid="apply-choice">
              {choice.imageName} {choice.label ?? ''}: root {mib(choice.rootPartitionSize)}
              {options.data.slotSize !== null
                ? ` of a ${mib(options.data.slotSize)} slot`
                : ' (slot size not reported)'}
              . Pinned to <span className="break-all font-mono">{choice.pinnedName}</span>; the
              device commits only if the slot hashes to this version&apos;s sha256.
            </p>
          )}
          {refusal && (
            <p className="text-xs text-red-700" role="alert">
              Cannot apply: {refusal}.
            </p>
          )}
          <Button type="submit" disabled={!choice || refusal !== null || pending}>
            {pending ? 'Sending…' : 'Apply update'}
          </Button>
        </>
      )}
    </form>
  );
}
