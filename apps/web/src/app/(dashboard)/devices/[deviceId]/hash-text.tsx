'use client';
import { Check, Copy } from 'lucide-react';
import { useState } from 'react';

/**
 * A long value (hash, fingerprint, id) cut to fit its column, whole in the title and one click from
 * the clipboard. The full text stays in the DOM (CSS truncation), so it can be selected and found.
 */
export function HashText({
  value,
  label,
  testId,
}: {
  value: string;
  /** what it is, for the copy button's name ("root prefix hash") */
  label: string;
  testId?: string;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <span className="flex min-w-0 items-center gap-1">
      <span className="min-w-0 truncate font-mono text-xs" title={value} data-testid={testId}>
        {value}
      </span>
      <button
        type="button"
        className="shrink-0 rounded p-0.5 text-slate-500 hover:bg-slate-100 hover:text-slate-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-600"
        aria-label={copied ? `Copied the ${label}` : `Copy the ${label}`}
        title={copied ? 'Copied' : `Copy the whole ${label}`}
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          });
        }}
      >
        {copied ? (
          <Check aria-hidden className="h-3.5 w-3.5" />
        ) : (
          <Copy aria-hidden className="h-3.5 w-3.5" />
        )}
      </button>
    </span>
  );
}
