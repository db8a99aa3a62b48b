// vitest globalSetup for packages whose tests need PostgreSQL: one real, embedded cluster per test
// run, with the migrations applied once to a template database. Each test file then clones the
// template (CREATE DATABASE ... TEMPLATE), so files are isolated and start in milliseconds.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../embedded-postgres';
import { applyMigrations } from '../migrations';
import { TEMPLATE_DATABASE } from './test-database';

let postgres: RunningPostgres | undefined;
let scratch: string | undefined;

export async function setup(project: TestProject) {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-test-pg-'));
  await fs.chmod(scratch, 0o755);
  postgres = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg') });
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query(`create database ${TEMPLATE_DATABASE}`);
  await client.end();
  await applyMigrations(postgres.urlFor(TEMPLATE_DATABASE));
  project.provide('postgresAdminUrl', postgres.url);
}

export async function teardown() {
  await postgres?.stop();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
}
