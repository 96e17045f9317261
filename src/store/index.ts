import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Store } from './port.js';
import { PostgresStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';

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
