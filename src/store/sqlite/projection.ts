import type Database from 'better-sqlite3';
import type { Call } from '../../calls/call-schema.js';
import { resolveKeys } from '../../calls/derive.js';
import { keysAfter, planProjection, type KeyedEvent, type ProjectionPlan } from '../../calls/projection.js';
import { syncQueue } from '../../calls/missed.js';
import { callItem, queueOutbox } from '../../forward/routing.js';
import type { ProjectionResult, ResolveOutcome, Row, Sql } from '../port.js';
import { CALL_TABLE_COLUMNS, callColumns, keyedEventsFromRows, SQLITE_CALL_VALUES, type EventRow } from '../rows.js';

type KeyedRow = EventRow & { call_key: string | null };

const EVENT_COLUMNS = 'id, received_at, redeliveries, data, call_key';

/**
 * Stitching events into calls, on the writer thread: the pure plan (src/calls/projection.ts)
 * between reading the events it needs and writing what it changes.
 */
export class SqliteProjection {
  private readonly pending: Database.Statement;
  private readonly after: Database.Statement;
  private readonly connected: Database.Statement;
  private readonly members: Database.Statement;
  private readonly setKey: Database.Statement;
  private readonly setPosition: Database.Statement;
  private readonly maxSeq: Database.Statement;
  private readonly insertCall: Database.Statement;
  private readonly indexedOf: Database.Statement;
  /** The calls table's columns that some index reads (in its key or its WHERE clause), and the rest. */
  private readonly indexed: readonly string[];
  private readonly unindexed: readonly string[];
  private readonly remove: Database.Statement;
  /** The queue's and the stores' statements, prepared once: preparing one costs more than running it. */
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.pending = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_seq IS NULL ORDER BY id LIMIT ?`);
    this.after = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?`);
    this.connected = db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE call_uuid IN (SELECT value FROM json_each(@ids)) OR conversation_uuid IN (SELECT value FROM json_each(@ids))`,
    );
    this.members = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE call_key IN (SELECT value FROM json_each(?))`);
    this.setKey = db.prepare('UPDATE events SET call_key = ? WHERE id = ?');
    this.setPosition = db.prepare('UPDATE events SET stream_seq = ?, call_key = ? WHERE id = ?');
    this.maxSeq = db.prepare('SELECT coalesce(max(stream_seq), 0) FROM events').pluck();
    const columns = CALL_TABLE_COLUMNS.map(([n]) => n).filter((n) => n !== 'id');
    const indexes = (db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL").pluck().all() as string[]).join('\n');
    this.indexed = columns.filter((n) => new RegExp(`\\b${n}\\b`).test(indexes));
    this.unindexed = columns.filter((n) => !this.indexed.includes(n));
    this.insertCall = db.prepare(`INSERT INTO calls (${CALL_TABLE_COLUMNS.map(([n]) => n).join(', ')}) ${SQLITE_CALL_VALUES}`);
    this.indexedOf = db.prepare(`SELECT ${this.indexed.join(', ') || 'id'} FROM calls WHERE id = ?`);
    this.remove = db.prepare('DELETE FROM calls WHERE id = ?');
  }

  /** Projects the oldest pending events and gives them the next stream positions. */
  project(limit: number): ProjectionResult {
    const pending = this.pending.all(limit) as KeyedRow[];
    if (pending.length === 0) return { projected: 0, done: true };
    // a pending event's key is written with its position: one row update, not two
    const plan = this.apply(pending, new Set(pending.map((row) => String(row.id))));
    this.queueCalls(plan.calls);
    const keys = keysAfter(plan, pending);
    let seq = this.maxSeq.get() as number;
    pending.forEach((row, i) => this.setPosition.run(++seq, keys[i], row.id));
    return { projected: pending.length, done: pending.length < limit };
  }

  /** Derives every call again, walking the events in id order. */
  rebuild(): number {
    this.db.prepare('DELETE FROM calls').run();
    this.db.prepare('DELETE FROM missed_calls').run();
    this.db.prepare('DELETE FROM missed_items').run();
    this.db.prepare('UPDATE events SET call_key = NULL').run();
    let last = 0;
    for (;;) {
      const chunk = this.after.all(last, 2000) as KeyedRow[];
      if (chunk.length === 0) break;
      this.apply(chunk);
      last = Number(chunk[chunk.length - 1]?.id);
    }
    return this.db.prepare('SELECT count(*) FROM calls').pluck().get() as number;
  }

  closeStale(before: string): Call[] {
    const rows = this.db
      .prepare("SELECT data FROM calls WHERE status IN ('waiting', 'ringing', 'in_progress') AND coalesce(last_event_at, started_at) < ?")
      .pluck()
      .all(before) as string[];
    const closed = rows.map((data) => ({ ...(JSON.parse(data) as Call), status: 'ended' as const, stale: true }));
    for (const call of closed) this.writeCall(call);
    this.queueCalls(closed);
    return closed;
  }

  /** call.updated for the destinations that take it, in this transaction. */
  private queueCalls(calls: readonly Call[]): void {
    if (calls.length === 0) return;
    const now = Date.now();
    const at = new Date(now).toISOString();
    this.drive(queueOutbox(() => calls.map((c) => callItem(c, at)), now));
  }

  /** Stitches `batch`; the new keys of the events in `keyedByCaller` are left for the caller to write. */
  private apply(batch: KeyedRow[], keyedByCaller: ReadonlySet<string> = new Set()): ProjectionPlan {
    const parsed = new Map<string, KeyedEvent>();
    const keyed = (rows: KeyedRow[]) => keyedEventsFromRows(parsed, rows);
    const ids = new Set<string>();
    for (const e of keyed(batch)) {
      if (e.call_uuid) ids.add(e.call_uuid);
      if (e.conversation_uuid) ids.add(e.conversation_uuid);
    }
    const connected = keyed([...batch, ...(this.connected.all({ ids: JSON.stringify([...ids]) }) as KeyedRow[])]);
    const keys = new Set<string>(resolveKeys(connected).values());
    for (const e of connected) if (e.call_key) keys.add(e.call_key);
    // events already keyed to these calls that are not connected yet: only those need reading
    const members = keys.size === 0 ? [] : keyed(this.members.all(JSON.stringify([...keys])) as KeyedRow[]);
    const plan = planProjection(connected, members);
    for (const k of plan.keys) if (!keyedByCaller.has(k.id)) this.setKey.run(k.call_key, k.id);
    for (const call of plan.calls) this.writeCall(call);
    for (const id of plan.deleted) this.remove.run(id);
    this.drive(syncQueue({ changed: plan.calls, deleted: plan.deleted }));
    return plan;
  }

  /**
   * Inserts a call, or updates it setting only the indexed columns whose values changed: SQLite
   * rewrites the entry of every index that reads a column in the SET list, changed or not. With
   * every column set, each event of a call dirtied a page of each of the calls table's seven
   * indexes, a fifth of what an ingest commit wrote.
   */
  private writeCall(call: Call): void {
    const row = callColumns(call, (b) => (b ? 1 : 0));
    const old = this.indexedOf.get(call.id) as Record<string, unknown> | undefined;
    if (!old) {
      this.insertCall.run(row);
      return;
    }
    const values = row as Record<string, unknown>;
    const set = [...this.unindexed, ...this.indexed.filter((n) => old[n] !== values[n])];
    this.prepared(`UPDATE calls SET ${set.map((n) => `${n} = @${n}`).join(', ')} WHERE id = @id`).run(row);
  }

  /** Runs the queue's reads and then its writes, in the caller's transaction. */
  drive(sync: Generator<Sql, Sql[], Row[]>): void {
    let step = sync.next([]);
    while (!step.done) step = sync.next(this.prepared(step.value.sql).all(...step.value.params) as Row[]);
    for (const w of step.value) this.prepared(w.sql).run(...w.params);
  }

  private prepared(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (!st) {
      if (this.cache.size >= 500) this.cache.delete(this.cache.keys().next().value as string);
      st = this.db.prepare(sql);
      this.cache.set(sql, st);
    }
    return st;
  }

  /** A manual resolution of an open callback item, and its number's queue derived again. */
  resolveMissed(itemId: string, at: string, note: string | null): ResolveOutcome {
    const item = this.db.prepare('SELECT number, first_missed_at, state FROM missed_items WHERE id = ?').get(itemId) as Row | undefined;
    if (!item) return 'not_found';
    if (item['state'] !== 'open') return 'already_resolved';
    this.db.prepare('INSERT INTO missed_resolutions (number, resolved_at, note) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(item['number'], at, note);
    this.drive(syncQueue({ touch: [{ number: String(item['number']), since: String(item['first_missed_at']) }] }));
    return 'resolved';
  }

  /** Statements of the write port, each giving the rows it returns. */
  statements(list: readonly Sql[]): Row[][] {
    return list.map((s) => {
      const st = this.prepared(s.sql);
      if (st.reader) return st.all(...s.params) as Row[];
      st.run(...s.params);
      return [];
    });
  }
}
