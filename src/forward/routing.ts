import Type, { type Static } from 'typebox';
import { callKey, isCallEvent, type CallEvent } from '../calls/derive.js';
import type { Row, Sql } from '../store/port.js';

/**
 * Which destinations get what: kind patterns and field filters, and the outbox rows they make.
 * Pure, so that every transaction that stores something forwardable (an ingest batch, a
 * projection, an alert) queues its deliveries the same way on both dialects.
 */

/** An exact kind (`cdr.inbound.missed`, `call.updated`), a prefix wildcard (`cdr.*`, `alert.*`) or `*`. */
export const KIND_PATTERN = '^(\\*|[a-z0-9_]+(\\.[a-z0-9_]+)*(\\.\\*)?)$';

export const FilterSchema = Type.Object(
  {
    field: Type.String({ pattern: '^[a-z_]{1,40}$', description: 'A top-level field of the data: team, agent, direction, from, to, platform, status, rule…' }),
    op: Type.Enum(['eq', 'prefix'], { description: 'eq: the field equals value; prefix: it starts with value.' }),
    value: Type.String({ maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type Filter = Static<typeof FilterSchema>;

export interface Route {
  id: string;
  kinds: string[];
  filters: Filter[];
}

export function kindMatches(patterns: readonly string[], kind: string): boolean {
  return patterns.some((p) => p === '*' || p === kind || (p.endsWith('.*') && kind.startsWith(p.slice(0, -1))));
}

/** Every filter holds on a scalar field of `data` (numbers and booleans compare as their text). */
export function filtersMatch(filters: readonly Filter[], data: Record<string, unknown>): boolean {
  return filters.every((f) => {
    const v = data[f.field];
    if (v === null || v === undefined || typeof v === 'object') return false;
    const s = String(v);
    return f.op === 'eq' ? s === f.value : s.startsWith(f.value);
  });
}

/** Something forwardable, as it is stored: a delivery reads its body from here when it is sent. */
export interface OutboxItem {
  kind: string;
  /** One destination's deliveries with the same key go out one after another, in id order. */
  order_key: string;
  /** webhook-id; null: `msg_<delivery id>`. */
  message_id: string | null;
  /** The body's timestamp. */
  message_at: string;
  event_id?: string | undefined;
  alert_id?: string | undefined;
  alert_state?: string | undefined;
  /** The body's data as stored JSON, when it is not read from an event or an alert. */
  payload?: string | undefined;
  /** What the field filters look at. */
  fields: Record<string, unknown>;
}

/** Destinations that take new deliveries: paused ones too (they hold them), disabled ones not. */
export const TAKES_DELIVERIES = "state <> 'disabled'";
export const ROUTES_QUERY: Sql = { sql: `SELECT id, kinds, filters FROM destinations WHERE ${TAKES_DELIVERIES} ORDER BY id`, params: [] };

/** A delivery row's webhook-id: its message's, else `msg_<delivery id>` (a call.updated). */
export function messageId(r: Row): string {
  return r['message_id'] === null || r['message_id'] === undefined ? `msg_${String(r['id'])}` : String(r['message_id']);
}

export function routesFromRows(rows: readonly Row[]): Route[] {
  return rows.map((r) => ({ id: String(r['id']), kinds: JSON.parse(String(r['kinds'])) as string[], filters: JSON.parse(String(r['filters'])) as Filter[] }));
}

export const DELIVERY_COLUMNS = ['destination_id', 'kind', 'order_key', 'message_id', 'message_at', 'event_id', 'alert_id', 'alert_state', 'payload', 'replay', 'next_attempt_ms', 'created_ms'] as const;
/** Rows per INSERT: far below either dialect's limit on bound parameters. */
const ROWS_PER_INSERT = 400;

export type DeliveryRow = (string | number | null)[];

/** The deliveries (DELIVERY_COLUMNS' values) that queue `items` for every route that takes them. */
export function outboxRows(routes: readonly Route[], items: readonly OutboxItem[], now: number, options: { replay?: boolean } = {}): DeliveryRow[] {
  const values: DeliveryRow[] = [];
  for (const item of items) {
    for (const route of routes) {
      if (!kindMatches(route.kinds, item.kind) || !filtersMatch(route.filters, item.fields)) continue;
      values.push([route.id, item.kind, item.order_key, item.message_id, item.message_at, item.event_id ?? null, item.alert_id ?? null, item.alert_state ?? null, item.payload ?? null, options.replay ? 1 : 0, now, now]);
    }
  }
  return values;
}

/** The INSERT statements that queue `items` for every route that takes them. */
export function outboxStatements(routes: readonly Route[], items: readonly OutboxItem[], now: number, options: { replay?: boolean } = {}): Sql[] {
  return insertRows(outboxRows(routes, items, now, options));
}

function insertRows(values: DeliveryRow[]): Sql[] {
  const out: Sql[] = [];
  const tuple = `(${DELIVERY_COLUMNS.map(() => '?').join(', ')})`;
  for (let i = 0; i < values.length; i += ROWS_PER_INSERT) {
    const chunk = values.slice(i, i + ROWS_PER_INSERT);
    out.push({ sql: `INSERT INTO deliveries (${DELIVERY_COLUMNS.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, params: chunk.flat() });
  }
  return out;
}

/**
 * Queues what `items` makes in the caller's transaction: yields the routes query, returns the
 * inserts (the shape of syncQueue, so each dialect drives it with its own connection).
 */
export function* queueOutbox(items: () => readonly OutboxItem[], now: number): Generator<Sql, Sql[], Row[]> {
  const routes = routesFromRows(yield ROUTES_QUERY);
  // the items are made only when some destination may take them: parsing costs ingest time
  return routes.length === 0 ? [] : outboxStatements(routes, items(), now);
}

interface EventLike {
  kind: string;
  platform: string;
  type: string | null;
  call_uuid: string | null;
  conversation_uuid: string | null;
}
/** An event's fields as stored (absent ones are null). */
export type EventFields = Record<string, unknown>;

/**
 * An event's order key: the call it belongs to as far as the event itself says (its conversation,
 * else its leg), so that a call's events and its call.updated share one key. Events of no call
 * are ordered with nothing.
 */
export function eventOrderKey(e: EventLike, eventId: string): string {
  if (!isCallEvent({ ...e, kind: e.kind as CallEvent['kind'] }) || e.call_uuid === null) return `event:${eventId}`;
  return callKey(e.platform, e.conversation_uuid ?? e.call_uuid);
}

/** A stored event as an outbox item. */
export function eventItem(fields: EventFields, eventId: string, receivedAt: string): OutboxItem {
  const text = (k: string) => (typeof fields[k] === 'string' ? (fields[k] as string) : null);
  const e: EventLike = { kind: text('kind') ?? 'unknown', platform: text('platform') ?? '', type: text('type'), call_uuid: text('call_uuid'), conversation_uuid: text('conversation_uuid') };
  return { kind: e.kind, order_key: eventOrderKey(e, eventId), message_id: `evt_${eventId}`, message_at: receivedAt, event_id: eventId, fields };
}

/** A call as it is now, as a call.updated item; its JSON is made only for a destination that takes it. */
export function callItem(call: { id: string; last_event_at: string | null } & Record<string, unknown>, at: string): OutboxItem {
  let payload: string | undefined;
  return {
    kind: 'call.updated',
    order_key: call.id,
    message_id: null,
    message_at: at,
    get payload() {
      return (payload ??= JSON.stringify(call));
    },
    fields: call,
  };
}

/**
 * The outbox rows of an alert's firing or clearing, for the same transaction as the statement that
 * records it. They select the alert row that statement wrote (by its own time), so a firing that
 * another instance recorded first queues nothing here.
 */
export function alertOutboxStatements(routes: readonly Route[], change: { rule: string; subject: string; state: 'firing' | 'cleared'; at: string; fields: Record<string, unknown> }, now: number): Sql[] {
  const kind = `alert.${change.rule}`;
  const takers = routes.filter((r) => kindMatches(r.kinds, kind) && filtersMatch(r.filters, { ...change.fields, rule: change.rule, subject: change.subject, state: change.state }));
  const when = change.state === 'firing' ? 'a.fired_at = ? AND a.cleared_at IS NULL' : 'a.cleared_at = ?';
  return takers.map((route) => ({
    sql: `INSERT INTO deliveries (${DELIVERY_COLUMNS.join(', ')})
      SELECT ?, ?, ?, 'alt_' || CAST(a.id AS TEXT) || ?, ?, NULL, a.id, ?, NULL, 0, ?, ? FROM alerts a WHERE a.rule = ? AND a.subject = ? AND ${when}`,
    params: [route.id, kind, `alert:${change.rule}:${change.subject}`, `_${change.state}`, change.at, change.state, now, now, change.rule, change.subject, change.at],
  }));
}
