'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { Alert, Button, Field, TextInput } from '~/components/ui';
import { errorMessage, useTRPC } from '~/trpc/react';
import { formText } from '~/lib/form';

export default function ChangePasswordPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useQuery(trpc.account.me.queryOptions());
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        router.replace('/');
        router.refresh();
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const newPassword = formText(form, 'newPassword');
    setMismatch(newPassword !== formText(form, 'confirm'));
    if (newPassword !== formText(form, 'confirm')) return;
    change.mutate({ currentPassword: formText(form, 'currentPassword'), newPassword });
  }

  return (
    <main className="flex min-h-screen items-center justify-center bg-ink px-4">
      <div className="w-full max-w-sm rounded-lg bg-white p-8 shadow-xl">
        <h1 className="text-2xl font-semibold text-ink">Choose a new password</h1>
        <p className="mt-1 text-sm text-slate-600">
          {me.data?.mustChangePassword
            ? 'You signed in with a one-time password. Choose your own before you continue.'
            : 'Your other sessions will be signed out.'}
        </p>
        <form onSubmit={onSubmit} className="mt-6 space-y-4">
          {change.error && <Alert>{errorMessage(change.error)}</Alert>}
          {mismatch && <Alert>The two new passwords differ.</Alert>}
          <Field label="Current password">
            <TextInput
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
            />
          </Field>
          <Field label="New password (at least 10 characters)">
            <TextInput
              name="newPassword"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
            />
          </Field>
          <Field label="New password, again">
            <TextInput
              name="confirm"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
            />
          </Field>
          <Button type="submit" disabled={change.isPending} className="w-full">
            {change.isPending ? 'Saving…' : 'Save password'}
          </Button>
        </form>
      </div>
    </main>
  );
}
