import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Store } from './port.js';
import { SqliteStore } from './sqlite/store.js';

export type { Store } from './port.js';

/** The store the configuration asks for: embedded SQLite in the data directory. */
export async function openStore(config: Pick<Config, 'dataDir'>): Promise<Store> {
  return new SqliteStore(join(config.dataDir, 'callhook.db'));
}
