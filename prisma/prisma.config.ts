import { defineConfig } from 'prisma/config';

// The native schema engine is never used (it cannot be downloaded here): generate/validate/format
// only need a path to exist, and migrations run through the WebAssembly engine (src/migrate.ts).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= new URL(
  './schema-engine.placeholder',
  import.meta.url,
).pathname;

export default defineConfig({
  schema: 'schema.prisma',
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/eos_fleet' },
});
