import { defineConfig } from 'vitest/config';

// Integration tests move real images through real sockets and the real ssh client.
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
