import type { Pool } from 'pg';
import { readMigrations, type Migration } from '../migrations.js';

/** Any fixed number: every callhook instance takes the same advisory lock to migrate. */
const MIGRATION_LOCK = 7_301_225_301;

/**
 * Applies what is not applied yet, each migration in its own transaction, under an advisory lock
 * so that instances starting together migrate one after the other.
 */
export async function migratePostgres(pool: Pool, options: { dryRun?: boolean } = {}): Promise<Migration[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const pending = readMigrations('postgres').filter((m) => !applied.has(m.version));
      if (options.dryRun) return pending;
      for (const m of pending) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }
      return pending;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
