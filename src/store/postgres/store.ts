import pg from 'pg';
import { isStoreId, type EventQuery, type IngestItem, type IngestResult, type Outcome, type Page, type RequestQuery, type Store, type StoredEvent, type StoredRequest } from '../port.js';
import { eventFromRow, eventWithRawFromRow, page, requestFromRow, toWriteRow, whereClause, type EventRow, type Filters, type RequestRow, type WriteRow } from '../rows.js';
import { migratePostgres } from './migrate.js';

export interface PostgresOptions {
  /** Called with errors of idle connections (the database went away); they are not fatal. */
  onPoolError?: (err: Error) => void;
  poolSize?: number;
}

/**
 * PostgreSQL, shared by any number of callhook instances. A batch is one transaction; its commit
 * returns after the WAL is flushed (synchronous_commit on, the default). The unique dedup key
 * makes a redelivery a duplicate whichever instance receives it.
 */
export class PostgresStore implements Store {
  /** Batches commit on connections of their own; the rest of the pool serves reads. */
  readonly concurrentBatches = 4;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      // a cut-off database must not hold webhooks for long: they get 503 and are delivered again
      query_timeout: 10_000,
      idleTimeoutMillis: 30_000,
    });
    pool.on('error', (err) => options.onPoolError?.(err));
    try {
      await migratePostgres(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pool);
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    const rows = batch.map(toWriteRow);
    // one row per dedup key; sorted, so that concurrent batches take the keys' locks in one order
    const byKey = new Map<string, number[]>();
    rows.forEach((r, i) => {
      if (r.event) byKey.set(r.event.dedup_key, [...(byKey.get(r.event.dedup_key) ?? []), i]);
    });
    const keys = [...byKey.keys()].sort();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose connection dies emits 'error' (the pool listens only to idle
    // ones); unheard, that would end the process. The query in progress rejects as well.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const ids = (await client.query<{ id: string }>("SELECT nextval('callhook_ids')::text AS id FROM generate_series(1, $1)", [rows.length + keys.length])).rows.map((r) => r.id);
      const eventIds = ids.slice(rows.length);
      const events = keys.map((key, k) => ({ id: eventIds[k] as string, row: rows[(byKey.get(key) as number[])[0] as number] as WriteRow & { event: NonNullable<WriteRow['event']> }, copies: (byKey.get(key) as number[]).length }));
      const stored = new Map<string, { id: string; inserted: boolean }>();
      if (events.length > 0) {
        const res = await client.query<{ id: string; dedup_key: string; inserted: boolean }>(
          `INSERT INTO events (id, dedup_key, received_at, platform, kind, redeliveries, data, raw)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[])
           ON CONFLICT (dedup_key) DO UPDATE SET redeliveries = events.redeliveries + excluded.redeliveries + 1
           RETURNING id::text, dedup_key, (xmax = 0) AS inserted`,
          [
            events.map((e) => e.id),
            events.map((e) => e.row.event.dedup_key),
            events.map((e) => e.row.received_at),
            events.map((e) => e.row.event.platform),
            events.map((e) => e.row.event.kind),
            events.map((e) => e.copies - 1),
            events.map((e) => e.row.event.data),
            events.map((e) => e.row.event.raw),
          ],
        );
        for (const r of res.rows) stored.set(r.dedup_key, { id: r.id, inserted: r.inserted });
      }
      const seen = new Set<string>();
      const results: IngestResult[] = rows.map((r, i) => {
        if (!r.event) return { outcome: 'rejected', request_id: ids[i] as string, event_id: null };
        const s = stored.get(r.event.dedup_key) as { id: string; inserted: boolean };
        const first = !seen.has(r.event.dedup_key);
        seen.add(r.event.dedup_key);
        const outcome: Outcome = s.inserted && first ? 'accepted' : 'duplicate';
        return { outcome, request_id: ids[i] as string, event_id: s.id };
      });
      await client.query(
        `INSERT INTO requests (id, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id, kind)
         SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::bigint[], $15::text[])`,
        [
          results.map((r) => r.request_id),
          rows.map((r) => r.received_at),
          rows.map((r) => r.method),
          rows.map((r) => r.path),
          rows.map((r) => r.query),
          rows.map((r) => r.headers),
          rows.map((r) => r.content_type),
          rows.map((r) => (r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : null)),
          rows.map((r) => r.remote_addr),
          results.map((r) => r.outcome),
          rows.map((r) => r.event?.status_code ?? r.rejection?.status ?? 400),
          rows.map((r) => r.rejection?.code ?? null),
          rows.map((r) => r.rejection?.message ?? null),
          results.map((r) => r.event_id),
          rows.map((r) => r.event?.kind ?? null),
        ],
      );
      await client.query('COMMIT');
      return results;
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // a connection that failed mid-transaction is dropped, not reused
      client.release(broken);
    }
  }

  async listEvents(q: EventQuery): Promise<Page<StoredEvent>> {
    const { clause, values } = numbered({ kind: ['kind =', q.kind], platform: ['platform =', q.platform], ...pageFilters(q) });
    const rows = await this.pool.query<EventRow>(`SELECT id::text, received_at, redeliveries, data FROM events ${clause} ORDER BY events.id DESC LIMIT $${values.length + 1}`, [...values, q.limit + 1]);
    return page(rows.rows.map(eventFromRow), q.limit);
  }

  async getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null> {
    if (!isStoreId(id)) return null;
    const res = await this.pool.query<EventRow>('SELECT id::text, received_at, redeliveries, data, raw FROM events WHERE id = $1', [id]);
    return res.rows[0] ? eventWithRawFromRow(res.rows[0]) : null;
  }

  async listRequests(q: RequestQuery): Promise<Page<StoredRequest>> {
    const { clause, values } = numbered({ outcome: ['outcome =', q.outcome], ...pageFilters(q) });
    const rows = await this.pool.query<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM requests ${clause} ORDER BY requests.id DESC LIMIT $${values.length + 1}`, [...values, q.limit + 1]);
    return page(rows.rows.map(requestFromRow), q.limit);
  }

  async getRequest(id: string): Promise<StoredRequest | null> {
    if (!isStoreId(id)) return null;
    const res = await this.pool.query<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM requests WHERE id = $1`, [id]);
    return res.rows[0] ? requestFromRow(res.rows[0]) : null;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ids are read as text (bigint exceeds what a JS number holds exactly); ORDER BY names the table's
// column, since a bare "id" there would be this text and sort '9' after '10'
const REQUEST_COLUMNS = 'id::text, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id::text, kind';

function pageFilters(q: { since?: string | undefined; until?: string | undefined; before?: string | undefined }): Filters {
  return { since: ['received_at >=', q.since], until: ['received_at <', q.until], before: ['id <', q.before] };
}

function numbered(filters: Filters): { clause: string; values: (string | number)[] } {
  const { clause, values } = whereClause(filters, (_name, index) => `$${index}`);
  return { clause, values: values.map(([, v]) => v) };
}
