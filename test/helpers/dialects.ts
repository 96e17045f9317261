import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

/** The admin URL the suite makes its databases from; PostgreSQL tests run only when it is set. */
export const ADMIN_URL = process.env['DATABASE_URL'] ?? '';

/** SQLite always; PostgreSQL too when DATABASE_URL is set (CI always sets it). */
export const DIALECTS: readonly Dialect[] = ADMIN_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

/** A new, empty PostgreSQL database, so that tests never share state. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `callhook_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
