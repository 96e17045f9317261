import type { Call } from '../calls/call-schema.js';
import type { KeyedEvent } from '../calls/projection.js';
import type { ErrorCode } from '../errors.js';
import { EventSchema } from '../payloads/event-schema.js';
import type { CallQuery, IngestItem, Page, StoredEvent, StoredRequest } from './port.js';

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
  event: {
    dedup_key: string;
    platform: string;
    kind: string;
    call_uuid: string | null;
    conversation_uuid: string | null;
    status_code: number;
    data: string;
    raw: string;
  } | null;
}

export function toWriteRow({ request, event, rejection }: IngestItem): WriteRow {
  let stored: WriteRow['event'] = null;
  if (event) {
    const { raw, ...fields } = event.event;
    stored = {
      dedup_key: event.dedup_key,
      platform: fields.platform,
      kind: fields.kind,
      call_uuid: fields.call_uuid,
      conversation_uuid: fields.conversation_uuid,
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

export const iso = (value: string | Date) => (typeof value === 'string' ? value : value.toISOString());

export function eventFromRow(row: EventRow): StoredEvent {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const out: Record<string, unknown> = { id: String(row.id), received_at: iso(row.received_at), redeliveries: row.redeliveries };
  for (const field of EVENT_FIELDS) out[field] = data[field] ?? null;
  return out as unknown as StoredEvent;
}

/**
 * Stored events with the call keys they have, each once, in the order first met. A row is parsed
 * once per `parsed` map however many queries return it: a batch's rows come back among their
 * connected events.
 */
export function keyedEventsFromRows(parsed: Map<string, KeyedEvent>, rows: readonly (EventRow & { call_key: string | null })[]): KeyedEvent[] {
  const events = new Set<KeyedEvent>();
  for (const row of rows) {
    const id = String(row.id);
    let event = parsed.get(id);
    if (!event) parsed.set(id, (event = { ...eventFromRow(row), call_key: row.call_key }));
    events.add(event);
  }
  return [...events];
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

export type FilterValue = string | number | boolean;
export type Filters = Record<string, [condition: string, value: FilterValue | readonly FilterValue[] | undefined]>;

/**
 * A WHERE clause of the filters that have a value. Values are bound, never spliced into the SQL:
 * each `{}` in a condition takes the next value (a condition without one takes its value at the
 * end), and `placeholder` writes the dialect's parameter (`@name`, `$1`).
 */
export function whereClause(given: Filters, placeholder: (name: string, index: number) => string): { clause: string; values: [string, FilterValue][] } {
  const parts: string[] = [];
  const values: [string, FilterValue][] = [];
  for (const [name, [condition, value]] of Object.entries(given)) {
    if (value === undefined) continue;
    const list: readonly FilterValue[] = Array.isArray(value) ? value : [value as FilterValue];
    let i = 0;
    const template = condition.includes('{}') ? condition : `${condition} {}`;
    parts.push(
      template.replace(/\{\}/g, () => {
        const param = `${name}${i}`;
        values.push([param, list[i++] as FilterValue]);
        return placeholder(param, values.length);
      }),
    );
  }
  return { clause: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', values };
}

/**
 * The calls filters, the same in every dialect but for how a prefix of a number is matched with
 * an index (`prefix`: the condition with its two `{}`, and the pattern for a prefix of digits).
 */
export function callFilters(q: CallQuery, prefix: { condition: string; pattern: (digits: string) => string }): Filters {
  const pattern = q.number === undefined ? undefined : prefix.pattern(q.number);
  return {
    direction: ['direction =', q.direction],
    status: ['status =', q.status],
    agent: ['agent =', q.agent],
    team: ['team =', q.team],
    number: [prefix.condition, pattern === undefined ? undefined : [pattern, pattern]],
    since: ['started_at >=', q.since],
    until: ['started_at <', q.until],
    has_recording: ['has_recording =', q.has_recording],
    voicemail: ['has_voicemail =', q.voicemail],
    min_wait: ['wait_sec >=', q.min_wait],
    max_wait: ['wait_sec <=', q.max_wait],
    // a row value, so that both dialects walk the (started_at, id) index
    before: ['(started_at, id) < ({}, {})', q.before ? [q.before.started_at, q.before.id] : undefined],
  };
}

/** The calls table's columns and their PostgreSQL array types, in the order every upsert writes them. */
export const CALL_TABLE_COLUMNS = [
  ['id', 'text'], ['platform', 'text'], ['direction', 'text'], ['status', 'text'], ['from_number', 'text'], ['to_number', 'text'],
  ['agent', 'text'], ['team', 'text'], ['started_at', 'text'], ['wait_sec', 'int'], ['has_recording', 'bool'], ['has_voicemail', 'bool'],
  ['last_event_at', 'text'], ['stale', 'bool'], ['data', 'text'], ['started_s', 'bigint'], ['ended_s', 'bigint'], ['talk_sec', 'int'],
  ['hangup_reason', 'text'], ['ivr_name', 'text'], ['rate_micros', 'bigint'], ['balance_micros', 'bigint'],
] as const;

const epochSeconds = (iso: string | null) => (iso === null ? null : Math.floor(Date.parse(iso) / 1000));
/** An exact decimal as an integer number of millionths (rates and balances are given to six places). */
export const micros = (decimal: string | null) => (decimal === null || decimal === '' || !Number.isFinite(Number(decimal)) ? null : Math.round(Number(decimal) * 1_000_000));

/** A call as the columns of the calls table; `bool` writes a boolean the dialect's way. */
export function callColumns<B>(call: Call, bool: (b: boolean) => B) {
  return {
    id: call.id,
    platform: call.platform,
    direction: call.direction,
    status: call.status,
    from_number: call.from,
    to_number: call.to,
    agent: call.agent,
    team: call.team,
    // never null, so that keyset pagination on (started_at, id) needs no NULL case
    started_at: call.started_at ?? '',
    wait_sec: call.wait_sec,
    has_recording: bool(call.recording !== null),
    has_voicemail: bool(call.voicemail !== null),
    last_event_at: call.last_event_at,
    stale: bool(call.stale),
    data: JSON.stringify(call),
    started_s: epochSeconds(call.started_at),
    ended_s: epochSeconds(call.ended_at),
    talk_sec: call.talk_sec,
    hangup_reason: call.hangup_reason,
    ivr_name: call.ivr_name,
    rate_micros: micros(call.call_rate),
    balance_micros: micros(call.balance),
  } satisfies Record<(typeof CALL_TABLE_COLUMNS)[number][0], unknown>;
}

/** INSERT … ON CONFLICT for calls, with `values` giving the source of the rows in the dialect's way. */
export function upsertCallsSql(values: string): string {
  const names = CALL_TABLE_COLUMNS.map(([n]) => n);
  const updates = names.filter((n) => n !== 'id').map((n) => `${n} = excluded.${n}`);
  return `INSERT INTO calls (${names.join(', ')}) ${values} ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`;
}

/** PostgreSQL: the calls as one array parameter per column, for `SELECT * FROM unnest(…)`. */
export function pgCallArrays(calls: readonly Call[]): { sql: string; params: unknown[][] } {
  const rows = calls.map((c) => callColumns(c, (b) => b));
  return {
    sql: `SELECT * FROM unnest(${CALL_TABLE_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`,
    params: CALL_TABLE_COLUMNS.map(([name]) => rows.map((r) => r[name])),
  };
}

/** SQLite: the named-parameter VALUES clause matching callColumns. */
export const SQLITE_CALL_VALUES = `VALUES (${CALL_TABLE_COLUMNS.map(([n]) => `@${n}`).join(', ')})`;

export function callFromRow(row: { data: string }): Call {
  return JSON.parse(row.data) as Call;
}
