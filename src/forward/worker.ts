import { randomBytes } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { alertFromRow } from '../alerts/engine.js';
import type { Config } from '../config.js';
import { webhookSignature } from '../secrets.js';
import type { Row, Sql, Store } from '../store/port.js';
import { eventWithRawFromRow, type EventRow } from '../store/rows.js';

/** The first bytes of a destination's answer kept with each attempt. */
const RESPONSE_KEEP = 2048;
/** A lease outlives the request's timeout by this much; then another worker may take it over. */
const LEASE_MARGIN_MS = 5_000;
/** The longest Retry-After honoured. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

export type AttemptOutcome = 'succeeded' | 'failed' | 'timeout' | 'network_error' | 'gone';

interface Destination {
  id: string;
  url: string;
  headers: Record<string, string>;
  secrets: string[];
  rateLimit: number | null;
  maxInFlight: number;
}

interface Claimed {
  id: string;
  destination: Destination;
  kind: string;
  message_id: string;
  message_at: string;
  event_id: string | null;
  alert_id: string | null;
  alert_state: string | null;
  payload: string | null;
  step: number;
}

interface Result {
  delivery: Claimed;
  outcome: AttemptOutcome;
  status: number | null;
  body: string | null;
  latencyMs: number;
  error: string | null;
  retryAfterMs: number | null;
  at: number;
}

/** '5s', '2m', '250ms' as milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : null;
}

/** What an attempt's outcome does to its delivery: the next state and, for a retry, when. */
export function nextStep(result: Pick<Result, 'outcome' | 'status' | 'retryAfterMs' | 'at'>, step: number, schedule: readonly number[]): { state: 'succeeded' | 'pending' | 'dead'; step: number; next: number } {
  const { outcome, status, at } = result;
  if (outcome === 'succeeded') return { state: 'succeeded', step, next: at };
  // the destination is disabled: the delivery waits, unchanged, until it is resumed
  if (outcome === 'gone') return { state: 'pending', step, next: at };
  const retryable = outcome === 'timeout' || outcome === 'network_error' || status === 429 || (status !== null && status >= 500);
  if (!retryable || step >= schedule.length) return { state: 'dead', step, next: at };
  return { state: 'pending', step: step + 1, next: at + (result.retryAfterMs ?? (schedule[step] as number)) };
}

class Bucket {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly rate: number) {
    this.tokens = Math.max(1, rate);
  }
  available(): number {
    const now = Date.now();
    this.tokens = Math.min(Math.max(1, this.rate), this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return Math.floor(this.tokens);
  }
  take(n: number): void {
    this.tokens -= n;
  }
}

const CLAIM_COLUMNS = 'id, destination_id, kind, message_id, message_at, event_id, alert_id, alert_state, payload, step';

/**
 * Delivers the outbox. Each pass claims due deliveries under a lease (the claim re-checks the
 * lease in its UPDATE, so two instances never take the same one) and only the first pending
 * delivery of each call per destination, which keeps a call's deliveries in order while
 * different calls go out in parallel. Results are written back in batches.
 */
export class Forwarder {
  private readonly owner = randomBytes(8).toString('hex');
  private readonly schedule: number[];
  private readonly inFlight = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private readonly rates = new Map<string, { normal: Bucket | null; replay: Bucket; rate: number | null }>();
  private results: Result[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly attempts: Counter<'destination' | 'outcome'>;

  constructor(
    private readonly store: Store,
    private readonly config: Pick<Config, 'forwardSchedule' | 'forwardTimeoutMs' | 'forwardConcurrency' | 'forwardReplayRate' | 'forwardPollMs'>,
    registry: Registry,
    private readonly onError: (err: unknown) => void,
  ) {
    this.schedule = config.forwardSchedule.map(durationMs);
    const registers = [registry];
    this.attempts = new Counter({ name: 'callhook_forward_attempts_total', help: 'Delivery attempts by destination and outcome (succeeded, failed, timeout, network_error, gone).', labelNames: ['destination', 'outcome'], registers });
    // one query per scrape for both gauges: they are collected at the same time and share it
    let loading: Promise<Row[]> | null = null;
    const pending = () =>
      (loading ??= store
        .read([{ sql: "SELECT destination_id, count(*) AS n, min(created_ms) AS oldest FROM deliveries WHERE state = 'pending' GROUP BY destination_id", params: [] }])
        .then(([rows = []]) => rows)
        .finally(() => (loading = null)));
    const gauge = (name: string, help: string, value: (r: Row) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['destination'],
        registers,
        async collect() {
          // /metrics must answer while the database does not (callhook_database_up says so): the
          // gauges then keep their last values
          const rows = await Promise.race([pending(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref())]).catch(() => null);
          if (rows === null) return;
          this.reset();
          for (const r of rows) this.set({ destination: String(r['destination_id']) }, value(r));
        },
      });
    gauge('callhook_forward_queue_depth', 'Deliveries waiting to be sent, per destination (paused ones included).', (r) => Number(r['n']));
    gauge('callhook_forward_oldest_pending_seconds', 'Age of the oldest delivery waiting to be sent, per destination.', (r) => Math.max(0, (Date.now() - Number(r['oldest'])) / 1000));
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.config.forwardPollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs a pass; a kick during a pass makes it run once more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops claiming, lets the requests in flight finish (each within its timeout) and records them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
    await this.flush().catch(this.onError);
  }

  /** Resolves when no pass runs and no request is in flight. */
  async idle(): Promise<void> {
    while (this.running || this.sending.size > 0) {
      await this.running;
      await Promise.all(this.sending);
    }
  }

  private async pass(): Promise<void> {
    await this.flush();
    if (this.stopped) return;
    const [rows = []] = await this.store.read([
      { sql: "SELECT id, url, headers, secret, previous_secret, previous_secret_until_ms, rate_limit, max_in_flight FROM destinations WHERE state = 'active' ORDER BY id", params: [] },
    ]);
    const now = Date.now();
    for (const r of rows) {
      const d = destinationFromRow(r, now, this.config.forwardConcurrency);
      const free = d.maxInFlight - (this.inFlight.get(d.id) ?? 0);
      if (free <= 0) continue;
      const rate = this.rateOf(d);
      const normal = Math.min(free, rate.normal?.available() ?? free);
      const claimed = normal > 0 ? await this.claim(d, 0, normal) : [];
      rate.normal?.take(claimed.length);
      const left = Math.min(free - claimed.length, rate.replay.available(), rate.normal?.available() ?? Infinity);
      if (left > 0) {
        const replayed = await this.claim(d, 1, left);
        rate.replay.take(replayed.length);
        rate.normal?.take(replayed.length);
        claimed.push(...replayed);
      }
      if (claimed.length > 0) await this.dispatch(claimed);
    }
  }

  private rateOf(d: Destination): { normal: Bucket | null; replay: Bucket; rate: number | null } {
    let rate = this.rates.get(d.id);
    if (!rate || rate.rate !== d.rateLimit) {
      rate = { normal: d.rateLimit === null ? null : new Bucket(d.rateLimit), replay: new Bucket(this.config.forwardReplayRate), rate: d.rateLimit };
      this.rates.set(d.id, rate);
    }
    return rate;
  }

  private async claim(d: Destination, replay: 0 | 1, limit: number): Promise<Claimed[]> {
    const now = Date.now();
    const lease = now + this.config.forwardTimeoutMs + LEASE_MARGIN_MS;
    const free = '(lease_until_ms IS NULL OR lease_until_ms < ?)';
    const [rows = []] = await this.store.write([
      {
        // the outer conditions are checked again on the row as it is when locked (PostgreSQL
        // re-reads a row another transaction updated), so a delivery leased meanwhile is skipped
        sql: `UPDATE deliveries SET lease_until_ms = ?, lease_owner = ?
          WHERE id IN (
            SELECT d.id FROM deliveries d
            WHERE d.destination_id = ? AND d.state = 'pending' AND d.replay = ? AND d.next_attempt_ms <= ? AND (d.lease_until_ms IS NULL OR d.lease_until_ms < ?)
              AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.destination_id = d.destination_id AND p.order_key = d.order_key AND p.state = 'pending' AND p.id < d.id)
            ORDER BY d.next_attempt_ms, d.id LIMIT ?)
          AND state = 'pending' AND ${free}
          RETURNING ${CLAIM_COLUMNS}`,
        params: [lease, this.owner, d.id, replay, now, now, limit, now],
      },
    ]);
    return rows
      .map((r) => ({
        id: String(r['id']),
        destination: d,
        kind: String(r['kind']),
        message_id: r['message_id'] === null ? `msg_${String(r['id'])}` : String(r['message_id']),
        message_at: String(r['message_at']),
        event_id: r['event_id'] === null ? null : String(r['event_id']),
        alert_id: r['alert_id'] === null ? null : String(r['alert_id']),
        alert_state: r['alert_state'] === null ? null : String(r['alert_state']),
        payload: r['payload'] === null ? null : String(r['payload']),
        step: Number(r['step']),
      }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** Reads the bodies' data and starts the requests; each result is recorded by a later pass. */
  private async dispatch(claimed: Claimed[]): Promise<void> {
    const data = await bodies(this.store, claimed);
    for (const delivery of claimed) {
      const id = delivery.destination.id;
      this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
      const p = this.send(delivery, data.get(delivery.id) ?? null)
        .then((result) => {
          this.results.push(result);
          this.attempts.inc({ destination: id, outcome: result.outcome });
        })
        .finally(() => {
          this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
          this.sending.delete(p);
          this.kick();
        });
      this.sending.add(p);
    }
  }

  private async send(delivery: Claimed, data: unknown): Promise<Result> {
    const body = JSON.stringify({ type: delivery.kind, timestamp: delivery.message_at, data });
    const started = Date.now();
    const timestamp = Math.floor(started / 1000);
    const headers: Record<string, string> = {
      ...delivery.destination.headers,
      'content-type': 'application/json',
      'user-agent': 'callhook',
      'webhook-id': delivery.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(delivery.destination.secrets, delivery.message_id, timestamp, body),
    };
    const base = { delivery, at: started };
    try {
      const res = await fetch(delivery.destination.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.config.forwardTimeoutMs) });
      const text = await firstBytes(res);
      const latencyMs = Date.now() - started;
      const outcome: AttemptOutcome = res.status >= 200 && res.status < 300 ? 'succeeded' : res.status === 410 ? 'gone' : 'failed';
      return { ...base, outcome, status: res.status, body: text, latencyMs, error: null, retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()) };
    } catch (err) {
      const latencyMs = Date.now() - started;
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      const message = timeout ? `no answer within ${this.config.forwardTimeoutMs} ms` : `${err instanceof Error ? err.message : String(err)}${cause}`;
      return { ...base, outcome: timeout ? 'timeout' : 'network_error', status: null, body: null, latencyMs, error: message, retryAfterMs: null };
    }
  }

  /** Writes the finished attempts and what they do to their deliveries, in one transaction. */
  private async flush(): Promise<void> {
    if (this.results.length === 0) return;
    const results = this.results;
    this.results = [];
    const statements: Sql[] = [];
    const attempts: (string | number | null)[] = [];
    for (const r of results) {
      const next = nextStep(r, r.delivery.step, this.schedule);
      const error = r.error ?? (r.outcome === 'succeeded' ? null : `HTTP ${r.status}`);
      statements.push({
        sql: `UPDATE deliveries SET state = ?, step = ?, next_attempt_ms = ?, attempts = attempts + 1, lease_until_ms = NULL, lease_owner = NULL,
          last_status = ?, last_error = ?, finished_ms = ? WHERE id = ? AND lease_owner = ?`,
        params: [next.state, next.step, next.next, r.status, error, next.state === 'pending' ? null : r.at + r.latencyMs, r.delivery.id, this.owner],
      });
      if (r.outcome === 'gone') {
        statements.push({
          sql: "UPDATE destinations SET state = 'disabled', disabled_reason = ?, updated_at = ? WHERE id = ? AND state = 'active'",
          params: [`${r.delivery.destination.url} answered 410 Gone at ${new Date(r.at).toISOString()}`, new Date(r.at).toISOString(), r.delivery.destination.id],
        });
      }
      attempts.push(r.delivery.id, new Date(r.at).toISOString(), r.outcome, r.status, r.body, r.latencyMs, r.error);
    }
    const tuple = '(?, ?, ?, ?, ?, ?, ?)';
    statements.push({
      sql: `INSERT INTO delivery_attempts (delivery_id, attempted_at, outcome, status_code, response_body, latency_ms, error) VALUES ${results.map(() => tuple).join(', ')}`,
      params: attempts,
    });
    try {
      await this.store.write(statements);
    } catch (err) {
      // kept for the next pass; the leases keep other workers off these deliveries meanwhile
      this.results.unshift(...results);
      throw err;
    }
  }
}

function destinationFromRow(r: Row, now: number, defaultInFlight: number): Destination {
  const previous = r['previous_secret'] === null || Number(r['previous_secret_until_ms']) <= now ? [] : [String(r['previous_secret'])];
  return {
    id: String(r['id']),
    url: String(r['url']),
    headers: JSON.parse(String(r['headers'])) as Record<string, string>,
    secrets: [String(r['secret']), ...previous],
    rateLimit: r['rate_limit'] === null ? null : Number(r['rate_limit']),
    maxInFlight: r['max_in_flight'] === null ? defaultInFlight : Number(r['max_in_flight']),
  };
}

/** The data of each delivery's body: its event (with the raw payload), its alert, or its stored payload. */
async function bodies(store: Store, claimed: readonly Claimed[]): Promise<Map<string, unknown>> {
  const eventIds = [...new Set(claimed.flatMap((c) => (c.event_id === null ? [] : [c.event_id])))];
  const alertIds = [...new Set(claimed.flatMap((c) => (c.alert_id === null ? [] : [c.alert_id])))];
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  const [events = [], alerts = []] = await store.read([
    { sql: eventIds.length === 0 ? 'SELECT 1 WHERE 1 = 0' : `SELECT id, received_at, redeliveries, data, raw FROM events WHERE id IN (${marks(eventIds.length)})`, params: eventIds },
    { sql: alertIds.length === 0 ? 'SELECT 1 WHERE 1 = 0' : `SELECT id, rule, subject, fired_at, cleared_at, value, threshold, message FROM alerts WHERE id IN (${marks(alertIds.length)})`, params: alertIds },
  ]);
  const eventById = new Map(events.map((r) => [String(r['id']), eventWithRawFromRow(r as unknown as EventRow)]));
  const alertById = new Map(alerts.map((r) => [String(r['id']), alertFromRow(r)]));
  const out = new Map<string, unknown>();
  for (const c of claimed) {
    if (c.event_id !== null) out.set(c.id, eventById.get(c.event_id) ?? null);
    else if (c.alert_id !== null) {
      const alert = alertById.get(c.alert_id);
      // a firing is sent as it was when it fired, even if it has cleared since
      out.set(c.id, alert && c.alert_state === 'firing' ? { ...alert, state: 'firing', cleared_at: null } : (alert ?? null));
    } else out.set(c.id, c.payload === null ? null : (JSON.parse(c.payload) as unknown));
  }
  return out;
}

/** The first RESPONSE_KEEP bytes of a response body as text; the rest is not read. */
async function firstBytes(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_KEEP) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_KEEP).toString('utf8');
}
