import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { ADMIN_URL, freshDatabase, type TestDatabase } from '../helpers/dialects.js';
import { waitUntil } from '../helpers/serve-child.js';

const skip = ADMIN_URL ? false : 'DATABASE_URL is not set';

describe('the planner statistics of a PostgreSQL database', { skip }, () => {
  let db: TestDatabase;
  let store: PostgresStore;
  let client: pg.Client;
  before(async () => {
    db = await freshDatabase();
    // checked by hand only, so that a background check cannot analyze first
    store = await PostgresStore.open(db.url, { statisticsCheckMs: 0 });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await store?.close();
    await db?.drop();
  });

  const relation = async (name: string) => (await client.query<{ tuples: number }>('SELECT reltuples AS tuples FROM pg_class WHERE relname = $1', [name])).rows[0]?.tuples;
  const changed = async (table: string) => Number((await client.query<{ n: string }>('SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE relname = $1', [table])).rows[0]?.n ?? 0);

  it('analyzes an outbox that outgrew what the planner believes, once, with its indexes, from a small sample', async () => {
    // created empty by the migration: the indexes say they hold nothing
    assert.equal(await relation('deliveries_fresh'), 0);
    assert.deepEqual(await store.refreshStatistics(), []);

    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    await writer.query(
      `INSERT INTO deliveries (destination_id, kind, order_key, message_at, next_attempt_ms, created_ms)
       SELECT 1, 'cdr.inbound.answered', 'telecmi:call-' || (n / 5), now()::text, n, n FROM generate_series(1, 3000) AS n`,
    );
    // a session reports its changes to the statistics when it ends
    await writer.end();
    await waitUntil(async () => (await changed('deliveries')) >= 3000, () => 'the inserts never reached the statistics');

    assert.deepEqual(await store.refreshStatistics(), ['deliveries']);
    assert.equal(await relation('deliveries'), 3000);
    assert.equal(await relation('deliveries_fresh'), 3000);
    // a young table is sampled lightly: a histogram of 10 buckets, not the default 100
    const bounds = await client.query<{ n: number }>("SELECT array_length(histogram_bounds::text::text[], 1) AS n FROM pg_stats WHERE tablename = 'deliveries' AND attname = 'created_ms'");
    assert.equal(bounds.rows[0]?.n, 11);
    // nothing changed since: nothing to analyze
    assert.deepEqual(await store.refreshStatistics(), []);
  });
});
