import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ErrorCode } from '../../errors.js';
import { EventSchema } from '../../payloads/event-schema.js';
import { isStoreId, type EventQuery, type IngestItem, type IngestResult, type Page, type RequestQuery, type Store, type StoredEvent, type StoredRequest } from '../port.js';
import { IdGenerator, idAtTime } from './ids.js';
import { migrateSqlite } from './migrate.js';

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
 * Embedded SQLite through better-sqlite3, in WAL mode with synchronous=FULL: a commit returns only
 * after its WAL frames are fsynced, so an acknowledged batch survives a crash or power loss.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertRequest: Database.Statement;
  private readonly ingestBatch: Database.Transaction<(batch: readonly IngestItem[]) => IngestResult[]>;
  private readonly ids: IdGenerator;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrateSqlite(this.db);
    const floor = this.db.prepare('SELECT max((SELECT coalesce(max(id), 0) FROM events), (SELECT coalesce(max(id), 0) FROM requests))').pluck().get() as number;
    this.ids = new IdGenerator(floor);
    // A redelivery hits the unique dedup key: it only counts, and returns the first event's id.
    this.insertEvent = this.db.prepare(`
      INSERT INTO events (id, dedup_key, received_at, platform, kind, data, raw)
      VALUES (@id, @dedup_key, @received_at, @platform, @kind, @data, @raw)
      ON CONFLICT (dedup_key) DO UPDATE SET redeliveries = redeliveries + 1
      RETURNING id, redeliveries`);
    this.insertRequest = this.db.prepare(`
      INSERT INTO requests (id, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id, kind)
      VALUES (@id, @received_at, @method, @path, @query, @headers, @content_type, @body, @remote_addr, @outcome, @status_code, @error_code, @error_message, @event_id, @kind)`);
    this.ingestBatch = this.db.transaction((batch: readonly IngestItem[]) => batch.map((item) => this.ingestOne(item)));
  }

  private ingestOne(item: IngestItem): IngestResult {
    const { request } = item;
    const requestId = this.ids.next();
    const base = { ...request, id: requestId, headers: JSON.stringify(request.headers) };
    if (item.rejection) {
      this.insertRequest.run({ ...base, outcome: 'rejected', status_code: item.rejection.status, error_code: item.rejection.code, error_message: item.rejection.message, event_id: null, kind: null });
      return { outcome: 'rejected', request_id: String(requestId), event_id: null };
    }
    const { dedup_key, event } = item.event;
    const { raw, ...data } = event;
    const row = this.insertEvent.get({
      id: this.ids.next(),
      dedup_key,
      received_at: request.received_at,
      platform: event.platform,
      kind: event.kind,
      data: JSON.stringify(compact(data)),
      raw: JSON.stringify(raw),
    }) as { id: number; redeliveries: number };
    const outcome = row.redeliveries > 0 ? 'duplicate' : 'accepted';
    const status = event.kind === 'unknown' ? 202 : 200;
    this.insertRequest.run({ ...base, outcome, status_code: status, error_code: null, error_message: null, event_id: row.id, kind: event.kind });
    return { outcome, request_id: String(requestId), event_id: String(row.id) };
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    return this.ingestBatch.immediate(batch);
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
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
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
