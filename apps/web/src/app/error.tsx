'use client';

// What an operator sees when a page fails to render: a plain message, never a stack trace.
export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <main className="mx-auto mt-24 max-w-md text-center">
      <h1 className="text-2xl font-semibold">Something went wrong</h1>
      <p className="mt-2 text-slate-600">
        The page could not be shown. The server log has the details.
      </p>
      <button type="button" onClick={reset} className="mt-6 rounded-md bg-ink px-4 py-2 text-white">
        Try again
      </button>
    </main>
  );
}
