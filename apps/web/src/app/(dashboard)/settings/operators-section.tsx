'use client';
import { OPERATOR_ROLES, type OperatorRole } from '@eos-fleet/shared/domain';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan, useMe } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Field,
  Loading,
  Select,
  TextInput,
  TruncatedText,
  formatTime,
} from '~/components/ui';
import { formText, useZodForm } from '~/lib/form';
import { createOperatorInput } from '~/server/services/operators/operator-inputs';
import { errorMessage, useTRPC } from '~/trpc/react';

function CreateOperatorForm({
  onCreated,
}: {
  onCreated: (email: string, password?: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.operators.create.mutationOptions({
      onSuccess: async (result) => {
        await queryClient.invalidateQueries({ queryKey: trpc.operators.list.queryKey() });
        onCreated(result.operator.email, result.oneTimePassword);
      },
    }),
  );
  const form = useZodForm({
    schema: createOperatorInput,
    fields: ['email', 'name', 'role'],
    read: (data) => ({
      email: formText(data, 'email').trim(),
      name: formText(data, 'name'),
      role: formText(data, 'role') || 'viewer',
    }),
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
      aria-label="Add operator"
    >
      <Field label="Name" error={form.errors.name}>
        <TextInput name="name" required />
      </Field>
      <Field label="Email" error={form.errors.email}>
        <TextInput name="email" type="email" required />
      </Field>
      <Field label="Role" error={form.errors.role}>
        <Select name="role" defaultValue="viewer">
          {OPERATOR_ROLES.map((role) => (
            <option key={role} value={role}>
              {role}
            </option>
          ))}
        </Select>
      </Field>
      <div className="md:pt-6">
        <Button type="submit" disabled={create.isPending}>
          Add operator
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

export function OperatorsSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe();
  const canManage = useCan('operator.manage');
  const operators = useQuery(trpc.operators.list.queryOptions());
  const [notice, setNotice] = useState<{ email: string; password?: string } | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.operators.list.queryKey() });
  const changeRole = useMutation(trpc.operators.changeRole.mutationOptions({ onSettled: refresh }));
  const setDisabled = useMutation(
    trpc.operators.setDisabled.mutationOptions({ onSettled: refresh }),
  );
  const resetPassword = useMutation(
    trpc.operators.resetPassword.mutationOptions({
      onSuccess: (result, input) => {
        const email =
          operators.data?.find((operator) => operator.id === input.operatorId)?.email ?? '';
        setNotice({ email, password: result.oneTimePassword });
      },
    }),
  );
  const failure = changeRole.error ?? setDisabled.error ?? resetPassword.error;
  // disabling and resetting end the operator's sessions: asked first, saying so
  const [confirming, setConfirming] = useState<{
    kind: 'disable' | 'reset';
    operatorId: string;
    email: string;
  } | null>(null);

  return (
    <>
      {notice && (
        <div className="mb-4">
          <Alert tone="success">
            {notice.password ? (
              <>
                One-time password for {notice.email}:{' '}
                <code className="font-mono" data-testid="one-time-password">
                  {notice.password}
                </code>{' '}
                — shown only now. They choose their own at first sign-in.
              </>
            ) : (
              <>Operator {notice.email} was added.</>
            )}
          </Alert>
        </div>
      )}
      {failure && (
        <div className="mb-4">
          <Alert>{errorMessage(failure)}</Alert>
        </div>
      )}
      <Card>
        <h2 className="border-b border-slate-200 px-4 py-3 font-medium text-ink">Operators</h2>
        {canManage && (
          <CreateOperatorForm onCreated={(email, password) => setNotice({ email, password })} />
        )}
        {operators.error && (
          <p role="alert" className="p-4">
            {errorMessage(operators.error)}
          </p>
        )}
        {!operators.data && !operators.error && (
          <div className="p-4">
            <Loading what="operators" />
          </div>
        )}
        {operators.data && (
          <div className="overflow-x-auto">
            <table className="w-full table-fixed text-left text-sm">
              <thead className="border-y border-slate-200 text-xs uppercase text-slate-500">
                <tr>
                  <th className="w-[22%] px-4 py-2">Name</th>
                  <th className="w-[24%] px-4 py-2">Email</th>
                  <th className="w-32 px-4 py-2">Role</th>
                  <th className="w-44 px-4 py-2">Since</th>
                  {canManage && <th className="w-64 px-4 py-2">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {operators.data.map((operator) => (
                  <tr
                    key={operator.id}
                    className="border-b border-slate-100 last:border-0"
                    data-testid={`operator-${operator.email}`}
                  >
                    <td className="px-4 py-2">
                      <TruncatedText text={operator.name} />
                      {operator.disabled && <Badge tone="red">disabled</Badge>}
                    </td>
                    <td className="px-4 py-2">
                      <TruncatedText text={operator.email} />
                    </td>
                    <td className="px-4 py-2">
                      {canManage ? (
                        <Select
                          aria-label={`Role of ${operator.email}`}
                          value={operator.role}
                          onChange={(event) =>
                            changeRole.mutate({
                              operatorId: operator.id,
                              role: event.target.value as OperatorRole,
                            })
                          }
                        >
                          {OPERATOR_ROLES.map((role) => (
                            <option key={role} value={role}>
                              {role}
                            </option>
                          ))}
                        </Select>
                      ) : (
                        <Badge>{operator.role}</Badge>
                      )}
                    </td>
                    <td className="px-4 py-2">{formatTime(operator.createdAt)}</td>
                    {canManage && (
                      <td className="flex flex-wrap gap-2 px-4 py-2">
                        <Button
                          variant="secondary"
                          onClick={() =>
                            setConfirming({
                              kind: 'reset',
                              operatorId: operator.id,
                              email: operator.email,
                            })
                          }
                        >
                          Reset password
                        </Button>
                        {operator.id !== me.data?.id && (
                          <Button
                            variant={operator.disabled ? 'secondary' : 'danger'}
                            onClick={() =>
                              operator.disabled
                                ? setDisabled.mutate({ operatorId: operator.id, disabled: false })
                                : setConfirming({
                                    kind: 'disable',
                                    operatorId: operator.id,
                                    email: operator.email,
                                  })
                            }
                          >
                            {operator.disabled ? 'Enable' : 'Disable'}
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
      </Card>
      <ConfirmDialog
        open={confirming !== null}
        onOpenChange={(open) => !open && setConfirming(null)}
        title={
          confirming?.kind === 'reset'
            ? `Reset the password of ${confirming.email}?`
            : `Disable ${confirming?.email ?? ''}?`
        }
        description={
          confirming?.kind === 'reset'
            ? 'Their sessions end now and they get a one-time password, shown to you once, to choose a new one.'
            : 'Their sessions end now and they can no longer sign in until enabled again. Their API tokens stop working.'
        }
        confirmLabel={confirming?.kind === 'reset' ? 'Reset password' : 'Disable operator'}
        pending={setDisabled.isPending || resetPassword.isPending}
        onConfirm={() => {
          if (!confirming) return;
          const done = { onSettled: () => setConfirming(null) };
          if (confirming.kind === 'reset')
            resetPassword.mutate({ operatorId: confirming.operatorId }, done);
          else setDisabled.mutate({ operatorId: confirming.operatorId, disabled: true }, done);
        }}
      />
    </>
  );
}
