'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useCan } from '~/components/session';
import { Alert, Badge, Button, Card, Field, TextInput, formatTime } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { formText } from '~/lib/form';
import { formatLabels, parseLabels } from '~/lib/labels';

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

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const hours = formText(form, 'expiresInHours').trim();
    const uses = formText(form, 'maxUses').trim();
    create.mutate({
      name: formText(form, 'name'),
      labels: parseLabels(formText(form, 'labels')),
      autoAccept: form.get('autoAccept') === 'on',
      expiresInHours: hours ? Number(hours) : undefined,
      maxUses: uses ? Number(uses) : undefined,
    });
  }

  return (
    <Card className="mb-6">
      <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">
        Enrollment tokens
      </h2>
      {canEnroll && (
        <form
          onSubmit={onSubmit}
          noValidate
          aria-label="New enrollment token"
          className="grid grid-cols-1 items-end gap-3 p-4 md:grid-cols-6"
        >
          <Field label="Name">
            <TextInput name="name" placeholder="plant-3 line B" />
          </Field>
          <div className="md:col-span-2">
            <Field label="Labels (key=value, ...)">
              <TextInput name="labels" placeholder="site=plant-3, ring=canary" />
            </Field>
          </div>
          <Field label="Expires in (hours)">
            <TextInput name="expiresInHours" type="number" min={1} placeholder="never" />
          </Field>
          <Field label="Uses">
            <TextInput name="maxUses" type="number" min={1} placeholder="unlimited" />
          </Field>
          <div className="flex items-center gap-3">
            <label className="flex items-center gap-1 text-sm">
              <input type="checkbox" name="autoAccept" /> auto-accept
            </label>
            <Button type="submit" disabled={create.isPending}>
              Create
            </Button>
          </div>
          {create.error && (
            <div className="md:col-span-6">
              <Alert>{errorMessage(create.error)}</Alert>
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
        <table className="w-full text-left text-sm">
          <thead className="border-y border-slate-200 text-xs uppercase text-slate-500">
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
                <td className="px-4 py-2">
                  {token.name} {token.autoAccept && <Badge tone="sky">auto-accept</Badge>}
                </td>
                <td className="px-4 py-2 font-mono text-xs">{token.tokenPrefix}…</td>
                <td className="px-4 py-2 text-xs">{formatLabels(token.labels) || '—'}</td>
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
                        onClick={() => revoke.mutate({ tokenId: token.id })}
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
      )}
    </Card>
  );
}
