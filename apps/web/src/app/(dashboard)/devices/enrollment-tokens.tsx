'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  ConfirmDialog,
  Field,
  TextInput,
  TruncatedText,
  formatTime,
} from '~/components/ui';
import { formChecked, formNumber, formText, useZodForm } from '~/lib/form';
import { formatLabels, parseLabels } from '~/lib/labels';
import { createEnrollmentTokenInput } from '~/server/services/enrollment/enrollment-token-input';
import { errorMessage, useTRPC } from '~/trpc/react';

export function EnrollmentTokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canEnroll = useCan('device.enroll');
  const tokens = useQuery(trpc.enrollment.list.queryOptions());
  const [created, setCreated] = useState<string | null>(null);
  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: trpc.enrollment.list.queryKey() });
  const create = useMutation(
    trpc.enrollment.create.mutationOptions({
      onSuccess: async (result) => {
        setCreated(result.token);
        await refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.enrollment.revoke.mutationOptions({ onSettled: refresh }));

  const [autoAccept, setAutoAccept] = useState(false);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const form = useZodForm({
    schema: createEnrollmentTokenInput,
    fields: ['name', 'labels', 'expiresInHours', 'maxUses'],
    read: (data) => ({
      name: formText(data, 'name'),
      labels: parseLabels(formText(data, 'labels')),
      autoAccept: formChecked(data, 'autoAccept'),
      expiresInHours: formNumber(data, 'expiresInHours'),
      maxUses: formNumber(data, 'maxUses'),
    }),
    onValid: async (input, element) => {
      await create.mutateAsync(input);
      element.reset();
      setAutoAccept(false);
      form.reset();
    },
  });

  return (
    <Card className="mb-6">
      <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">
        Enrollment tokens
      </h2>
      {canEnroll && (
        <form
          {...form.formProps}
          aria-label="New enrollment token"
          className="grid grid-cols-1 items-start gap-3 p-4 md:grid-cols-6"
        >
          <Field label="Name" error={form.errors.name}>
            <TextInput name="name" placeholder="plant-3 line B" />
          </Field>
          <div className="md:col-span-2">
            <Field label="Labels (key=value, ...)" error={form.errors.labels}>
              <TextInput name="labels" placeholder="site=plant-3, ring=canary" />
            </Field>
          </div>
          <Field label="Expires in (hours)" error={form.errors.expiresInHours}>
            <TextInput name="expiresInHours" inputMode="numeric" placeholder="never" />
          </Field>
          <Field label="Uses" error={form.errors.maxUses}>
            <TextInput name="maxUses" inputMode="numeric" placeholder="unlimited" />
          </Field>
          <div className="flex flex-wrap items-center gap-3 md:pt-6">
            <Checkbox
              name="autoAccept"
              label="auto-accept"
              checked={autoAccept}
              onCheckedChange={setAutoAccept}
            />
            <Button type="submit" disabled={create.isPending}>
              Create
            </Button>
          </div>
          {form.formError && (
            <div className="md:col-span-6">
              <Alert>{form.formError}</Alert>
            </div>
          )}
        </form>
      )}
      {created && (
        <div className="mx-4 mb-4">
          <Alert tone="success">
            <p>
              The token, shown only now:{' '}
              <code className="break-all font-mono" data-testid="new-enrollment-token">
                {created}
              </code>
            </p>
            <p className="mt-1">
              Put it in the device&apos;s <code>/etc/eos-fleet/agent.yml</code> as{' '}
              <code>enrollmentToken</code>, with <code>serverUrl</code> set to this dashboard&apos;s
              address.
            </p>
          </Alert>
        </div>
      )}
      {revoke.error && (
        <div className="mx-4 mb-4">
          <Alert>{errorMessage(revoke.error)}</Alert>
        </div>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <thead className="border-y border-slate-200 text-xs uppercase text-slate-600">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">Token</th>
                <th className="px-4 py-2">Labels</th>
                <th className="px-4 py-2">Uses</th>
                <th className="px-4 py-2">Expires</th>
                <th className="px-4 py-2">State</th>
                {canEnroll && <th className="px-4 py-2" />}
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => (
                <tr key={token.id} className="border-b border-slate-100 last:border-0">
                  <td className="max-w-56 px-4 py-2">
                    <TruncatedText text={token.name} />
                    {token.autoAccept && <Badge tone="sky">auto-accept</Badge>}
                  </td>
                  <td className="px-4 py-2 font-mono text-xs">{token.tokenPrefix}…</td>
                  <td className="max-w-64 break-words px-4 py-2 text-xs">
                    {formatLabels(token.labels) || '—'}
                  </td>
                  <td className="px-4 py-2">
                    {token.uses}
                    {token.maxUses !== null && ` / ${token.maxUses}`}
                  </td>
                  <td className="px-4 py-2">
                    {token.expiresAt ? formatTime(token.expiresAt) : 'never'}
                  </td>
                  <td className="px-4 py-2">
                    <Badge tone={token.state === 'active' ? 'green' : 'slate'}>
                      {token.state.replace('_', ' ')}
                    </Badge>
                  </td>
                  {canEnroll && (
                    <td className="px-4 py-2 text-right">
                      {token.state === 'active' && (
                        <Button
                          variant="secondary"
                          onClick={() => setRevoking({ id: token.id, name: token.name })}
                        >
                          Revoke
                        </Button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={`Revoke ${revoking?.name ?? ''}?`}
        description="Devices that have not enrolled with it yet can no longer enroll. Devices enrolled with it stay."
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        onConfirm={() => {
          if (revoking)
            revoke.mutate({ tokenId: revoking.id }, { onSuccess: () => setRevoking(null) });
        }}
      />
    </Card>
  );
}
