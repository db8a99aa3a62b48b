'use client';
// API tokens for automation: made here with a name, a role no higher than the operator's own and
// an expiry; the token is shown once, right after it is made, and never again (it is stored
// hashed). The form checks with the procedure's own zod schema and shows errors at the field.
import { OPERATOR_ROLES, type OperatorRole } from '@eos-fleet/shared/domain';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan, useMe } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  Field,
  Loading,
  Select,
  TextInput,
  TruncatedText,
  formatTime,
} from '~/components/ui';
import { formNumber, formText, useZodForm } from '~/lib/form';
import {
  API_TOKEN_MAX_DAYS,
  createApiTokenInput,
} from '~/server/services/api-tokens/api-token-input';
import { roleAtMost } from '~/server/services/api-tokens/role-rank';
import { errorMessage, useTRPC } from '~/trpc/react';

function readForm(data: FormData) {
  return {
    name: formText(data, 'name'),
    role: formText(data, 'role'),
    expiresInDays: formNumber(data, 'expiresInDays'),
  };
}

function CreateApiTokenForm({
  myRole,
  onCreated,
}: {
  myRole: OperatorRole;
  onCreated: (name: string, token: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.apiTokens.create.mutationOptions({
      onSuccess: async (result, _input) => {
        await queryClient.invalidateQueries({ queryKey: trpc.apiTokens.list.queryKey() });
        onCreated(result.apiToken.name, result.token);
      },
    }),
  );
  const roles = OPERATOR_ROLES.filter((role) => roleAtMost(role, myRole));

  const form = useZodForm({
    schema: createApiTokenInput,
    fields: ['name', 'role', 'expiresInDays'],
    read: readForm,
    onValid: async (input, element) => {
      await create.mutateAsync(input);
      element.reset();
      form.reset();
    },
  });

  return (
    <form
      {...form.formProps}
      className="grid grid-cols-1 items-start gap-3 p-4 md:grid-cols-4"
      aria-label="Create API token"
    >
      <Field label="Token name" error={form.errors.name}>
        <TextInput name="name" />
      </Field>
      <Field label="Token role" error={form.errors.role}>
        <Select name="role" defaultValue="viewer">
          {roles.map((role) => (
            <option key={role} value={role}>
              {role}
            </option>
          ))}
        </Select>
      </Field>
      <Field label={`Expires in (days, 1–${API_TOKEN_MAX_DAYS})`} error={form.errors.expiresInDays}>
        <TextInput
          name="expiresInDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={API_TOKEN_MAX_DAYS}
          defaultValue={90}
        />
      </Field>
      <div className="md:pt-6">
        <Button type="submit" disabled={create.isPending}>
          Create token
        </Button>
      </div>
      {form.formError && (
        <div className="md:col-span-4">
          <Alert>{form.formError}</Alert>
        </div>
      )}
    </form>
  );
}

const STATUS_TONE = { active: 'green', expired: 'amber', revoked: 'red' } as const;

export function ApiTokensSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe();
  const canCreate = useCan('apiToken.create');
  const seesAll = useCan('apiToken.manage');
  const tokens = useQuery({ ...trpc.apiTokens.list.queryOptions(), enabled: canCreate });
  const [minted, setMinted] = useState<{ name: string; token: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const revoke = useMutation(
    trpc.apiTokens.revoke.mutationOptions({
      onSettled: () => {
        setConfirming(null);
        return queryClient.invalidateQueries({ queryKey: trpc.apiTokens.list.queryKey() });
      },
    }),
  );
  if (!canCreate || !me.data) return null;

  return (
    <Card>
      <div className="border-b border-slate-200 px-4 py-3">
        <h2 className="font-medium text-ink">API tokens</h2>
        <p className="mt-1 text-sm text-slate-600">
          For scripts and CI: send{' '}
          <code className="font-mono">Authorization: Bearer &lt;token&gt;</code> to the REST API
          under <code className="font-mono">/api/v1</code> (or{' '}
          <code className="font-mono">/api/trpc</code>). A token acts with its role, never above
          yours, until it expires or is revoked. {seesAll ? 'You see everyone’s tokens.' : ''}{' '}
          {/* a plain link: the reference page is served by the API server, not a Next route */}
          <a href="/api/docs" className="text-sky-700 underline" data-testid="api-reference-link">
            API reference
          </a>{' '}
          (
          <a href="/api/openapi.json" className="text-sky-700 underline">
            OpenAPI document
          </a>
          ).
        </p>
      </div>
      <CreateApiTokenForm
        myRole={me.data.role}
        onCreated={(name, token) => {
          setCopied(false);
          setMinted({ name, token });
        }}
      />
      {minted && (
        <div className="px-4 pb-4">
          <Alert tone="success">
            <p>
              API token <strong className="break-all">{minted.name}</strong> — copy it now: it is
              shown only this once and stored hashed.
            </p>
            <code
              className="mt-2 block break-all rounded bg-white px-2 py-1 font-mono text-ink"
              data-testid="api-token-secret"
            >
              {minted.token}
            </code>
            <div className="mt-2 space-x-2">
              <Button
                variant="secondary"
                onClick={() =>
                  void navigator.clipboard
                    ?.writeText(minted.token)
                    .then(() => setCopied(true))
                    .catch(() => setCopied(false))
                }
              >
                {copied ? 'Copied' : 'Copy'}
              </Button>
              <Button variant="secondary" onClick={() => setMinted(null)}>
                Done
              </Button>
            </div>
          </Alert>
        </div>
      )}
      {revoke.error && (
        <div className="px-4 pb-4">
          <Alert>{errorMessage(revoke.error)}</Alert>
        </div>
      )}
      {tokens.error && (
        <p role="alert" className="p-4">
          {errorMessage(tokens.error)}
        </p>
      )}
      {!tokens.data && !tokens.error && (
        <div className="p-4">
          <Loading what="API tokens" />
        </div>
      )}
      {tokens.data && tokens.data.length === 0 && (
        <p className="px-4 pb-4 text-sm text-slate-600" data-testid="api-tokens-empty">
          No API tokens yet.
        </p>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="api-tokens-table">
            <thead className="border-y border-slate-200 text-xs uppercase text-slate-600">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">Role</th>
                {seesAll && <th className="px-4 py-2">Made by</th>}
                <th className="px-4 py-2">Expires</th>
                <th className="px-4 py-2">Last used</th>
                <th className="px-4 py-2">Status</th>
                <th className="px-4 py-2">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => (
                <tr
                  key={token.id}
                  className="border-b border-slate-100 last:border-0"
                  data-testid={`api-token-${token.name}`}
                >
                  <td className="max-w-56 px-4 py-2">
                    <TruncatedText text={token.name} />
                    <code className="text-xs text-slate-600">{token.prefix}</code>
                  </td>
                  <td className="px-4 py-2">
                    <Badge>{token.role}</Badge>
                  </td>
                  {seesAll && (
                    <td className="max-w-56 px-4 py-2">
                      <TruncatedText text={token.createdBy.email} />
                    </td>
                  )}
                  <td className="px-4 py-2">{formatTime(token.expiresAt)}</td>
                  <td className="px-4 py-2">
                    {token.lastUsedAt ? (
                      <>
                        {formatTime(token.lastUsedAt)}
                        <div className="text-xs text-slate-600">from {token.lastUsedIp}</div>
                      </>
                    ) : (
                      'never'
                    )}
                  </td>
                  <td className="px-4 py-2">
                    <Badge tone={STATUS_TONE[token.status]}>{token.status}</Badge>
                  </td>
                  <td className="space-x-2 whitespace-nowrap px-4 py-2 text-right">
                    {token.status !== 'revoked' &&
                      (confirming === token.id ? (
                        <>
                          <Button
                            variant="danger"
                            disabled={revoke.isPending}
                            onClick={() => revoke.mutate({ tokenId: token.id })}
                          >
                            Revoke now
                          </Button>
                          <Button variant="secondary" onClick={() => setConfirming(null)}>
                            Keep
                          </Button>
                        </>
                      ) : (
                        <Button
                          variant="secondary"
                          aria-label={`Revoke ${token.name}`}
                          onClick={() => setConfirming(token.id)}
                        >
                          Revoke
                        </Button>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
