'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { z } from 'zod';
import { Alert, Button, Field, TextInput } from '~/components/ui';
import { authClient } from '~/lib/auth-client';
import { formText, useZodForm } from '~/lib/form';

/** What better-auth's email sign-in takes (the same limits as the operator's own fields). */
const signInInput = z.object({
  email: z.email().max(254),
  password: z.string().min(1).max(128),
});

/** Only a local path may follow sign-in: an absolute URL would make this an open redirect. */
function safeNext(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}

function SignInForm() {
  const router = useRouter();
  const next = safeNext(useSearchParams().get('next'));
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const form = useZodForm({
    schema: signInInput,
    fields: ['email', 'password'],
    read: (data) => ({
      email: formText(data, 'email').trim(),
      password: formText(data, 'password'),
    }),
    onValid: async (credentials) => {
      setPending(true);
      setError(null);
      const { error: failure } = await authClient.signIn.email(credentials);
      setPending(false);
      if (failure) {
        setError(
          failure.status === 429
            ? 'Too many attempts. Wait a minute and try again.'
            : 'Wrong email or password.',
        );
        return;
      }
      router.replace(next);
      router.refresh();
    },
  });

  return (
    <form {...form.formProps} aria-label="Sign in" className="space-y-4">
      {(error ?? form.formError) && <Alert>{error ?? form.formError}</Alert>}
      <Field label="Email" error={form.errors.email}>
        <TextInput name="email" type="email" autoComplete="username" required autoFocus />
      </Field>
      <Field label="Password" error={form.errors.password}>
        <TextInput name="password" type="password" autoComplete="current-password" required />
      </Field>
      <Button type="submit" disabled={pending} className="w-full">
        {pending ? 'Signing in…' : 'Sign in'}
      </Button>
    </form>
  );
}

export default function SignInPage() {
  return (
    <main className="flex min-h-screen items-center justify-center bg-ink px-4">
      <div className="w-full max-w-sm rounded-lg bg-white p-8 shadow-xl">
        <div className="mb-6">
          <p className="text-xs font-semibold uppercase tracking-wider text-brand-700">SUSE EOS</p>
          <h1 className="text-2xl font-semibold text-ink">Sign in to EOS Fleet</h1>
        </div>
        <Suspense>
          <SignInForm />
        </Suspense>
      </div>
    </main>
  );
}
