import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Migration } from './migrations.js';
import type { Store } from './port.js';
import { migratePostgres } from './postgres/migrate.js';
import { PostgresStore } from './postgres/store.js';
import { migrateSqlite } from './sqlite/migrate.js';
import { SqliteStore } from './sqlite/store.js';
import { openSqlite } from './sqlite/writer.js';

export type { Store } from './port.js';

export interface OpenStoreOptions {
  /** Errors of idle database connections: logged, not fatal. */
  onConnectionError?: (err: Error) => void;
}

/** PostgreSQL when DATABASE_URL is set, else embedded SQLite in the data directory. Migrates. */
export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>, options: OpenStoreOptions = {}): Promise<Store> {
  if (config.databaseUrl) return PostgresStore.open(config.databaseUrl, { onPoolError: options.onConnectionError });
  return new SqliteStore(join(config.dataDir, 'callhook.db'));
}

/** Where the data is, for people: never the password. */
export function describeStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>, resolvePath: (p: string) => string): string {
  if (!config.databaseUrl) return `${resolvePath(join(config.dataDir, 'callhook.db'))} (SQLite)`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

/** Runs the migrations not applied yet (or, with dryRun, only lists them). */
export async function migrateStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>, options: { dryRun: boolean }): Promise<Migration[]> {
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
    try {
      return await migratePostgres(pool, options);
    } finally {
      await pool.end();
    }
  }
  const file = join(config.dataDir, 'callhook.db');
  mkdirSync(config.dataDir, { recursive: true });
  const db = openSqlite(file);
  try {
    return migrateSqlite(db, options);
  } finally {
    db.close();
  }
}
