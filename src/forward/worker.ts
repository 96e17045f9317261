import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { alertFromRow } from '../alerts/engine.js';
import type { Config } from '../config.js';
import { webhookSignature } from '../secrets.js';
import { Governor } from './governor.js';
import { messageId } from './routing.js';
import type { Row, Sql, Store } from '../store/port.js';
import { eventWithRawFromRow, type EventRow } from '../store/rows.js';

/** The first bytes of a destination's answer kept with each attempt. */
const RESPONSE_KEEP = 2048;
/** A lease outlives the request's timeout by this much; then another worker may take it over. */
const LEASE_MARGIN_MS = 5_000;
/** Deliveries claimed per destination, as a multiple of its requests in flight. */
const PREFETCH = 4;
/** Fresh deliveries a claim reads at most (see claimStatement): enough for many calls' firsts. */
const FRESH_WINDOW = 128;
/** sql/<dialect>/006's two parts of the pending deliveries, as the partial indexes state them. */
const FRESH = (t: string) => `${t}.state = 'pending' AND ${t}.replay = 0 AND ${t}.attempts = 0 AND ${t}.lease_until_ms IS NULL`;
const HELD = (t: string) => `${t}.state = 'pending' AND (${t}.replay = 1 OR ${t}.attempts > 0 OR ${t}.lease_until_ms IS NOT NULL)`;
/** The shortest time between the starts of two passes. */
const MIN_PASS_GAP_MS = 10;
/** How often the governor looks at how busy the process is. */
const GOVERNOR_WINDOW_MS = 250;
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
  leaseUntil: number;
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

/**
 * `budget` split into `n` equal whole shares, the remainder one each from position `turn` on.
 * Handed out in list order instead, the first destination would take a paced budget whole and
 * the others would wait for as long as ingest saturates the process. A share a destination
 * leaves unclaimed stays in the bucket for the next pass.
 */
export function shareOut(budget: number, n: number, turn: number): number[] {
  if (!Number.isFinite(budget)) return Array.from({ length: n }, () => budget);
  const each = Math.floor(budget / n);
  const extra = budget - each * n;
  return Array.from({ length: n }, (_, i) => each + ((i - (turn % n) + n) % n < extra ? 1 : 0));
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
  constructor(private rate: number) {
    this.tokens = Math.max(1, rate);
  }
  /** A new rate; what is saved up stays within a second of it. */
  setRate(rate: number): void {
    this.available();
    this.rate = rate;
    this.tokens = Math.min(this.tokens, Math.max(1, rate));
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

const CLAIM_COLUMNS = 'id, lease_until_ms, destination_id, kind, message_id, message_at, event_id, alert_id, alert_state, payload, step';

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
  /** Claimed deliveries not sent yet, per destination, with their bodies' data. */
  private readonly waiting = new Map<string, { delivery: Claimed; data: unknown }[]>();
  private readonly sending = new Set<Promise<void>>();
  private readonly rates = new Map<string, { normal: Bucket | null; replay: Bucket; rate: number | null }>();
  private results: Result[] = [];
  /** Claimed deliveries dropped unsent, whose leases the next pass gives up. */
  private released: string[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private cached: { at: number; list: Destination[] } | null = null;
  private generation = 0;
  private delayed: NodeJS.Timeout | null = null;
  private lastPass = 0;
  /** Which destination gets the odd unit of a paced budget; moves on with each pass. */
  private turn = 0;
  private readonly attempts: Counter<'destination' | 'outcome'>;
  private readonly governor: Governor | null;
  /** New deliveries across destinations while the governor paces them. */
  private paced: Bucket | null = null;
  private window = { ingested: 0, commits: 0, started: 0, at: 0, elu: null as EventLoopUtilization | null };
  private governing: NodeJS.Timeout | null = null;
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(
    private readonly store: Store,
    private readonly config: Pick<Config, 'forwardSchedule' | 'forwardTimeoutMs' | 'forwardConcurrency' | 'forwardReplayRate' | 'forwardPollMs' | 'forwardBusyRate'>,
    registry: Registry,
    private readonly onError: (err: unknown) => void,
  ) {
    this.schedule = config.forwardSchedule.map(durationMs);
    this.governor = config.forwardBusyRate > 0 ? new Governor(config.forwardBusyRate) : null;
    const registers = [registry];
    this.attempts = new Counter({ name: 'callhook_forward_attempts_total', help: 'Delivery attempts by destination and outcome (succeeded, failed, timeout, network_error, gone).', labelNames: ['destination', 'outcome'], registers });
    // one query per scrape for both gauges: they are collected at the same time and share it
    let loading: Promise<Row[]> | null = null;
    const pending = () =>
      (loading ??= store
        .read([
          {
            // each part read by its own index; the two cover every pending delivery
            sql: `SELECT destination_id, count(*) AS n, min(created_ms) AS oldest FROM (
                SELECT f.destination_id, f.created_ms FROM deliveries f WHERE ${FRESH('f')}
                UNION ALL SELECT h.destination_id, h.created_ms FROM deliveries h WHERE ${HELD('h')}) AS p
              GROUP BY destination_id`,
            params: [],
          },
        ])
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
    if (this.governor) {
      this.window = { ingested: 0, commits: 0, started: 0, at: performance.now(), elu: performance.eventLoopUtilization() };
      this.governing = setInterval(() => this.govern(), GOVERNOR_WINDOW_MS);
      this.governing.unref();
    }
    this.kick();
  }

  /** Ingest committed `webhooks` in one transaction: it may have queued deliveries. */
  ingested(webhooks: number): void {
    this.window.ingested += webhooks;
    this.window.commits++;
    this.kick();
  }

  /** The governor's window ended: the pace of new deliveries for the next one. */
  private govern(): void {
    const now = performance.now();
    const elu = performance.eventLoopUtilization(this.window.elu ?? undefined);
    const { ingested, commits, started, at } = this.window;
    this.window = { ingested: 0, commits: 0, started: 0, at: now, elu: performance.eventLoopUtilization() };
    const pace = this.governor?.update({ seconds: (now - at) / 1000, busy: elu.utilization, ingested, commits, started }) ?? null;
    if (pace === null) this.paced = null;
    else if (this.paced) this.paced.setRate(pace);
    else this.paced = new Bucket(pace);
  }

  /**
   * Runs a pass; a kick during a pass makes it run once more. Passes start at most every
   * MIN_PASS_GAP_MS: every commit kicks, and a pass per commit would cost ingest a transaction each.
   * While the governor paces deliveries, at most one pass per window: its few claims and results
   * then share one transaction instead of costing ingest one commit each.
   */
  kick(): void {
    if (this.stopped) return;
    if (this.running || this.delayed) {
      this.again = true;
      return;
    }
    const wait = this.lastPass + (this.paced ? GOVERNOR_WINDOW_MS : MIN_PASS_GAP_MS) - Date.now();
    if (wait > 0) {
      this.delayed = setTimeout(() => {
        this.delayed = null;
        this.kick();
      }, wait);
      return;
    }
    this.lastPass = Date.now();
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
    if (this.governing) clearInterval(this.governing);
    if (this.delayed) clearTimeout(this.delayed);
    this.governing = null;
    this.timer = null;
    this.delayed = null;
    // claimed deliveries not sent yet are let go at once, for another instance or the next start
    const unsent = [...this.released, ...[...this.waiting.values()].flat().map((w) => w.delivery.id)];
    this.released = [];
    this.waiting.clear();
    await this.idle();
    // what the last requests did is recorded by one more pass, which claims nothing now
    if (this.results.length > 0) await this.pass().catch(this.onError);
    this.agents.http.destroy();
    this.agents.https.destroy();
    if (unsent.length > 0) await this.store.write([this.releaseStatement(unsent)]).catch(this.onError);
  }

  /** Resolves when no pass runs and no request is in flight. */
  async idle(): Promise<void> {
    while (this.running || this.sending.size > 0) {
      await this.running;
      await Promise.all(this.sending);
    }
  }

  /**
   * One pass: the finished attempts are recorded and the next deliveries claimed in one
   * transaction (one commit, however many there are), then sent. Replayed deliveries are claimed
   * only when live ones leave room.
   */
  private async pass(): Promise<void> {
    const results = this.results;
    this.results = [];
    const released = this.released;
    this.released = [];
    const destinations = this.stopped ? [] : await this.destinations();
    const now = Date.now();
    // while the governor paces forwarding, the destinations share its budget
    const shares = shareOut(this.paced?.available() ?? Infinity, destinations.length, this.turn++);
    const wanted = destinations.flatMap((d, i) => {
      // claimed ahead of the requests in flight, so that a finished request is followed at once
      const free = d.maxInFlight * PREFETCH - (this.inFlight.get(d.id) ?? 0) - (this.waiting.get(d.id)?.length ?? 0);
      const rate = this.rateOf(d);
      const limit = Math.min(free, rate.normal?.available() ?? free, shares[i] as number);
      return limit > 0 ? [{ d, limit, rate }] : [];
    });
    const statements = [...(released.length > 0 ? [this.releaseStatement(released)] : []), ...this.flushStatements(results), ...wanted.map(({ d, limit }) => this.claimStatement(d, 0, limit, now))];
    if (statements.length === 0) return;
    let rows: Row[][];
    try {
      rows = await this.store.write(statements);
    } catch (err) {
      // kept for the next pass; the leases keep other workers off these deliveries meanwhile
      this.results.unshift(...results);
      this.released.unshift(...released);
      throw err;
    }
    const claimed = rows.slice(rows.length - wanted.length);
    for (const [i, { d, limit, rate }] of wanted.entries()) {
      const got = (claimed[i] ?? []).map((r) => claimedFromRow(r, d));
      rate.normal?.take(got.length);
      this.paced?.take(got.length);
      const room = Math.min(limit - got.length, rate.replay.available());
      if (room > 0) {
        const [replayed = []] = await this.store.write([this.claimStatement(d, 1, room, Date.now())]);
        rate.replay.take(replayed.length);
        rate.normal?.take(replayed.length);
        this.paced?.take(replayed.length);
        got.push(...replayed.map((r) => claimedFromRow(r, d)));
      }
      if (got.length > 0) await this.enqueue(got.sort((a, b) => Number(a.id) - Number(b.id)));
    }
  }

  /** The active destinations, read again at most once per poll interval or after a change. */
  private async destinations(): Promise<Destination[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.config.forwardPollMs) return this.cached.list;
    const generation = this.generation;
    const [rows = []] = await this.store.read([
      { sql: "SELECT id, url, headers, secret, previous_secret, previous_secret_until_ms, rate_limit, max_in_flight FROM destinations WHERE state = 'active' ORDER BY id", params: [] },
    ]);
    const list = rows.map((r) => destinationFromRow(r, now, this.config.forwardConcurrency));
    // a change made while this read ran is not hidden by it: the next pass reads again
    if (generation === this.generation) this.cached = { at: now, list };
    return list;
  }

  /** Destinations changed (added, paused, resumed, rotated): the next pass reads them again. */
  changed(): void {
    this.cached = null;
    this.generation++;
    this.kick();
  }

  private rateOf(d: Destination): { normal: Bucket | null; replay: Bucket; rate: number | null } {
    let rate = this.rates.get(d.id);
    if (!rate || rate.rate !== d.rateLimit) {
      rate = { normal: d.rateLimit === null ? null : new Bucket(d.rateLimit), replay: new Bucket(this.config.forwardReplayRate), rate: d.rateLimit };
      this.rates.set(d.id, rate);
    }
    return rate;
  }

  /**
   * Leases up to `limit` due deliveries of a destination still active (the list of destinations is
   * cached): only the first pending one of each call (order key), in two parts (sql/<dialect>/006):
   * - fresh deliveries (live, never tried nor leased), read in id order: those of a call that has
   *   a held delivery with a lower id wait, and so do those of a call with a live or leased held
   *   delivery of a higher id. On PostgreSQL, ingest transactions (of several batches, or several
   *   instances) can commit out of id order: a delivery that became visible after a later one of
   *   its call was claimed goes after it, never beside it. (A replay with a higher id, not leased,
   *   waits for the fresh ones instead: see below.) Of the rest the first FRESH_WINDOW by id are read,
   *   so that every fresh delivery of a call before the one picked is among them and each call's
   *   first can be told by row_number(). A fresh one is due when it is made.
   * - held ones (retrying, or leased and let go, or replayed) in due order, each the first held
   *   one of its call: one probe of the small held index, a correlated min() (PostgreSQL had
   *   planned NOT EXISTS over all pending deliveries as an anti join that scanned them per
   *   candidate).
   * A replayed delivery also waits for the fresh deliveries of its call queued before it, so it
   * goes out after every earlier delivery of its call, as a live one does; other calls' fresh
   * deliveries held back by retries do not hold it up.
   * The candidates are materialized once: written as `id IN (subquery)`, PostgreSQL ran the
   * subquery again for every pending delivery. The outer conditions are checked again on the row
   * as it is when locked (PostgreSQL re-reads a row another transaction updated), so a delivery
   * leased meanwhile by another instance is skipped.
   */
  private claimStatement(d: Destination, replay: 0 | 1, limit: number, now: number): Sql {
    const heldFirst = `SELECT h.id AS pick, h.next_attempt_ms AS due FROM deliveries h
      WHERE h.destination_id = ? AND ${HELD('h')} AND h.replay = ? AND h.next_attempt_ms <= ? AND (h.lease_until_ms IS NULL OR h.lease_until_ms < ?)
        AND h.id = (SELECT min(o.id) FROM deliveries o WHERE o.destination_id = h.destination_id AND o.order_key = h.order_key AND ${HELD('o')})`;
    const heldParams = [d.id, replay, now, now];
    const window = Math.max(FRESH_WINDOW, limit * 4);
    const fresh = `fresh AS MATERIALIZED (
        SELECT f.id, f.order_key, f.next_attempt_ms FROM deliveries f
        WHERE f.destination_id = ? AND ${FRESH('f')}
          AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.destination_id = f.destination_id AND o.order_key = f.order_key AND ${HELD('o')}
            AND (o.id < f.id OR o.replay = 0 OR o.lease_until_ms IS NOT NULL))
        ORDER BY f.id LIMIT ?)`;
    // replays are all held; live deliveries are fresh until claimed, or held when tried again. A
    // replay also waits for its call's fresh deliveries queued before it: those are in the window
    // when it is not full or reaches past the replay (a fresh one that waits for a held one is left
    // out of the window, and the replay waits for that held one itself)
    const candidates =
      replay === 1
        ? {
            sql: `${fresh},
              picked AS MATERIALIZED (${heldFirst}
                AND NOT EXISTS (SELECT 1 FROM fresh w WHERE w.order_key = h.order_key AND w.id < h.id)
                AND ((SELECT count(*) FROM fresh) < ? OR (SELECT max(id) FROM fresh) > h.id)
                ORDER BY due, pick LIMIT ?)`,
            params: [d.id, window, ...heldParams, window, limit],
          }
        : {
            sql: `${fresh},
              firsts AS (SELECT id, next_attempt_ms, row_number() OVER (PARTITION BY order_key ORDER BY id) AS n FROM fresh),
              picked AS MATERIALIZED (
                SELECT id AS pick, next_attempt_ms AS due FROM firsts WHERE n = 1 AND next_attempt_ms <= ?
                UNION ALL ${heldFirst}
                ORDER BY due, pick LIMIT ?)`,
            params: [d.id, window, now, ...heldParams, limit],
          };
    return {
      sql: `WITH ${candidates.sql}
        UPDATE deliveries SET lease_until_ms = ?, lease_owner = ?
        FROM picked WHERE deliveries.id = picked.pick AND state = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < ?)
          AND EXISTS (SELECT 1 FROM destinations t WHERE t.id = deliveries.destination_id AND t.state = 'active')
        RETURNING ${CLAIM_COLUMNS}`,
      // long enough for every delivery claimed ahead to have its turn
      params: [...candidates.params, now + (PREFETCH + 1) * this.config.forwardTimeoutMs + LEASE_MARGIN_MS, this.owner, now],
    };
  }

  /** Reads the bodies' data and starts the requests; each result is recorded by a later pass. */
  private async enqueue(claimed: Claimed[]): Promise<void> {
    const data = await bodies(this.store, claimed);
    const id = (claimed[0] as Claimed).destination.id;
    const queue = this.waiting.get(id) ?? [];
    for (const delivery of claimed) queue.push({ delivery, data: data.get(delivery.id) ?? null });
    this.waiting.set(id, queue);
    this.next(id, (claimed[0] as Claimed).destination.maxInFlight);
  }

  /** Starts waiting deliveries of a destination while it has room; each result is recorded by a later pass. */
  private next(id: string, maxInFlight: number): void {
    const queue = this.waiting.get(id) ?? [];
    while (queue.length > 0 && (this.inFlight.get(id) ?? 0) < maxInFlight) {
      const { delivery, data } = queue.shift() as { delivery: Claimed; data: unknown };
      // the lease could run out before the request does (the passes were slow): it is let go by the
      // next pass, for whichever worker claims it then, rather than risk another one sending it too
      if (delivery.leaseUntil < Date.now() + this.config.forwardTimeoutMs) {
        this.released.push(delivery.id);
        this.kick();
        continue;
      }
      this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
      this.window.started++;
      const p = this.send(delivery, data)
        .then((result) => {
          this.results.push(result);
          this.attempts.inc({ destination: id, outcome: result.outcome });
        })
        .finally(() => {
          this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
          this.sending.delete(p);
          if (!this.stopped) this.next(id, maxInFlight);
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
      const res = await post(delivery.destination.url, headers, body, this.config.forwardTimeoutMs, this.agents);
      const latencyMs = Date.now() - started;
      const outcome: AttemptOutcome = res.status >= 200 && res.status < 300 ? 'succeeded' : res.status === 410 ? 'gone' : 'failed';
      return { ...base, outcome, status: res.status, body: res.body, latencyMs, error: null, retryAfterMs: retryAfterMs(res.retryAfter, Date.now()) };
    } catch (err) {
      const latencyMs = Date.now() - started;
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const message = timeout ? `no answer within ${this.config.forwardTimeoutMs} ms` : err instanceof Error ? err.message : String(err);
      return { ...base, outcome: timeout ? 'timeout' : 'network_error', status: null, body: null, latencyMs, error: message, retryAfterMs: null };
    }
  }

  /** Gives up this instance's leases on deliveries it claimed but did not send. */
  private releaseStatement(ids: readonly string[]): Sql {
    return { sql: `UPDATE deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE id IN (${ids.map(() => '?').join(', ')}) AND lease_owner = ?`, params: [...ids, this.owner] };
  }

  /** What the finished attempts do to their deliveries (and to a destination that answered 410). */
  private flushStatements(results: readonly Result[]): Sql[] {
    if (results.length === 0) return [];
    const statements: Sql[] = [];
    const updates: (string | number | null)[] = [];
    const attempts: (string | number | null)[] = [];
    for (const r of results) {
      const next = nextStep(r, r.delivery.step, this.schedule);
      const error = r.error ?? (r.outcome === 'succeeded' ? null : `HTTP ${r.status}`);
      updates.push(r.delivery.id, next.state, next.step, next.next, r.status, error, next.state === 'pending' ? null : r.at + r.latencyMs);
      if (r.outcome === 'gone') {
        statements.push({
          sql: "UPDATE destinations SET state = 'disabled', disabled_reason = ?, updated_at = ? WHERE id = ? AND state = 'active'",
          params: [`${r.delivery.destination.url} answered 410 Gone at ${new Date(r.at).toISOString()}`, new Date(r.at).toISOString(), r.delivery.destination.id],
        });
        this.cached = null;
        this.generation++;
      }
      attempts.push(r.delivery.id, new Date(r.at).toISOString(), r.outcome, r.status, r.body, r.latencyMs, r.error);
    }
    // one UPDATE for all of them; the casts type the VALUES columns for PostgreSQL
    const row = '(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS BIGINT))';
    statements.push({
      sql: `UPDATE deliveries SET state = v.column2, step = v.column3, next_attempt_ms = v.column4, attempts = attempts + 1, lease_until_ms = NULL, lease_owner = NULL,
          last_status = v.column5, last_error = v.column6, finished_ms = v.column7
        FROM (VALUES ${results.map(() => row).join(', ')}) AS v WHERE deliveries.id = v.column1 AND deliveries.lease_owner = ?`,
      params: [...updates, this.owner],
    });
    statements.push({
      sql: `INSERT INTO delivery_attempts (delivery_id, attempted_at, outcome, status_code, response_body, latency_ms, error) VALUES ${results.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      params: attempts,
    });
    return statements;
  }
}

function claimedFromRow(r: Row, destination: Destination): Claimed {
  return {
    id: String(r['id']),
    destination,
    kind: String(r['kind']),
    message_id: messageId(r),
    message_at: String(r['message_at']),
    event_id: r['event_id'] === null ? null : String(r['event_id']),
    alert_id: r['alert_id'] === null ? null : String(r['alert_id']),
    alert_state: r['alert_state'] === null ? null : String(r['alert_state']),
    payload: r['payload'] === null ? null : String(r['payload']),
    step: Number(r['step']),
    leaseUntil: Number(r['lease_until_ms']),
  };
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
  // each read only when it has ids to look up; a read of one statement needs no transaction on PostgreSQL
  const [events = []] = eventIds.length === 0 ? [] : await store.read([{ sql: `SELECT id, received_at, redeliveries, data, raw FROM events WHERE id IN (${marks(eventIds.length)})`, params: eventIds }]);
  const [alerts = []] = alertIds.length === 0 ? [] : await store.read([{ sql: `SELECT id, rule, subject, fired_at, cleared_at, value, threshold, message FROM alerts WHERE id IN (${marks(alertIds.length)})`, params: alertIds }]);
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

/**
 * One POST over node:http(s) with keep-alive agents: a fraction of fetch's CPU per request, which
 * matters when forwarding shares the machine with ingest. Redirects are not followed. Keeps the
 * first RESPONSE_KEEP bytes of the answer and drops the rest; the timeout covers the whole exchange.
 */
function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, agents: { http: http.Agent; https: https.Agent }): Promise<{ status: number; body: string; retryAfter: string | null }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: secure ? agents.https : agents.http, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const retry = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, RESPONSE_KEEP).toString('utf8'), retryAfter: typeof retry === 'string' ? retry : null });
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= RESPONSE_KEEP) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
