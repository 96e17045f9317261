import Type, { type Static } from 'typebox';
import { alertFromRow } from '../alerts/engine.js';
import type { Config } from '../config.js';
import { CallhookError } from '../errors.js';
import { newSigningSecret } from '../secrets.js';
import { isStoreId, type Row, type Sql, type Store } from '../store/port.js';
import { iso } from '../store/rows.js';
import { callItem, eventItem, FilterSchema, messageId, KIND_PATTERN, kindMatches, filtersMatch, outboxStatements, type OutboxItem, type Route } from './routing.js';

/**
 * Destinations and their deliveries: the service behind /api/destinations, /api/deliveries and
 * the `callhook destinations` and `callhook replay` commands. Everything goes through the store's
 * portable read and write, so both dialects share it.
 */

const HEADER_NAME = "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$";
/** Headers a destination may not set: the signature's and the transport's own. */
const RESERVED_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'content-length', 'host', 'user-agent', 'transfer-encoding', 'connection']);
const REDACTED = '[redacted]';

const Kinds = Type.Array(Type.String({ pattern: KIND_PATTERN, maxLength: 100 }), {
  minItems: 1,
  maxItems: 50,
  description: 'Kinds to send: exact (cdr.inbound.missed, call.updated, alert.low_balance), prefix wildcards (cdr.*, event.inbound.*, alert.*) or * for all.',
});
const Filters = Type.Array(FilterSchema, { maxItems: 20, description: 'All must hold on the data (an event, a call or an alert) for it to be sent.' });
const Headers = Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ maxLength: 1000, pattern: '^[^\\r\\n]*$' }), { description: 'Extra request headers, e.g. a token the receiver expects; shown redacted.' });
const RateLimit = Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 10000 }), Type.Null()], { description: 'Requests per second at most (per instance); null: no limit.' });
const MaxInFlight = Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Null()], { description: 'Deliveries in flight at once (per instance); null: CALLHOOK_FORWARD_CONCURRENCY.' });

const Url = Type.String({ maxLength: 2000, description: 'Where deliveries are POSTed: http or https.' });
const Description = Type.String({ maxLength: 200 });
/** What a destination may set besides its URL, kinds and description; a change sets any of them. */
const Settings = {
  filters: Type.Optional(Filters),
  headers: Type.Optional(Headers),
  rate_limit: Type.Optional(RateLimit),
  max_in_flight: Type.Optional(MaxInFlight),
  state: Type.Optional(Type.Enum(['active', 'paused'], { description: 'paused: deliveries are queued and held until it is resumed; active also re-enables one disabled by a 410.' })),
};

export const DestinationInputSchema = Type.Object({ url: Url, description: Type.Optional(Description), kinds: Kinds, ...Settings }, { additionalProperties: false });
export type DestinationInput = Static<typeof DestinationInputSchema>;

export const DestinationPatchSchema = Type.Object(
  { url: Type.Optional(Url), description: Type.Optional(Type.Union([Description, Type.Null()])), kinds: Type.Optional(Kinds), ...Settings },
  { additionalProperties: false },
);
export type DestinationPatch = Static<typeof DestinationPatchSchema>;

export const DestinationSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    kinds: Type.Array(Type.String()),
    filters: Type.Array(FilterSchema),
    headers: Type.Record(Type.String(), Type.String(), { description: 'Names of the extra headers; values are never shown.' }),
    rate_limit: Type.Union([Type.Number(), Type.Null()]),
    max_in_flight: Type.Union([Type.Integer(), Type.Null()]),
    state: Type.Enum(['active', 'paused', 'disabled']),
    disabled_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it was disabled (a 410 answer).' }),
    previous_secret_expires_at: Type.Union([Type.String(), Type.Null()], { description: 'Until then the previous secret signs too (after a rotation).' }),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { additionalProperties: false },
);
export type Destination = Static<typeof DestinationSchema>;

const AttemptSchema = Type.Object({
  attempted_at: Type.String(),
  outcome: Type.Enum(['succeeded', 'failed', 'timeout', 'network_error', 'gone']),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  response_body: Type.Union([Type.String(), Type.Null()], { description: 'The first 2 KiB of the answer.' }),
  latency_ms: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    destination_id: Type.String(),
    kind: Type.String(),
    message_id: Type.String({ description: 'The webhook-id header: the same on every attempt, and for an event on a replay.' }),
    timestamp: Type.String({ description: "The body's timestamp." }),
    event_id: Type.Union([Type.String(), Type.Null()]),
    replay: Type.Boolean(),
    state: Type.Enum(['pending', 'succeeded', 'dead']),
    attempts: Type.Integer(),
    next_attempt_at: Type.Union([Type.String(), Type.Null()], { description: 'While pending.' }),
    created_at: Type.String(),
    finished_at: Type.Union([Type.String(), Type.Null()]),
    last_status: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    attempt_log: Type.Array(AttemptSchema),
  },
  { additionalProperties: false },
);
export type Delivery = Static<typeof DeliverySchema>;

export const ReplayInputSchema = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'Events received, calls started and alerts fired or cleared at or after this time.' }),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Before this time; default now.' })),
    kinds: Type.Optional(Kinds),
    dry_run: Type.Optional(Type.Boolean({ description: 'Say what would be sent, and send nothing.' })),
  },
  { additionalProperties: false },
);
export type ReplayInput = Static<typeof ReplayInputSchema>;

export const ReplayResultSchema = Type.Object({
  dry_run: Type.Boolean(),
  count: Type.Integer({ description: 'Deliveries queued (or, in a dry run, that would be).' }),
  kinds: Type.Record(Type.String(), Type.Integer()),
  sample: Type.Array(Type.Object({ kind: Type.String(), message_id: Type.Union([Type.String(), Type.Null()]), timestamp: Type.String() }), { description: 'The first 20, in the order they would go out.' }),
});
export type ReplayResult = Static<typeof ReplayResultSchema>;

const DESTINATION_COLUMNS = 'id, url, description, kinds, filters, headers, rate_limit, max_in_flight, state, disabled_reason, previous_secret_until_ms, created_at, updated_at';

function destinationFromRow(r: Row): Destination {
  const until = r['previous_secret_until_ms'];
  const headers = JSON.parse(String(r['headers'])) as Record<string, string>;
  return {
    id: String(r['id']),
    url: String(r['url']),
    description: r['description'] === null ? null : String(r['description']),
    kinds: JSON.parse(String(r['kinds'])) as string[],
    filters: JSON.parse(String(r['filters'])) as Destination['filters'],
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, REDACTED])),
    rate_limit: r['rate_limit'] === null ? null : Number(r['rate_limit']),
    max_in_flight: r['max_in_flight'] === null ? null : Number(r['max_in_flight']),
    state: String(r['state']) as Destination['state'],
    disabled_reason: r['disabled_reason'] === null ? null : String(r['disabled_reason']),
    previous_secret_expires_at: until === null || until === undefined ? null : new Date(Number(until)).toISOString(),
    created_at: String(r['created_at']),
    updated_at: String(r['updated_at']),
  };
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CallhookError('invalid_destination', `"${url.slice(0, 100)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CallhookError('invalid_destination', `the URL must be http or https, got ${parsed.protocol}`);
}

function checkHeaders(headers: Record<string, string>): void {
  const names = Object.keys(headers);
  if (names.length > 20) throw new CallhookError('invalid_destination', 'at most 20 extra headers');
  const reserved = names.find((n) => RESERVED_HEADERS.has(n.toLowerCase()));
  if (reserved) throw new CallhookError('invalid_destination', `header "${reserved}" is set by callhook`);
}

const isoNow = (now: number) => new Date(now).toISOString();

export async function createDestination(store: Store, input: DestinationInput, now = Date.now()): Promise<{ destination: Destination; secret: string }> {
  checkUrl(input.url);
  checkHeaders(input.headers ?? {});
  const secret = newSigningSecret();
  const [rows = []] = await store.write([
    {
      sql: `INSERT INTO destinations (url, description, kinds, filters, headers, rate_limit, max_in_flight, state, secret, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${DESTINATION_COLUMNS}`,
      params: [input.url, input.description ?? null, JSON.stringify(input.kinds), JSON.stringify(input.filters ?? []), JSON.stringify(input.headers ?? {}), input.rate_limit ?? null, input.max_in_flight ?? null, input.state ?? 'active', secret, isoNow(now), isoNow(now)],
    },
  ]);
  return { destination: destinationFromRow(rows[0] as Row), secret };
}

export async function listDestinations(store: Store): Promise<Destination[]> {
  const [rows = []] = await store.read([{ sql: `SELECT ${DESTINATION_COLUMNS} FROM destinations ORDER BY id`, params: [] }]);
  return rows.map(destinationFromRow);
}

export async function getDestination(store: Store, id: string): Promise<Destination | null> {
  if (!isStoreId(id)) return null;
  const [rows = []] = await store.read([{ sql: `SELECT ${DESTINATION_COLUMNS} FROM destinations WHERE id = ?`, params: [id] }]);
  return rows[0] ? destinationFromRow(rows[0]) : null;
}

export async function updateDestination(store: Store, id: string, patch: DestinationPatch, now = Date.now()): Promise<Destination | null> {
  if (!isStoreId(id)) return null;
  if (patch.url !== undefined) checkUrl(patch.url);
  if (patch.headers !== undefined) checkHeaders(patch.headers);
  const sets: string[] = [];
  const params: (string | number | null)[] = [];
  const set = (column: string, value: string | number | null) => {
    sets.push(`${column} = ?`);
    params.push(value);
  };
  if (patch.url !== undefined) set('url', patch.url);
  if (patch.description !== undefined) set('description', patch.description);
  if (patch.kinds !== undefined) set('kinds', JSON.stringify(patch.kinds));
  if (patch.filters !== undefined) set('filters', JSON.stringify(patch.filters));
  if (patch.headers !== undefined) set('headers', JSON.stringify(patch.headers));
  if (patch.rate_limit !== undefined) set('rate_limit', patch.rate_limit);
  if (patch.max_in_flight !== undefined) set('max_in_flight', patch.max_in_flight);
  if (patch.state !== undefined) {
    set('state', patch.state);
    if (patch.state === 'active') set('disabled_reason', null);
  }
  set('updated_at', isoNow(now));
  const [rows = []] = await store.write([{ sql: `UPDATE destinations SET ${sets.join(', ')} WHERE id = ? RETURNING ${DESTINATION_COLUMNS}`, params: [...params, id] }]);
  return rows[0] ? destinationFromRow(rows[0]) : null;
}

/** Removes a destination with its deliveries and their attempts. */
export async function removeDestination(store: Store, id: string): Promise<boolean> {
  if (!isStoreId(id)) return false;
  const [, , rows = []] = await store.write([
    { sql: 'DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE destination_id = ?)', params: [id] },
    { sql: 'DELETE FROM deliveries WHERE destination_id = ?', params: [id] },
    { sql: 'DELETE FROM destinations WHERE id = ? RETURNING id', params: [id] },
  ]);
  return rows.length > 0;
}

/** A new secret; the current one keeps signing beside it for `overlapSec`. */
export async function rotateSecret(store: Store, id: string, overlapSec: number, now = Date.now()): Promise<{ secret: string; previous_secret_expires_at: string } | null> {
  if (!isStoreId(id)) return null;
  const secret = newSigningSecret();
  const until = now + overlapSec * 1000;
  const [rows = []] = await store.write([
    { sql: 'UPDATE destinations SET previous_secret = secret, previous_secret_until_ms = ?, secret = ?, updated_at = ? WHERE id = ? RETURNING id', params: [until, secret, isoNow(now), id] },
  ]);
  return rows.length > 0 ? { secret, previous_secret_expires_at: new Date(until).toISOString() } : null;
}

export interface DeliveryQuery {
  destination?: string | undefined;
  status?: 'pending' | 'succeeded' | 'dead' | undefined;
  kind?: string | undefined;
  limit: number;
  before?: string | undefined;
}

const DELIVERY_COLUMNS = 'id, destination_id, kind, message_id, message_at, event_id, replay, state, attempts, next_attempt_ms, created_ms, finished_ms, last_status, last_error';

/** Newest first, each with every attempt made. */
export async function listDeliveries(store: Store, q: DeliveryQuery): Promise<{ items: Delivery[]; next: string | null }> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  if (q.destination !== undefined && !isStoreId(q.destination)) return { items: [], next: null };
  if (q.before !== undefined && !isStoreId(q.before)) throw new CallhookError('invalid_cursor');
  add('destination_id = ?', q.destination);
  add('state = ?', q.status);
  add('kind = ?', q.kind);
  add('id < ?', q.before);
  const [rows = []] = await store.read([{ sql: `SELECT ${DELIVERY_COLUMNS} FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, params: [...params, q.limit + 1] }]);
  const page = rows.slice(0, q.limit);
  const items = await withAttempts(store, page);
  return { items, next: rows.length > q.limit ? (items[items.length - 1]?.id ?? null) : null };
}

export async function getDelivery(store: Store, id: string): Promise<Delivery | null> {
  if (!isStoreId(id)) return null;
  const [rows = []] = await store.read([{ sql: `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`, params: [id] }]);
  return (await withAttempts(store, rows))[0] ?? null;
}

async function withAttempts(store: Store, rows: Row[]): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => String(r['id']));
  const [attempts = []] = await store.read([
    { sql: `SELECT delivery_id, attempted_at, outcome, status_code, response_body, latency_ms, error FROM delivery_attempts WHERE delivery_id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`, params: ids },
  ]);
  const byDelivery = new Map<string, Delivery['attempt_log']>();
  for (const a of attempts) {
    const list = byDelivery.get(String(a['delivery_id'])) ?? [];
    list.push({
      attempted_at: String(a['attempted_at']),
      outcome: String(a['outcome']) as Delivery['attempt_log'][number]['outcome'],
      status_code: a['status_code'] === null ? null : Number(a['status_code']),
      response_body: a['response_body'] === null ? null : String(a['response_body']),
      latency_ms: Number(a['latency_ms']),
      error: a['error'] === null ? null : String(a['error']),
    });
    byDelivery.set(String(a['delivery_id']), list);
  }
  const ms = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
  return rows.map((r) => ({
    id: String(r['id']),
    destination_id: String(r['destination_id']),
    kind: String(r['kind']),
    message_id: messageId(r),
    timestamp: String(r['message_at']),
    event_id: r['event_id'] === null ? null : String(r['event_id']),
    replay: Number(r['replay']) === 1,
    state: String(r['state']) as Delivery['state'],
    attempts: Number(r['attempts']),
    next_attempt_at: r['state'] === 'pending' ? ms(r['next_attempt_ms']) : null,
    created_at: ms(r['created_ms']) as string,
    finished_at: ms(r['finished_ms']),
    last_status: r['last_status'] === null ? null : Number(r['last_status']),
    last_error: r['last_error'] === null ? null : String(r['last_error']),
    attempt_log: byDelivery.get(String(r['id'])) ?? [],
  }));
}

/** Sends a delivery again now, on a fresh retry schedule, whatever its state; not while it is in flight. */
export async function retryDelivery(store: Store, id: string, now = Date.now()): Promise<Delivery | null> {
  if (!isStoreId(id)) return null;
  const [rows = []] = await store.write([
    {
      sql: `UPDATE deliveries SET state = 'pending', step = 0, next_attempt_ms = ?, finished_ms = NULL
        WHERE id = ? AND (lease_until_ms IS NULL OR lease_until_ms < ?) RETURNING id`,
      params: [now, id, now],
    },
  ]);
  if (rows.length === 0) {
    const existing = await getDelivery(store, id);
    if (existing) throw new CallhookError('delivery_in_flight');
    return null;
  }
  return getDelivery(store, id);
}

/** Rows read per page while a replay walks its range. */
const REPLAY_PAGE = 5000;

/**
 * Queues, for one destination, what was stored in a range again: events by the time they were
 * received, call.updated with each call as it is now (calls that started in the range), and alert
 * firings and clearings. Events keep their webhook-id, so a receiver that has one already can tell.
 * The whole replay is queued in one transaction; replayed deliveries go out after live ones, at
 * most CALLHOOK_FORWARD_REPLAY_RATE a second.
 */
export async function replay(store: Store, destinationId: string, input: ReplayInput, config: Pick<Config, 'forwardReplayMax'>, now = Date.now()): Promise<ReplayResult | null> {
  const destination = await getDestination(store, destinationId);
  if (!destination) return null;
  const since = Date.parse(input.since);
  const until = input.until === undefined ? now : Date.parse(input.until);
  if (!(since < until)) throw new CallhookError('invalid_range', `got since ${input.since}, until ${new Date(until).toISOString()}`);
  const range = [new Date(since).toISOString(), new Date(until).toISOString()] as const;
  const kinds = input.kinds ?? destination.kinds;
  const route: Route = { id: destination.id, kinds, filters: destination.filters };
  const wants = (prefix: string) => kinds.some((k) => k === '*' || k.startsWith(prefix));
  const wantsEvents = kinds.some((k) => k === '*' || !(k.startsWith('call.') || k.startsWith('alert.')));

  const items: OutboxItem[] = [];
  const take = (batch: OutboxItem[]) => {
    for (const item of batch) {
      if (!kindMatches(kinds, item.kind) || !filtersMatch(route.filters, item.fields)) continue;
      items.push({ ...item, fields: {} });
      if (items.length > config.forwardReplayMax) throw new CallhookError('replay_too_large', `more than ${config.forwardReplayMax} in this range`);
    }
  };
  if (wantsEvents) await walk(store, 'SELECT id, received_at, data FROM events WHERE received_at >= ? AND received_at < ?', range, (r) => eventItem(JSON.parse(String(r['data'])) as Record<string, unknown>, String(r['id']), iso(r['received_at'] as string | Date)), take);
  if (wants('call.')) await walk(store, 'SELECT id, data FROM calls WHERE started_at >= ? AND started_at < ?', range, (r) => callItem(JSON.parse(String(r['data'])) as { id: string; last_event_at: string | null }, isoNow(now)), take);
  if (wants('alert.')) {
    const [alerts = []] = await store.read([
      { sql: 'SELECT id, rule, subject, fired_at, cleared_at, value, threshold, message FROM alerts WHERE (fired_at >= ? AND fired_at < ?) OR (cleared_at >= ? AND cleared_at < ?) ORDER BY id', params: [...range, ...range] },
    ]);
    const changes: OutboxItem[] = [];
    for (const row of alerts) {
      const alert = alertFromRow(row);
      const item = (state: 'firing' | 'cleared', at: string): OutboxItem => ({
        kind: `alert.${alert.rule}`, order_key: `alert:${alert.rule}:${alert.subject}`, message_id: `alt_${alert.id}_${state}`, message_at: at, alert_id: alert.id, alert_state: state, fields: { ...alert, state },
      });
      if (alert.fired_at >= range[0] && alert.fired_at < range[1]) changes.push(item('firing', alert.fired_at));
      if (alert.cleared_at !== null && alert.cleared_at >= range[0] && alert.cleared_at < range[1]) changes.push(item('cleared', alert.cleared_at));
    }
    take(changes);
  }

  const counts: Record<string, number> = {};
  for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
  const sample = items.slice(0, 20).map((i) => ({ kind: i.kind, message_id: i.message_id, timestamp: i.message_at }));
  if (!input.dry_run && items.length > 0) await store.write(outboxStatements([{ ...route, kinds: ['*'], filters: [] }], items, now, { replay: true }));
  return { dry_run: input.dry_run === true, count: items.length, kinds: counts, sample };
}


/** Reads a range page by page in id order, so that no read holds a whole range. */
async function walk(store: Store, sql: string, range: readonly [string, string], toItem: (r: Row) => OutboxItem, take: (items: OutboxItem[]) => void): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const page: Sql = after === null
      ? { sql: `${sql} ORDER BY id LIMIT ?`, params: [...range, REPLAY_PAGE] }
      : { sql: `${sql} AND id > ? ORDER BY id LIMIT ?`, params: [...range, after, REPLAY_PAGE] };
    const [rows = []] = await store.read([page]);
    take(rows.map(toItem));
    if (rows.length < REPLAY_PAGE) return;
    after = String(rows[rows.length - 1]?.['id']);
  }
}
