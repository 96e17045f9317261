import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { ErrorCode } from '../../errors.js';
import { EventSchema } from '../../payloads/event-schema.js';
import { isStoreId, type EventQuery, type IngestItem, type IngestResult, type Page, type RequestQuery, type Store, type StoredEvent, type StoredRequest } from '../port.js';
import { idAtTime } from './ids.js';
import { migrateSqlite } from './migrate.js';
import type { WriterRequest, WriterResponse } from './writer-worker.js';
import { openSqlite, type WriteRow } from './writer.js';

/**
 * The writer thread. Built, it is writer-worker.js beside this file. From TypeScript source (the
 * tests run through tsx) it is the .ts file, and since Node 20 does not carry --import into worker
 * threads, a two-line bootstrap registers tsx in the thread first.
 */
function startWriter(file: string): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: { file } });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./writer-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: { file } });
}

interface EventRow {
  id: number;
  received_at: string;
  redeliveries: number;
  data: string;
  raw?: string;
}

interface RequestRow {
  id: number;
  received_at: string;
  method: string;
  path: string;
  query: string;
  headers: string;
  content_type: string | null;
  body: Buffer | null;
  remote_addr: string;
  outcome: StoredRequest['outcome'];
  status_code: number;
  error_code: string | null;
  error_message: string | null;
  event_id: number | null;
  kind: string | null;
}

/**
 * Embedded SQLite through better-sqlite3. Writes go to one writer thread (writer-worker.ts), in WAL
 * mode with synchronous=FULL; reads use this thread's own connection, which WAL lets read while the
 * writer commits.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: IngestResult[]) => void; reject: (e: Error) => void }>();
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
      if ('results' in msg) waiter.resolve(msg.results);
      else if ('error' in msg) waiter.reject(new Error(`SQLite write failed: ${msg.error}`));
      else waiter.resolve([]);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  private send(msg: WriterRequest, transfer: ArrayBuffer[] = []): Promise<IngestResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(msg.seq, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    const transfer: ArrayBuffer[] = [];
    const rows = batch.map((item) => {
      const row = toWriteRow(item);
      if (row.body) transfer.push(row.body.buffer as ArrayBuffer);
      return row;
    });
    return this.send({ seq: ++this.seq, rows }, transfer);
  }

  async listEvents(q: EventQuery): Promise<Page<StoredEvent>> {
    const { clause, params } = filters({ kind: ['kind =', q.kind], platform: ['platform =', q.platform], ...pageFilters(q) });
    const sql = `SELECT id, received_at, redeliveries, data FROM events ${clause} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ ...params, limit: q.limit + 1 }) as EventRow[];
    return page(rows.map(toStoredEvent), q.limit);
  }

  async getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null> {
    if (!isStoreId(id)) return null;
    const row = this.db.prepare('SELECT id, received_at, redeliveries, data, raw FROM events WHERE id = ?').get(id) as EventRow | undefined;
    return row ? { ...toStoredEvent(row), raw: JSON.parse(row.raw as string) as Record<string, unknown> } : null;
  }

  async listRequests(q: RequestQuery): Promise<Page<StoredRequest>> {
    const { clause, params } = filters({ outcome: ['outcome =', q.outcome], ...pageFilters(q) });
    const sql = `SELECT * FROM requests ${clause} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all({ ...params, limit: q.limit + 1 }) as RequestRow[];
    return page(rows.map(toStoredRequest), q.limit);
  }

  async getRequest(id: string): Promise<StoredRequest | null> {
    if (!isStoreId(id)) return null;
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as RequestRow | undefined;
    return row ? toStoredRequest(row) : null;
  }

  async ping(): Promise<void> {
    if (this.failure) throw this.failure;
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (!this.failure) {
      // listen before asking: the thread may exit before the answer is read
      const exited = once(this.worker, 'exit');
      await this.send({ seq: ++this.seq, close: true });
      await exited;
    }
    if (this.db.open) this.db.close();
  }
}

type Filters = Record<string, [condition: string, value: string | number | undefined]>;

/** Times are id ranges (ids are time-ordered), so they use the primary key. */
function pageFilters(q: { since?: string | undefined; until?: string | undefined; before?: string | undefined }): Filters {
  return {
    since: ['id >=', q.since === undefined ? undefined : idAtTime(q.since)],
    until: ['id <', q.until === undefined ? undefined : idAtTime(q.until)],
    before: ['id <', q.before === undefined ? undefined : Number(q.before)],
  };
}

/** A WHERE clause of the filters that have a value; values are bound, never spliced into the SQL. */
function filters(given: Filters): { clause: string; params: Record<string, string | number> } {
  const parts: string[] = [];
  const params: Record<string, string | number> = {};
  for (const [name, [condition, value]] of Object.entries(given)) {
    if (value === undefined) continue;
    parts.push(`${condition} @${name}`);
    params[name] = value;
  }
  return { clause: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  // one row more than asked for tells whether there is a next page
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next: more ? (items[items.length - 1]?.id ?? null) : null };
}

function toWriteRow({ request, event, rejection }: IngestItem): WriteRow {
  const e = event?.event;
  let data: string | null = null;
  let raw: string | null = null;
  if (e) {
    const { raw: payload, ...fields } = e;
    data = JSON.stringify(compact(fields));
    raw = JSON.stringify(payload);
  }
  return {
    received_at: request.received_at,
    method: request.method,
    path: request.path,
    query: request.query,
    headers: JSON.stringify(request.headers),
    content_type: request.content_type,
    // a copy of just these bytes, transferred to the writer (the request's Buffer may share a pool)
    body: request.body ? new Uint8Array(request.body) : null,
    remote_addr: request.remote_addr,
    rejection: rejection ? { status: rejection.status, code: rejection.code, message: rejection.message } : null,
    event: e && data !== null && raw !== null && event ? { dedup_key: event.dedup_key, platform: e.platform, kind: e.kind, status_code: e.kind === 'unknown' ? 202 : 200, data, raw } : null,
  };
}

/** Null fields are left out of the stored JSON (about half its size) and put back on reading. */
function compact(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in data) if (data[key] !== null) out[key] = data[key];
  return out;
}

const EVENT_FIELDS = Object.keys(EventSchema.properties).filter((k) => k !== 'raw');

function toStoredEvent(row: EventRow): StoredEvent {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const out: Record<string, unknown> = { id: String(row.id), received_at: row.received_at, redeliveries: row.redeliveries };
  for (const field of EVENT_FIELDS) out[field] = data[field] ?? null;
  return out as unknown as StoredEvent;
}

function toStoredRequest(row: RequestRow): StoredRequest {
  return {
    id: String(row.id),
    received_at: row.received_at,
    method: row.method,
    path: row.path,
    query: row.query,
    headers: JSON.parse(row.headers) as Record<string, string>,
    content_type: row.content_type,
    remote_addr: row.remote_addr,
    outcome: row.outcome,
    status_code: row.status_code,
    error: row.error_code ? { code: row.error_code as ErrorCode, message: row.error_message ?? '' } : null,
    event_id: row.event_id === null ? null : String(row.event_id),
    kind: row.kind,
    body_size: row.body?.length ?? 0,
    body: row.body,
  };
}
