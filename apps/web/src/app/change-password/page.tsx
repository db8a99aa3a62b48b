'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { z } from 'zod';
import { Alert, Button, Field, TextInput } from '~/components/ui';
import { formText, useZodForm } from '~/lib/form';
import { changeOwnPasswordInput } from '~/server/services/operators/operator-inputs';
import { useTRPC } from '~/trpc/react';

/** The procedure's schema, plus the second typing of the new password. */
const changePasswordForm = z
  .intersection(changeOwnPasswordInput, z.object({ confirm: z.string().max(128) }))
  .refine((input) => input.confirm === input.newPassword, {
    message: 'The two new passwords differ',
    path: ['confirm'],
  });

export default function ChangePasswordPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useQuery(trpc.account.me.queryOptions());
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        router.replace('/');
        router.refresh();
      },
    }),
  );

  const form = useZodForm({
    schema: changePasswordForm,
    fields: ['currentPassword', 'newPassword', 'confirm'],
    read: (data) => ({
      currentPassword: formText(data, 'currentPassword'),
      newPassword: formText(data, 'newPassword'),
      confirm: formText(data, 'confirm'),
    }),
    onValid: ({ currentPassword, newPassword }) =>
      change.mutateAsync({ currentPassword, newPassword }),
  });

  return (
    <main className="flex min-h-screen items-center justify-center bg-ink px-4">
      <div className="w-full max-w-sm rounded-lg bg-white p-8 shadow-xl">
        <h1 className="text-2xl font-semibold text-ink">Choose a new password</h1>
        <p className="mt-1 text-sm text-slate-600">
          {me.data?.mustChangePassword
            ? 'You signed in with a one-time password. Choose your own before you continue.'
            : 'Your other sessions will be signed out.'}
        </p>
        <form {...form.formProps} aria-label="Change password" className="mt-6 space-y-4">
          {form.formError && <Alert>{form.formError}</Alert>}
          <Field label="Current password" error={form.errors.currentPassword}>
            <TextInput
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
            />
          </Field>
          <Field label="New password (at least 10 characters)" error={form.errors.newPassword}>
            <TextInput name="newPassword" type="password" autoComplete="new-password" required />
          </Field>
          <Field label="New password, again" error={form.errors.confirm}>
            <TextInput name="confirm" type="password" autoComplete="new-password" required />
          </Field>
          <Button type="submit" disabled={change.isPending} className="w-full">
            {change.isPending ? 'Saving…' : 'Save password'}
          </Button>
        </form>
      </div>
    </main>
  );
}
