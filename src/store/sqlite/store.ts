import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ErrorCode } from '../../errors.js';
import type { Event } from '../../payloads/event-schema.js';
import type { EventQuery, IngestItem, IngestResult, Page, RequestQuery, Store, StoredEvent, StoredRequest } from '../port.js';
import { migrateSqlite } from './migrate.js';

interface EventRow {
  id: string;
  received_at: string;
  redeliveries: number;
  data: string;
  raw?: string;
}

interface RequestRow {
  id: string;
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
  event_id: string | null;
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

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrateSqlite(this.db);
    // A redelivery hits the unique dedup key: it only counts, and returns the first event's id.
    this.insertEvent = this.db.prepare(`
      INSERT INTO events (id, dedup_key, received_at, platform, kind, call_uuid, conversation_uuid, occurred_at, data, raw)
      VALUES (@id, @dedup_key, @received_at, @platform, @kind, @call_uuid, @conversation_uuid, @occurred_at, @data, @raw)
      ON CONFLICT (dedup_key) DO UPDATE SET redeliveries = redeliveries + 1
      RETURNING id, redeliveries`);
    this.insertRequest = this.db.prepare(`
      INSERT INTO requests (id, received_at, method, path, query, headers, content_type, body, remote_addr, outcome, status_code, error_code, error_message, event_id, kind)
      VALUES (@id, @received_at, @method, @path, @query, @headers, @content_type, @body, @remote_addr, @outcome, @status_code, @error_code, @error_message, @event_id, @kind)`);
    this.ingestBatch = this.db.transaction((batch: readonly IngestItem[]) => batch.map((item) => this.ingestOne(item)));
  }

  private ingestOne(item: IngestItem): IngestResult {
    const { request } = item;
    const base = { ...request, headers: JSON.stringify(request.headers) };
    if (item.rejection) {
      this.insertRequest.run({ ...base, outcome: 'rejected', status_code: item.rejection.status, error_code: item.rejection.code, error_message: item.rejection.message, event_id: null, kind: null });
      return { outcome: 'rejected', event_id: null };
    }
    const { id, dedup_key, event } = item.event;
    const { raw, ...data } = event;
    const row = this.insertEvent.get({
      id,
      dedup_key,
      received_at: request.received_at,
      platform: event.platform,
      kind: event.kind,
      call_uuid: event.call_uuid,
      conversation_uuid: event.conversation_uuid,
      occurred_at: event.occurred_at,
      data: JSON.stringify(data),
      raw: JSON.stringify(raw),
    }) as { id: string; redeliveries: number };
    const outcome = row.redeliveries > 0 ? 'duplicate' : 'accepted';
    const status = event.kind === 'unknown' ? 202 : 200;
    this.insertRequest.run({ ...base, outcome, status_code: status, error_code: null, error_message: null, event_id: row.id, kind: event.kind });
    return { outcome, event_id: row.id };
  }

  async ingest(batch: readonly IngestItem[]): Promise<IngestResult[]> {
    return this.ingestBatch.immediate(batch);
  }

  async listEvents(q: EventQuery): Promise<Page<StoredEvent>> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit + 1 };
    if (q.kind) (where.push('kind = @kind'), (params['kind'] = q.kind));
    if (q.platform) (where.push('platform = @platform'), (params['platform'] = q.platform));
    if (q.since) (where.push('received_at >= @since'), (params['since'] = q.since));
    if (q.until) (where.push('received_at < @until'), (params['until'] = q.until));
    if (q.before) (where.push('id < @before'), (params['before'] = q.before));
    const sql = `SELECT id, received_at, redeliveries, data FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as EventRow[];
    return page(rows.map(toStoredEvent), q.limit);
  }

  async getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null> {
    const row = this.db.prepare('SELECT id, received_at, redeliveries, data, raw FROM events WHERE id = ?').get(id) as EventRow | undefined;
    return row ? { ...toStoredEvent(row), raw: JSON.parse(row.raw as string) as Record<string, unknown> } : null;
  }

  async listRequests(q: RequestQuery): Promise<Page<StoredRequest>> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit + 1 };
    if (q.outcome) (where.push('outcome = @outcome'), (params['outcome'] = q.outcome));
    if (q.since) (where.push('received_at >= @since'), (params['since'] = q.since));
    if (q.until) (where.push('received_at < @until'), (params['until'] = q.until));
    if (q.before) (where.push('id < @before'), (params['before'] = q.before));
    const sql = `SELECT * FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as RequestRow[];
    return page(rows.map(toStoredRequest), q.limit);
  }

  async getRequest(id: string): Promise<StoredRequest | null> {
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

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next: more ? (items[items.length - 1]?.id ?? null) : null };
}

function toStoredEvent(row: EventRow): StoredEvent {
  const data = JSON.parse(row.data) as Omit<Event, 'raw'>;
  return { id: row.id, received_at: row.received_at, redeliveries: row.redeliveries, ...data };
}

function toStoredRequest(row: RequestRow): StoredRequest {
  return {
    id: row.id,
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
    event_id: row.event_id,
    kind: row.kind,
    body_size: row.body?.length ?? 0,
    body: row.body,
  };
}
