// Tests wait for conditions, never for fixed times.
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value)) {
    if (Date.now() > until)
      throw new Error(
        `condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}
