// npm run db:migrate: apply pending migrations to DATABASE_URL, or to the embedded cluster in the
// data directory (the server does this too, on every start).
import { openProjectDatabase } from '../project-database';
import { cliEnv } from './env';

try {
  const database = await openProjectDatabase(cliEnv());
  console.log(
    database.applied.length ? `Applied: ${database.applied.join(', ')}` : 'Database is up to date.',
  );
  await database.close();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
