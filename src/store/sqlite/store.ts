import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Call } from '../../calls/call-schema.js';
import {
  isStoreId,
  type CallQuery,
  type EventQuery,
  type IngestItem,
  type IngestResult,
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
import { idAtTime } from './ids.js';
import { migrateSqlite } from './migrate.js';
import { callFilters, callFromRow, eventFromRow, eventWithRawFromRow, page, requestFromRow, toWriteRow, whereClause, type EventRow, type Filters, type RequestRow } from '../rows.js';
import type { WriterRequest, WriterResponse } from './writer-worker.js';
import { openSqlite } from './writer.js';

/**
 * The writer thread's young generation, in MB; V8's default is 48 on 64-bit. Its objects live for
 * one batch, so a small one is collected as cheaply. Four interleaved loads: peak RSS 184–188 MB
 * against 195–212, throughput alike (medians 2,498 and 2,516 req/s).
 */
const WRITER_YOUNG_GENERATION_MB = 8;

/**
 * The writer thread. Built, it is writer-worker.js beside this file. From TypeScript source (the
 * tests run through tsx) it is the .ts file, and since Node 20 does not carry --import into worker
 * threads, a two-line bootstrap registers tsx in the thread first.
 */
function startWriter(file: string): Worker {
  const options = { workerData: { file }, resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./writer-worker.js', import.meta.url), options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./writer-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Embedded SQLite through better-sqlite3. Writes go to one writer thread (writer-worker.ts), in WAL
 * mode with synchronous=FULL; reads use this thread's own connection, which WAL lets read while the
 * writer commits.
 */
export class SqliteStore implements Store {
  /**
   * The writer thread takes batches one at a time; a second one waiting in its queue lets it start
   * the next as soon as a commit returns, rather than after the main thread has answered the batch
   * and gathered another. Ingest is bound by the writer's stitching, in series with each commit,
   * and one, two or three batches measured alike.
   */
  readonly concurrentBatches = 2;
  readonly stitchesOnIngest = true;
  private readonly db: Database.Database;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private failure: Error | null = null;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = openSqlite(file);
    migrateSqlite(this.db);
    this.worker = startWriter(file);
    this.worker.on('message', (msg: WriterResponse) => {
      const waiter = this.pending.get(msg.seq);
      if (!waiter) return;
      this.pending.delete(msg.seq);
      if ('error' in msg) waiter.reject(new Error(`SQLite write failed: ${msg.error}`));
      else waiter.resolve(msg.result);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  /** Asks the writer thread; resolves with its answer once its transaction has committed. */
  private send<T>(msg: DistributiveOmit<WriterRequest, 'seq'>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const seq = ++this.seq;
      this.pending.set(seq, { resolve: resolve as (r: unknown) => void, reject });
      this.worker.postMessage({ ...msg, seq }, transfer);
    });
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    const transfer: ArrayBuffer[] = [];
    const rows = batch.map((item) => {
      const row = toWriteRow(item);
      if (row.body) transfer.push(row.body.buffer as ArrayBuffer);
      return row;
    });
    return this.send<IngestResult[]>({ op: 'ingest', rows }, transfer);
  }

  project(limit: number): Promise<ProjectionResult> {
    return this.send<ProjectionResult>({ op: 'project', limit });
  }

  rebuildCalls(): Promise<number> {
    return this.send<number>({ op: 'rebuild' });
  }

  closeStaleCalls(before: string): Promise<Call[]> {
    return this.send<Call[]>({ op: 'close-stale', before });
  }

  async listCalls(q: CallQuery): Promise<Call[]> {
    const { clause, params } = named(callFilters(q, NUMBER_PREFIX));
    const rows = this.db.prepare(`SELECT data FROM calls ${clause} ORDER BY started_at DESC, id DESC LIMIT @limit`).all({ ...params, limit: q.limit }) as { data: string }[];
    return rows.map(callFromRow);
  }

  async getCall(id: string): Promise<(Call & { events: (StoredEvent & { raw: Record<string, unknown> })[] }) | null> {
    const row = this.db.prepare('SELECT data FROM calls WHERE id = ?').get(id) as { data: string } | undefined;
    if (!row) return null;
    const events = this.db.prepare('SELECT id, received_at, redeliveries, data, raw FROM events WHERE call_key = ? ORDER BY id').all(id) as EventRow[];
    return { ...callFromRow(row), events: events.map(eventWithRawFromRow) };
  }

  async liveCalls(): Promise<Call[]> {
    const rows = this.db.prepare("SELECT data FROM calls WHERE status IN ('waiting', 'ringing', 'in_progress') ORDER BY started_at").all() as { data: string }[];
    return rows.map(callFromRow);
  }

  async streamAfter(after: string | null, limit: number): Promise<StreamEntry[]> {
    const rows = this.db
      .prepare(
        `SELECT e.id, e.received_at, e.redeliveries, e.data, e.stream_seq, c.data AS call FROM events e LEFT JOIN calls c ON c.id = e.call_key
         WHERE e.stream_seq > ? ORDER BY e.stream_seq LIMIT ?`,
      )
      .all(after === null ? 0 : Number(after), limit) as (EventRow & { stream_seq: number; call: string | null })[];
    return rows.map((r) => ({ seq: String(r.stream_seq), event: eventFromRow(r), call: r.call === null ? null : callFromRow({ data: r.call }) }));
  }

  async streamPositionOf(eventId: string): Promise<string | null> {
    if (!isStoreId(eventId)) return null;
    const seq = this.db.prepare('SELECT stream_seq FROM events WHERE id = ?').pluck().get(eventId) as number | null | undefined;
    return seq === null || seq === undefined ? null : String(seq);
  }

  async streamHead(): Promise<string | null> {
    const seq = this.db.prepare('SELECT max(stream_seq) FROM events').pluck().get() as number | null;
    return seq === null ? null : String(seq);
  }

  /** One process writes a SQLite database: nothing else advances its stream. */
  async onStreamAdvance(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  /** Nor are there other instances to tell of an alert. */
  async announceAlert(): Promise<void> {}

  async onAlertAnnounced(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  async listEvents(q: EventQuery): Promise<Page<StoredEvent>> {
    const { clause, params } = named({ kind: ['kind =', q.kind], platform: ['platform =', q.platform], ...pageFilters(q) });
    const sql = `SELECT id, received_at, redeliveries, data FROM events ${clause} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ ...params, limit: q.limit + 1 }) as EventRow[];
    return page(rows.map(eventFromRow), q.limit);
  }

  async getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null> {
    if (!isStoreId(id)) return null;
    const row = this.db.prepare('SELECT id, received_at, redeliveries, data, raw FROM events WHERE id = ?').get(id) as EventRow | undefined;
    return row ? eventWithRawFromRow(row) : null;
  }

  async listRequests(q: RequestQuery): Promise<Page<StoredRequest>> {
    const { clause, params } = named({ outcome: ['outcome =', q.outcome], ...pageFilters(q) });
    const sql = `SELECT * FROM requests ${clause} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ ...params, limit: q.limit + 1 }) as RequestRow[];
    return page(rows.map(requestFromRow), q.limit);
  }

  async getRequest(id: string): Promise<StoredRequest | null> {
    if (!isStoreId(id)) return null;
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as RequestRow | undefined;
    return row ? requestFromRow(row) : null;
  }

  async read(queries: readonly Sql[]): Promise<Row[][]> {
    return this.db.transaction(() => queries.map((q) => this.db.prepare(q.sql).all(...q.params) as Row[]))();
  }

  /** One writer thread: every write transaction is exclusive already. */
  write(statements: readonly Sql[]): Promise<Row[][]> {
    return this.send<Row[][]>({ op: 'statements', statements: [...statements] });
  }

  resolveMissed(itemId: string, at: string, note: string | null): Promise<ResolveOutcome> {
    return this.send<ResolveOutcome>({ op: 'resolve-missed', itemId, at, note });
  }

  async ping(): Promise<void> {
    if (this.failure) throw this.failure;
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (!this.failure) {
      // listen before asking: the thread may exit before the answer is read
      const exited = once(this.worker, 'exit');
      await this.send({ op: 'close' });
      await exited;
    }
    if (this.db.open) this.db.close();
  }
}

/** Times are id ranges (ids are time-ordered), so they use the primary key. */
function pageFilters(q: { since?: string | undefined; until?: string | undefined; before?: string | undefined }): Filters {
  return {
    since: ['id >=', q.since === undefined ? undefined : idAtTime(q.since)],
    until: ['id <', q.until === undefined ? undefined : idAtTime(q.until)],
    before: ['id <', q.before === undefined ? undefined : Number(q.before)],
  };
}

/** SQLite binds no booleans: they are 1 and 0 in its columns. */
function named(filters: Filters): { clause: string; params: Record<string, string | number> } {
  const { clause, values } = whereClause(filters, (name) => `@${name}`);
  return { clause, params: Object.fromEntries(values.map(([k, v]) => [k, typeof v === 'boolean' ? Number(v) : v])) };
}

/** GLOB, unlike SQLite's case-insensitive LIKE, can use the index; numbers are digits (the API checks). */
const NUMBER_PREFIX = { condition: '(from_number GLOB {} OR to_number GLOB {})', pattern: (digits: string) => `${digits}*` };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
