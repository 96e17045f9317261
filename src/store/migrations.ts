import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** sql/<dialect>/NNN_name.sql, in order. The folder sits at the package root, beside src/ and dist/. */
export function readMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const dir = fileURLToPath(new URL(`../../sql/${dialect}/`, import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({ version: Number(f.split('_', 1)[0]), name: f.slice(0, -4), sql: readFileSync(dir + f, 'utf8') }))
    .sort((a, b) => a.version - b.version);
}
