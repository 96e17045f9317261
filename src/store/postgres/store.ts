import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Call } from '../../calls/call-schema.js';
import { syncQueue } from '../../calls/missed.js';
import {
  isStoreId,
  type CallQuery,
  type EventQuery,
  type IngestItem,
  type IngestResult,
  type Outcome,
  type Page,
  type ProjectionResult,
  type RequestQuery,
  type ResolveOutcome,
  type Row,
  type Sql,
  type Store,
  type StoredEvent,
  type StoredRequest,
  type StreamEntry,
} from '../port.js';
import {
  callFilters,
  callFromRow,
  eventFromRow,
  eventWithRawFromRow,
  page,
  requestFromRow,
  toWriteRow,
  whereClause,
  type EventRow,
  type FilterValue,
  type Filters,
  type RequestRow,
  type WriteRow,
} from '../rows.js';
import { DELIVERY_COLUMNS, eventItem, outboxRows, routesFromRows, TAKES_DELIVERIES } from '../../forward/routing.js';
import { migratePostgres } from './migrate.js';
import { dollars, PostgresProjection, STREAM_CHANNEL } from './projection.js';

/** The routes (ROUTES_QUERY's rows) as one JSON array: an uncorrelated subquery, evaluated once per statement. */
const ROUTES_JSON = `SELECT json_agg(json_build_object('id', id, 'kinds', kinds, 'filters', filters) ORDER BY id)::text FROM destinations WHERE ${TAKES_DELIVERIES}`;

/** Alert changes, announced to the other instances' streams. */
const ALERT_CHANNEL = 'callhook_alerts';

/**
 * A batch's deliveries as one statement of twelve arrays: its text is the same for every batch,
 * while a multi-row VALUES of a few hundred rows is parsed and planned anew each time, which on
 * PostgreSQL cost ingest more than the rows themselves.
 */
const DELIVERY_TYPES: Record<(typeof DELIVERY_COLUMNS)[number], string> = {
  destination_id: 'bigint', kind: 'text', order_key: 'text', message_id: 'text', message_at: 'text', event_id: 'bigint',
  alert_id: 'bigint', alert_state: 'text', payload: 'text', replay: 'smallint', next_attempt_ms: 'bigint', created_ms: 'bigint',
};
const REQUESTS_INSERT = `INSERT INTO requests (id, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id, kind)
  SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::bigint[], $15::text[])`;
/** The requests and the batch's outbox rows in one statement: deliveries cost ingest no round trip of their own. */
const REQUESTS_AND_OUTBOX_INSERT = `WITH queued AS (INSERT INTO deliveries (${DELIVERY_COLUMNS.join(', ')})
  SELECT * FROM unnest(${DELIVERY_COLUMNS.map((c, i) => `$${i + 16}::${DELIVERY_TYPES[c]}[]`).join(', ')})) ${REQUESTS_INSERT}`;

export interface PostgresOptions {
  /** Called with errors that are not fatal: of idle connections (the database went away), of keeping statistics. */
  onPoolError?: (err: Error) => void;
  poolSize?: number;
  /** How often the watched tables' statistics are checked (refreshStatistics); 0 never. */
  statisticsCheckMs?: number;
}

/**
 * Tables that grow fast enough to outrun the planner's statistics. Created empty, their indexes'
 * statistics say "empty" until the first ANALYZE, which autovacuum runs only on its next round (a
 * minute apart by default), and then after 10% more rows. Meanwhile the planner can pick the wrong
 * index: with 13,000 deliveries queued on a new database, finding each call's next delivery walked
 * every pending row, one claim took 460 ms instead of 0.4 ms, and a backlog drained at 130
 * deliveries/s instead of 1,000 per destination.
 */
const KEPT_ANALYZED = ['deliveries', 'events', 'calls'];
/** A watched table is analyzed once this many rows and a fifth of what the planner believes it holds have changed. */
const ANALYZE_AFTER_CHANGES = 1000;
const ANALYZE_AFTER_SHARE = 0.2;
const STATISTICS_CHECK_MS = 2000;
/**
 * Below this many rows a table is analyzed with a sample of 3,000 rows (statistics target 10)
 * instead of 30,000: while a table grows from empty it is analyzed every few seconds, and the full
 * sample cost ingest 100–200 ms of PostgreSQL CPU each time on the events table. The plans that
 * go wrong on a young table need its size, which any sample gives; past this size autovacuum's
 * own threshold (a tenth of the table) comes first, and it samples in full.
 */
const SMALL_TABLE_ROWS = 100_000;
const SMALL_TABLE_STATISTICS_TARGET = 10;
/** PostgreSQL's SQLSTATE for lock_timeout: autovacuum or another instance is analyzing that table. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * PostgreSQL, shared by any number of callhook instances. A batch is one transaction; its commit
 * returns after the WAL is flushed (synchronous_commit on, the default). The unique dedup key
 * makes a redelivery a duplicate whichever instance receives it.
 */
export class PostgresStore implements Store {
  /** Batches commit on connections of their own; the rest of the pool serves reads. */
  readonly concurrentBatches = 4;
  /** Stitching takes a lock shared by all instances: it runs apart, so ingest never waits on it. */
  readonly stitchesOnIngest = false;
  /** Tells this instance's own announcements apart from other instances'. */
  private readonly instance = randomUUID();
  private readonly statistics: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    onError: (err: Error) => void,
    checkMs: number,
  ) {
    if (checkMs <= 0) return;
    this.statistics = setInterval(() => {
      this.refreshing ??= this.refreshStatistics().then(
        () => void (this.refreshing = null),
        (err: Error) => {
          this.refreshing = null;
          onError(err);
        },
      );
    }, checkMs).unref();
  }

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
    return new PostgresStore(pool, url, (err) => options.onPoolError?.(err), options.statisticsCheckMs ?? STATISTICS_CHECK_MS);
  }

  /**
   * Analyzes each watched table in which ANALYZE_AFTER_CHANGES rows and ANALYZE_AFTER_SHARE of
   * what the planner believes it holds have changed: what autovacuum would do later. Gives up on a table
   * another session is analyzing or vacuuming. Returns the tables analyzed.
   */
  async refreshStatistics(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string; rows: number }>(
      `SELECT s.relname AS name, greatest(c.reltuples, 0)::float8 AS rows FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE s.relid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t) AND s.n_mod_since_analyze > $2 + $3 * greatest(c.reltuples, 0)`,
      [KEPT_ANALYZED, ANALYZE_AFTER_CHANGES, ANALYZE_AFTER_SHARE],
    );
    const analyzed: string[] = [];
    for (const { name, rows: size } of rows) {
      // the identifier put into ANALYZE is this module's own constant, never text read back
      const table = KEPT_ANALYZED.find((t) => t === name);
      if (!table) continue;
      try {
        await this.transaction(async (client) => {
          await client.query("SET LOCAL lock_timeout = '200ms'");
          if (size < SMALL_TABLE_ROWS) await client.query(`SET LOCAL default_statistics_target = ${SMALL_TABLE_STATISTICS_TARGET}`);
          await client.query(`ANALYZE ${table}`);
        });
        analyzed.push(table);
      } catch (err) {
        if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
      }
    }
    return analyzed;
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    const rows = batch.map(toWriteRow);
    // one row per dedup key; sorted, so that concurrent batches take the keys' locks in one order
    const byKey = new Map<string, number[]>();
    rows.forEach((r, i) => {
      if (r.event) byKey.set(r.event.dedup_key, [...(byKey.get(r.event.dedup_key) ?? []), i]);
    });
    const keys = [...byKey.keys()].sort();
    return this.transaction(async (client) => {
      const ids = (await client.query<{ id: string }>("SELECT nextval('callhook_ids')::text AS id FROM generate_series(1, $1)", [rows.length + keys.length])).rows.map((r) => r.id);
      const eventIds = ids.slice(rows.length);
      const events = keys.map((key, k) => {
        const copies = byKey.get(key) as number[];
        const index = copies[0] as number;
        const row = rows[index] as WriteRow & { event: NonNullable<WriteRow['event']> };
        // the parsed event, for routing: its stored JSON need not be parsed again
        const fields = (batch[index] as IngestItem & { event: NonNullable<IngestItem['event']> }).event.event;
        return { id: eventIds[k] as string, index, row, fields, copies: copies.length };
      });
      const stored = new Map<string, { id: string; inserted: boolean }>();
      let deliveries: ReturnType<typeof outboxRows> = [];
      if (events.length > 0) {
        const res = await client.query<{ id: string; dedup_key: string; inserted: boolean; routes: string | null }>(
          `INSERT INTO events (id, dedup_key, received_at, platform, kind, redeliveries, data, raw, call_uuid, conversation_uuid)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[])
           ON CONFLICT (dedup_key) DO UPDATE SET redeliveries = events.redeliveries + excluded.redeliveries + 1
           RETURNING id::text, dedup_key, (xmax = 0) AS inserted, (${ROUTES_JSON}) AS routes`,
          [
            events.map((e) => e.id),
            events.map((e) => e.row.event.dedup_key),
            events.map((e) => e.row.received_at),
            events.map((e) => e.row.event.platform),
            events.map((e) => e.row.event.kind),
            events.map((e) => e.copies - 1),
            events.map((e) => e.row.event.data),
            events.map((e) => e.row.event.raw),
            events.map((e) => e.row.event.call_uuid),
            events.map((e) => e.row.event.conversation_uuid),
          ],
        );
        for (const r of res.rows) stored.set(r.dedup_key, { id: r.id, inserted: r.inserted });
        // the outbox is written with the events it delivers: an acknowledged event is never lost to forwarding
        // in the order they arrived, not the key order the inserts lock in
        const inserted = events.filter((e) => stored.get(e.row.event.dedup_key)?.inserted === true).sort((a, b) => a.index - b.index);
        // the insert returns the routes (read once, in this transaction); the deliveries go in with
        // the requests, so a batch makes the same round trips with destinations as without
        const routes = res.rows[0]?.routes;
        if (inserted.length > 0 && routes) {
          const items = inserted.map((e) => eventItem(e.fields, (stored.get(e.row.event.dedup_key) as { id: string }).id, e.row.received_at));
          deliveries = outboxRows(routesFromRows(JSON.parse(routes) as Row[]), items, Date.now());
        }
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
      const outbox = deliveries.length === 0 ? [] : DELIVERY_COLUMNS.map((_, c) => deliveries.map((d) => d[c]));
      await client.query(deliveries.length > 0 ? REQUESTS_AND_OUTBOX_INSERT : REQUESTS_INSERT, [
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
        ...outbox,
      ]);
      return results;
    });
  }

  /**
   * Runs `fn` in one transaction on a connection of its own, committed when it resolves. A
   * deadlock (an ingest bumping a redelivery count while a projection updates the same event)
   * or a serialization failure is tried again: PostgreSQL rolled it back whole.
   */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw err;
        await new Promise((r) => setTimeout(r, attempt * 5 + Math.random() * 10));
      }
    }
  }

  private async transactionOnce<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client whose connection dies emits 'error' (the pool listens only to idle
    // ones); unheard, that would end the process. The query in progress rejects as well.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // a connection that cannot even roll back is not fit for the pool
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken ??= rollbackError));
      throw err;
    } finally {
      client.off('error', onError);
      // a connection that failed is dropped, not given back to the pool
      client.release(broken);
    }
  }

  project(limit: number): Promise<ProjectionResult> {
    return this.transaction(async (client) => {
      await PostgresProjection.lock(client);
      return new PostgresProjection(client).project(limit);
    });
  }

  rebuildCalls(): Promise<number> {
    return this.transaction(async (client) => {
      await PostgresProjection.lock(client);
      return new PostgresProjection(client).rebuild();
    });
  }

  closeStaleCalls(before: string): Promise<Call[]> {
    return this.transaction(async (client) => {
      await PostgresProjection.lock(client);
      return new PostgresProjection(client).closeStale(before);
    });
  }

  async listCalls(q: CallQuery): Promise<Call[]> {
    if (q.number !== undefined) return this.listCallsByNumber(q, q.number);
    const { clause, values } = numbered(callFilters(q, NUMBER_PREFIX));
    const res = await this.pool.query<{ data: string }>(`SELECT data FROM calls ${clause} ORDER BY started_at DESC, id DESC LIMIT $${values.length + 1}`, [...values, q.limit]);
    return res.rows.map(callFromRow);
  }

  /**
   * A number search finds its few calls through the number indexes first. Left to itself the
   * planner walks the started_at index from the newest call and filters, which reads most of the
   * table when the matches are spread over a year.
   */
  private async listCallsByNumber(q: CallQuery, digits: string): Promise<Call[]> {
    const { clause, values } = numbered(callFilters({ ...q, number: undefined }, NUMBER_PREFIX));
    const n = values.length;
    const res = await this.pool.query<{ data: string }>(
      `WITH matches AS MATERIALIZED (
         SELECT id FROM calls WHERE from_number LIKE $${n + 1} UNION SELECT id FROM calls WHERE to_number LIKE $${n + 1})
       SELECT data FROM calls WHERE id IN (SELECT id FROM matches) ${clause ? `AND ${clause.slice('WHERE '.length)}` : ''}
       ORDER BY started_at DESC, id DESC LIMIT $${n + 2}`,
      [...values, NUMBER_PREFIX.pattern(digits), q.limit],
    );
    return res.rows.map(callFromRow);
  }

  async getCall(id: string): Promise<(Call & { events: (StoredEvent & { raw: Record<string, unknown> })[] }) | null> {
    const row = (await this.pool.query<{ data: string }>('SELECT data FROM calls WHERE id = $1', [id])).rows[0];
    if (!row) return null;
    const events = await this.pool.query<EventRow>('SELECT id::text, received_at, redeliveries, data, raw FROM events WHERE call_key = $1 ORDER BY events.id', [id]);
    return { ...callFromRow(row), events: events.rows.map(eventWithRawFromRow) };
  }

  async liveCalls(): Promise<Call[]> {
    const res = await this.pool.query<{ data: string }>("SELECT data FROM calls WHERE status IN ('waiting', 'ringing', 'in_progress') ORDER BY started_at");
    return res.rows.map(callFromRow);
  }

  async streamAfter(after: string | null, limit: number): Promise<StreamEntry[]> {
    const res = await this.pool.query<EventRow & { stream_seq: string; call: string | null }>(
      `SELECT e.id::text, e.received_at, e.redeliveries, e.data, e.stream_seq::text, c.data AS call FROM events e LEFT JOIN calls c ON c.id = e.call_key
       WHERE e.stream_seq > $1 ORDER BY e.stream_seq LIMIT $2`,
      [after ?? '0', limit],
    );
    return res.rows.map((r) => ({ seq: r.stream_seq, event: eventFromRow(r), call: r.call === null ? null : callFromRow({ data: r.call }) }));
  }

  async streamPositionOf(eventId: string): Promise<string | null> {
    if (!isStoreId(eventId)) return null;
    const res = await this.pool.query<{ seq: string | null }>('SELECT stream_seq::text AS seq FROM events WHERE id = $1', [eventId]);
    return res.rows[0]?.seq ?? null;
  }

  async streamHead(): Promise<string | null> {
    return (await this.pool.query<{ seq: string | null }>('SELECT max(stream_seq)::text AS seq FROM events')).rows[0]?.seq ?? null;
  }

  /** Every projection, on any instance, notifies; after a lost connection the listener is called, since one may have been missed. */
  onStreamAdvance(listener: () => void): Promise<() => Promise<void>> {
    return this.listen(STREAM_CHANNEL, () => listener(), listener);
  }

  /** After the alert change is committed: its id, with this instance's, so that it skips its own. */
  async announceAlert(id: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [ALERT_CHANNEL, `${this.instance}:${id}`]);
  }

  onAlertAnnounced(listener: (id: string) => void): Promise<() => Promise<void>> {
    return this.listen(ALERT_CHANNEL, (payload) => {
      const [from, id] = payload.split(':');
      if (from !== this.instance && id !== undefined && isStoreId(id)) listener(id);
    });
  }

  /**
   * LISTEN on a connection of its own, opened again when it is lost; `reconnected` is called each
   * time it listens again.
   */
  private async listen(channel: string, onMessage: (payload: string) => void, reconnected?: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let stopped = false;
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client({ connectionString: this.url });
      c.on('notification', (n) => onMessage(n.payload ?? ''));
      c.on('error', () => {
        c.end().catch(() => undefined);
        if (client === c) client = null;
        setTimeout(() => void connect().catch(() => undefined), 1000).unref();
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
        client = c;
        reconnected?.();
      } catch {
        await c.end().catch(() => undefined);
        setTimeout(() => void connect().catch(() => undefined), 1000).unref();
      }
    };
    await connect();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
    };
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

  read(queries: readonly Sql[]): Promise<Row[][]> {
    // one statement is its own snapshot: no transaction, one round trip instead of four
    const [only] = queries;
    if (queries.length === 1 && only) return this.pool.query(dollars(only.sql), only.params).then((res) => [res.rows as Row[]]);
    return this.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out: Row[][] = [];
      for (const q of queries) out.push((await client.query(dollars(q.sql), q.params)).rows as Row[]);
      return out;
    });
  }

  write(statements: readonly Sql[], options: { exclusive?: string } = {}): Promise<Row[][]> {
    return this.transaction(async (client) => {
      if (options.exclusive !== undefined) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [options.exclusive]);
      const out: Row[][] = [];
      for (const s of statements) out.push((await client.query(dollars(s.sql), s.params)).rows as Row[]);
      return out;
    });
  }

  /** Under the projection lock: the queue of a number is derived by one transaction at a time. */
  resolveMissed(itemId: string, at: string, note: string | null): Promise<ResolveOutcome> {
    return this.transaction(async (client) => {
      await PostgresProjection.lock(client);
      const item = (await client.query<{ number: string; first_missed_at: string; state: string }>('SELECT number, first_missed_at, state FROM missed_items WHERE id = $1', [itemId])).rows[0];
      if (!item) return 'not_found';
      if (item.state !== 'open') return 'already_resolved';
      await client.query('INSERT INTO missed_resolutions (number, resolved_at, note) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [item.number, at, note]);
      await new PostgresProjection(client).drive(syncQueue({ touch: [{ number: item.number, since: item.first_missed_at }] }));
      return 'resolved';
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    clearInterval(this.statistics);
    await this.refreshing;
    await this.pool.end();
  }
}

// ids are read as text (bigint exceeds what a JS number holds exactly); ORDER BY names the table's
// column, since a bare "id" there would be this text and sort '9' after '10'
const REQUEST_COLUMNS = 'id::text, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id::text, kind';

function pageFilters(q: { since?: string | undefined; until?: string | undefined; before?: string | undefined }): Filters {
  return { since: ['received_at >=', q.since], until: ['received_at <', q.until], before: ['id <', q.before] };
}

/** LIKE on a prefix uses the text_pattern_ops indexes; numbers are digits (the API checks). */
const NUMBER_PREFIX = { condition: '(from_number LIKE {} OR to_number LIKE {})', pattern: (digits: string) => `${digits}%` };

function numbered(filters: Filters): { clause: string; values: FilterValue[] } {
  const { clause, values } = whereClause(filters, (_name, index) => `$${index}`);
  return { clause, values: values.map(([, v]) => v) };
}
