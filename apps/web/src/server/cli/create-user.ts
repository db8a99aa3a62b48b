// npm run user:create -- --email you@example.org --role admin [--name "Your Name"]
// Creates an operator with a one-time password (printed once). Works beside a running EOS Fleet.
import { parseArgs } from 'node:util';
import { createPrismaClient, openProjectDatabase } from '@eos-fleet/db';
import { readEnv } from '../../env';
import { SYSTEM_ACTOR } from '../services/context';
import { createOperator } from '../services/operators/create-operator';

const USAGE =
  'usage: npm run user:create -- --email EMAIL --role admin|operator|viewer [--name NAME]';

async function main() {
  const { values } = parseArgs({
    options: { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
  });
  if (!values.email || !values.role) throw new Error(USAGE);
  const env = readEnv();
  const database = await openProjectDatabase({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.EOS_FLEET_DATA_DIR,
    shareRunning: true,
  });
  const db = createPrismaClient(database.url, { poolSize: 2 });
  try {
    const { operator, oneTimePassword } = await createOperator(
      { db, actor: { ...SYSTEM_ACTOR, label: 'user:create' } },
      {
        email: values.email,
        role: values.role as 'admin',
        name: values.name ?? values.email.split('@')[0] ?? values.email,
      },
    );
    console.log(
      `Created ${operator.role} ${operator.email}.\nOne-time password (shown once): ${oneTimePassword ?? ''}`,
    );
  } finally {
    await db.$disconnect();
    await database.close();
  }
}

main().catch((error: unknown) => {
  const issues = (error as { issues?: { path: unknown[]; message: string }[] }).issues;
  console.error(
    issues
      ? issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n')
      : error instanceof Error
        ? error.message
        : error,
  );
  process.exit(1);
});
