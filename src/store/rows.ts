import type { ErrorCode } from '../errors.js';
import { EventSchema } from '../payloads/event-schema.js';
import type { IngestItem, Page, StoredEvent, StoredRequest } from './port.js';

/** One request to store, flattened to plain values: what every dialect writes. */
export interface WriteRow {
  received_at: string;
  method: string;
  path: string;
  query: string;
  /** JSON */
  headers: string;
  content_type: string | null;
  body: Uint8Array | null;
  remote_addr: string;
  rejection: { status: number; code: string; message: string } | null;
  event: { dedup_key: string; platform: string; kind: string; status_code: number; data: string; raw: string } | null;
}

export function toWriteRow({ request, event, rejection }: IngestItem): WriteRow {
  let stored: WriteRow['event'] = null;
  if (event) {
    const { raw, ...fields } = event.event;
    stored = {
      dedup_key: event.dedup_key,
      platform: fields.platform,
      kind: fields.kind,
      status_code: fields.kind === 'unknown' ? 202 : 200,
      data: JSON.stringify(compact(fields)),
      raw: JSON.stringify(raw),
    };
  }
  return {
    received_at: request.received_at,
    method: request.method,
    path: request.path,
    query: request.query,
    headers: JSON.stringify(request.headers),
    content_type: request.content_type,
    // a copy of just these bytes: the request's Buffer may be a slice of a shared pool
    body: request.body ? new Uint8Array(request.body) : null,
    remote_addr: request.remote_addr,
    rejection: rejection ? { status: rejection.status, code: rejection.code, message: rejection.message } : null,
    event: stored,
  };
}

/** Null fields are left out of the stored JSON (about half its size) and put back on reading. */
function compact(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in data) if (data[key] !== null) out[key] = data[key];
  return out;
}

const EVENT_FIELDS = Object.keys(EventSchema.properties).filter((k) => k !== 'raw');

export interface EventRow {
  id: number | string;
  received_at: string | Date;
  redeliveries: number;
  data: string;
  raw?: string;
}

export interface RequestRow {
  id: number | string;
  received_at: string | Date;
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
  event_id: number | string | null;
  kind: string | null;
}

const iso = (value: string | Date) => (typeof value === 'string' ? value : value.toISOString());

export function eventFromRow(row: EventRow): StoredEvent {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const out: Record<string, unknown> = { id: String(row.id), received_at: iso(row.received_at), redeliveries: row.redeliveries };
  for (const field of EVENT_FIELDS) out[field] = data[field] ?? null;
  return out as unknown as StoredEvent;
}

export function eventWithRawFromRow(row: EventRow): StoredEvent & { raw: Record<string, unknown> } {
  return { ...eventFromRow(row), raw: JSON.parse(row.raw ?? '{}') as Record<string, unknown> };
}

export function requestFromRow(row: RequestRow): StoredRequest {
  return {
    id: String(row.id),
    received_at: iso(row.received_at),
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

/** Rows asked for with one more than the limit: the extra one says there is a next page. */
export function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next: more ? (items[items.length - 1]?.id ?? null) : null };
}

export type Filters = Record<string, [condition: string, value: string | number | undefined]>;

/**
 * A WHERE clause of the filters that have a value. Values are bound, never spliced into the SQL;
 * `placeholder` writes the dialect's parameter (`@name`, `$1`).
 */
export function whereClause(given: Filters, placeholder: (name: string, index: number) => string): { clause: string; values: [string, string | number][] } {
  const parts: string[] = [];
  const values: [string, string | number][] = [];
  for (const [name, [condition, value]] of Object.entries(given)) {
    if (value === undefined) continue;
    values.push([name, value]);
    parts.push(`${condition} ${placeholder(name, values.length)}`);
  }
  return { clause: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', values };
}
