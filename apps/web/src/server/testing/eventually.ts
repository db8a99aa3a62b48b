// Tests wait for conditions, never for fixed times; the default leaves room for a busy machine.
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
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
