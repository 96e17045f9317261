import { loadConfig } from '../config.js';
import { describeStore, migrateStore } from '../store/index.js';
import { resolve } from 'node:path';

export const migrateHelp = `callhook migrate: apply the database migrations (the server also does at start-up)

Usage: callhook migrate [--dry-run] [--database-url postgres://…] [--data-dir ./data]

  --dry-run        list the migrations that would run, and run none
  --database-url   DATABASE_URL: PostgreSQL; unset, the SQLite database in the data directory
  --data-dir       CALLHOOK_DATA_DIR (default ./data)

Several instances may migrate at once: on PostgreSQL they take turns under an advisory lock.

Example:
  DATABASE_URL=postgres://callhook@db/callhook callhook migrate --dry-run`;

export async function runMigrate(args: Record<string, string | undefined>, dryRun: boolean): Promise<number> {
  const config = loadConfig(args);
  const migrations = await migrateStore(config, { dryRun });
  const where = describeStore(config, (p) => resolve(p));
  if (migrations.length === 0) process.stdout.write(`${where}: up to date\n`);
  for (const m of migrations) process.stdout.write(`${dryRun ? 'would apply' : 'applied'} ${m.name}\n`);
  return 0;
}
