'use client';
// Whether this tab hears the server's change notices: without them what is shown can be stale.
// A polite live region, so a screen reader hears the change without losing its place.
import { useLiveStatus, type LiveStatus } from '~/trpc/react';

const LOOK: Record<LiveStatus, { label: string; dot: string; text: string }> = {
  connecting: { label: 'Connecting…', dot: 'bg-slate-400', text: 'text-slate-300' },
  live: { label: 'Live', dot: 'bg-brand-500', text: 'text-slate-200' },
  reconnecting: { label: 'Reconnecting…', dot: 'bg-amber-400', text: 'text-amber-200' },
  disconnected: {
    label: 'Disconnected — data may be stale',
    dot: 'bg-red-500',
    text: 'text-red-200',
  },
};

export function LiveIndicator() {
  const status = useLiveStatus();
  const look = LOOK[status];
  return (
    <p
      role="status"
      aria-live="polite"
      data-testid="live-status"
      data-state={status}
      className={`flex items-center gap-2 text-xs ${look.text}`}
    >
      <span
        aria-hidden="true"
        className={`inline-block h-2 w-2 shrink-0 rounded-full ${look.dot}`}
      />
      {look.label}
    </p>
  );
}
