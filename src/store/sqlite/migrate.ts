import type Database from 'better-sqlite3';
import { readMigrations, type Migration } from '../migrations.js';

/** Applies what is not applied yet, in one write transaction, so concurrent starts are safe. */
export function migrateSqlite(db: Database.Database, options: { dryRun?: boolean } = {}): Migration[] {
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const pending = readMigrations('sqlite').filter((m) => !applied.has(m.version));
    if (options.dryRun) return pending;
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }
    return pending;
  });
  return run.immediate();
}
