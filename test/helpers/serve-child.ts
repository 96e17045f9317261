import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { start, type Child } from './process.js';
import { API_TOKEN } from './server.js';

const root = join(import.meta.dirname, '..', '..');

/** Where a server child keeps its data: a directory, and on PostgreSQL a database of its own. */
export interface Target {
  dataDir: string;
  databaseUrl: string;
}

/** `callhook serve` from source in a child process, so that it can be killed. */
export async function serveChild(target: Target, port: number, env: Record<string, string> = {}): Promise<Child> {
  const child = start(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'serve'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    CALLHOOK_DATA_DIR: target.dataDir,
    DATABASE_URL: target.databaseUrl,
    CALLHOOK_API_TOKEN: API_TOKEN,
    CALLHOOK_LOG_LEVEL: 'warn',
    ...env,
  });
  await child.waitFor('callhook listening on');
  return child;
}

/** The stored events' ids and dedup keys, read from the database itself. */
export async function storedEvents(target: Target): Promise<{ id: string; dedup_key: string }[]> {
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      return (await client.query<{ id: string; dedup_key: string }>('SELECT id::text, dedup_key FROM events')).rows;
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(target.dataDir, 'callhook.db'), { readonly: true });
  try {
    return (db.prepare('SELECT id, dedup_key FROM events').all() as { id: number; dedup_key: string }[]).map((r) => ({ id: String(r.id), dedup_key: r.dedup_key }));
  } finally {
    db.close();
  }
}

/** Polls until `done()`; fails with `explain()` after the timeout. */
export async function waitUntil(done: () => boolean | Promise<boolean>, explain: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(explain());
    await new Promise((r) => setTimeout(r, 20));
  }
}
