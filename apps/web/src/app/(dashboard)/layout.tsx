'use client';
import Link from 'next/link';
import { NuqsAdapter } from 'nuqs/adapters/next/app';
import { usePathname, useRouter } from 'next/navigation';
import type { ReactNode } from 'react';
import { LiveIndicator } from '~/components/live-indicator';
import { useMe } from '~/components/session';
import { authClient } from '~/lib/auth-client';
import { LiveUpdatesProvider } from '~/trpc/react';

const NAVIGATION = [
  { href: '/', label: 'Overview' },
  { href: '/devices', label: 'Devices' },
  { href: '/rollouts', label: 'Rollouts' },
  { href: '/images', label: 'Images' },
  { href: '/update-servers', label: 'Update servers' },
  { href: '/audit', label: 'Audit log' },
  { href: '/settings', label: 'Settings' },
] as const;

function isActive(pathname: string, href: string) {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

export default function DashboardLayout({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const router = useRouter();
  const me = useMe();

  async function signOut() {
    await authClient.signOut();
    router.replace('/sign-in');
    router.refresh();
  }

  return (
    // nuqs: filters that live in the URL (the Rollouts screens)
    <NuqsAdapter>
      <LiveUpdatesProvider>
        <div className="flex min-h-screen">
          <aside className="flex w-56 shrink-0 flex-col bg-ink text-slate-200">
            <div className="px-5 py-5">
              <p className="text-xs font-semibold uppercase tracking-wider text-brand-500">
                SUSE EOS
              </p>
              <p className="text-lg font-semibold text-white">EOS Fleet</p>
            </div>
            <nav aria-label="Main" className="flex-1 space-y-0.5 px-2">
              {NAVIGATION.map((item) => (
                <Link
                  key={item.href}
                  href={item.href}
                  aria-current={isActive(pathname, item.href) ? 'page' : undefined}
                  className={`block rounded-md px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 ${isActive(pathname, item.href) ? 'bg-white/10 font-medium text-white' : 'hover:bg-white/5'}`}
                >
                  {item.label}
                </Link>
              ))}
            </nav>
            <div className="border-t border-white/10 px-4 py-4 text-sm">
              <div className="mb-3">
                <LiveIndicator />
              </div>
              {me.data && (
                // the email gives way (cut, whole on hover), the role always shows
                <p className="flex min-w-0 items-baseline gap-1" data-testid="current-operator">
                  <span className="min-w-0 truncate" title={me.data.email}>
                    {me.data.email}
                  </span>
                  <span className="shrink-0 text-xs text-brand-500">({me.data.role})</span>
                </p>
              )}
              <div className="mt-2 flex gap-3 text-xs">
                <Link href="/change-password" className="hover:underline">
                  Password
                </Link>
                <button type="button" onClick={() => void signOut()} className="hover:underline">
                  Sign out
                </button>
              </div>
            </div>
          </aside>
          <main className="min-w-0 flex-1 px-8 py-8">{children}</main>
        </div>
      </LiveUpdatesProvider>
    </NuqsAdapter>
  );
}
