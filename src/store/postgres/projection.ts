import type pg from 'pg';
import type { Call } from '../../calls/call-schema.js';
import { resolveKeys } from '../../calls/derive.js';
import { keysAfter, planProjection, type KeyedEvent, type ProjectionPlan } from '../../calls/projection.js';
import { syncQueue } from '../../calls/missed.js';
import { callItem, queueOutbox } from '../../forward/routing.js';
import type { ProjectionResult, Row, Sql } from '../port.js';
import { keyedEventsFromRows, pgCallArrays, upsertCallsSql, type EventRow } from '../rows.js';

type KeyedRow = EventRow & { call_key: string | null };

const EVENT_COLUMNS = 'id::text, received_at, redeliveries, data, call_key';
/** Held for the length of a projection transaction: one projection at a time, across instances. */
const PROJECTION_LOCK = 7_301_225_302;
export const STREAM_CHANNEL = 'callhook_stream';

/**
 * Stitching events into calls on PostgreSQL: the pure plan (src/calls/projection.ts) between
 * reading the events it needs and writing what it changes. Stream positions are given under the
 * projection lock, so they grow in commit order and a reader that follows them misses nothing.
 */
export class PostgresProjection {
  constructor(private readonly client: pg.PoolClient) {}

  static lock(client: pg.PoolClient): Promise<unknown> {
    return client.query('SELECT pg_advisory_xact_lock($1)', [PROJECTION_LOCK]);
  }

  async project(limit: number): Promise<ProjectionResult> {
    const pending = (await this.client.query<KeyedRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_seq IS NULL ORDER BY id LIMIT $1`, [limit])).rows;
    if (pending.length === 0) return { projected: 0, done: true };
    // a pending event's key is written with its position: one new version of its row, not two
    // (each version of a wide events row is copied whole and indexed again)
    const plan = await this.apply(pending, new Set(pending.map((row) => String(row.id))));
    await this.queueCalls(plan.calls);
    const head = Number((await this.client.query<{ seq: string }>('SELECT coalesce(max(stream_seq), 0)::text AS seq FROM events')).rows[0]?.seq ?? 0);
    const seqs = pending.map((_, i) => String(head + i + 1));
    await this.client.query('UPDATE events SET stream_seq = s.seq, call_key = s.key FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS s(id, seq, key) WHERE events.id = s.id', [
      pending.map((r) => r.id),
      seqs,
      keysAfter(plan, pending),
    ]);
    await this.client.query('SELECT pg_notify($1, $2)', [STREAM_CHANNEL, seqs[seqs.length - 1]]);
    return { projected: pending.length, done: pending.length < limit };
  }

  async rebuild(): Promise<number> {
    await this.client.query('DELETE FROM calls');
    await this.client.query('DELETE FROM missed_calls');
    await this.client.query('DELETE FROM missed_items');
    await this.client.query('UPDATE events SET call_key = NULL');
    let last = '0';
    for (;;) {
      const chunk = (await this.client.query<KeyedRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT 2000`, [last])).rows;
      if (chunk.length === 0) break;
      await this.apply(chunk);
      last = String(chunk[chunk.length - 1]?.id);
    }
    return Number((await this.client.query<{ n: string }>('SELECT count(*)::text AS n FROM calls')).rows[0]?.n ?? 0);
  }

  async closeStale(before: string): Promise<Call[]> {
    const rows = (
      await this.client.query<{ data: string }>(
        "SELECT data FROM calls WHERE status IN ('waiting', 'ringing', 'in_progress') AND coalesce(last_event_at, started_at) < $1 FOR UPDATE",
        [before],
      )
    ).rows;
    const closed = rows.map((r) => ({ ...(JSON.parse(r.data) as Call), status: 'ended' as const, stale: true }));
    await this.upsert(closed);
    await this.queueCalls(closed);
    return closed;
  }

  /** call.updated for the destinations that take it, in this transaction. */
  private async queueCalls(calls: readonly Call[]): Promise<void> {
    if (calls.length === 0) return;
    const now = Date.now();
    const at = new Date(now).toISOString();
    await this.drive(queueOutbox(() => calls.map((c) => callItem(c, at)), now));
  }

  /** Stitches `batch`; the new keys of the events in `keyedByCaller` are left for the caller to write. */
  private async apply(batch: KeyedRow[], keyedByCaller: ReadonlySet<string> = new Set()): Promise<ProjectionPlan> {
    const parsed = new Map<string, KeyedEvent>();
    const keyed = (rows: KeyedRow[]) => keyedEventsFromRows(parsed, rows);
    const ids = new Set<string>();
    for (const e of keyed(batch)) {
      if (e.call_uuid) ids.add(e.call_uuid);
      if (e.conversation_uuid) ids.add(e.conversation_uuid);
    }
    const near = (await this.client.query<KeyedRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE call_uuid = ANY($1) OR conversation_uuid = ANY($1)`, [[...ids]])).rows;
    const connected = keyed([...batch, ...near]);
    const keys = new Set<string>(resolveKeys(connected).values());
    for (const e of connected) if (e.call_key) keys.add(e.call_key);
    const members = keyed((await this.client.query<KeyedRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE call_key = ANY($1)`, [[...keys]])).rows);
    const plan = planProjection(connected, members);
    const rekeyed = plan.keys.filter((k) => !keyedByCaller.has(k.id));
    if (rekeyed.length > 0) {
      await this.client.query('UPDATE events SET call_key = k.key FROM unnest($1::bigint[], $2::text[]) AS k(id, key) WHERE events.id = k.id', [
        rekeyed.map((k) => k.id),
        rekeyed.map((k) => k.call_key),
      ]);
    }
    await this.upsert(plan.calls);
    if (plan.deleted.length > 0) await this.client.query('DELETE FROM calls WHERE id = ANY($1)', [plan.deleted]);
    await this.drive(syncQueue({ changed: plan.calls, deleted: plan.deleted }));
    return plan;
  }

  /** Runs the queue's reads and then its writes, in this transaction. */
  async drive(sync: Generator<Sql, Sql[], Row[]>): Promise<void> {
    let step = sync.next([]);
    while (!step.done) step = sync.next((await this.client.query(dollars(step.value.sql), step.value.params)).rows as Row[]);
    for (const w of step.value) await this.client.query(dollars(w.sql), w.params);
  }

  private async upsert(calls: Call[]): Promise<void> {
    if (calls.length === 0) return;
    const { sql, params } = pgCallArrays(calls);
    await this.client.query(upsertCallsSql(sql), params);
  }
}

/** The portable `?` placeholders as PostgreSQL's $1, $2, … (the shared SQL has no other question marks). */
export function dollars(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

