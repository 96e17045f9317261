import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolveConfig, type Config } from '../../src/config.js';
import { startServer } from '../../src/main.js';
import { freshDatabase, type Dialect } from './dialects.js';

export const API_TOKEN = 'test-api-token-0123456789';

export interface TestServer {
  url: string;
  /** Waits until every stored event is stitched into its call. */
  settle: () => Promise<void>;
  running: Awaited<ReturnType<typeof startServer>>;
  config: Config;
  lines: string[];
  api: (path: string, init?: RequestInit) => Promise<Response>;
  close: () => Promise<void>;
}

export function tempDir(prefix = 'callhook-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The real server on a free port with its own data directory and, on PostgreSQL, its own database;
 * settings as environment variables.
 */
export async function startTestServer(dialect: Dialect, env: Record<string, string> = {}, options: { clock?: () => number } = {}): Promise<TestServer> {
  const temp = env['CALLHOOK_DATA_DIR'] ? null : tempDir();
  const database = dialect === 'postgres' && !env['DATABASE_URL'] ? await freshDatabase() : null;
  const config = resolveConfig(
    {},
    { HOST: '127.0.0.1', PORT: '0', CALLHOOK_LOG_LEVEL: 'silent', CALLHOOK_API_TOKEN: API_TOKEN, CALLHOOK_DATA_DIR: temp?.dir ?? '', DATABASE_URL: database?.url ?? '', ...env },
  );
  const lines: string[] = [];
  const running = await startServer(config, (line) => lines.push(line), options);
  const url = running.url;
  return {
    url,
    settle: running.settle,
    running,
    config,
    lines,
    api: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${API_TOKEN}`, ...(init.headers ?? {}) } }),
    close: async () => {
      await running.close();
      temp?.remove();
      await database?.drop();
    },
  };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/**
 * Runs one statement on the server's own database, from outside the server, as another instance
 * or an operator would; `?` placeholders on both dialects. Gives the rows it returns.
 */
export async function runSql(config: Config, sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
  if (!config.databaseUrl) {
    const db = new Database(join(config.dataDir, 'callhook.db'));
    try {
      db.pragma('busy_timeout = 5000');
      const st = db.prepare(sql);
      if (st.reader) return st.all(...params) as Record<string, unknown>[];
      st.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    let n = 0;
    return (await client.query<Record<string, unknown>>(sql.replace(/\?/g, () => `$${++n}`), [...params])).rows;
  } finally {
    await client.end();
  }
}
