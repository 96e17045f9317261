import Type, { type Static } from 'typebox';
import type { Config } from '../config.js';
import { alertOutboxStatements, ROUTES_QUERY, routesFromRows } from '../forward/routing.js';
import { decimal } from '../stats/figures.js';
import { keySql, latestBalanceQuery, rollupOptions, sumsQuery } from '../stats/sql.js';
import { offsetAt } from '../stats/tz.js';
import type { Row, Sql, Store } from '../store/port.js';
import { micros } from '../store/rows.js';

export const ALERT_RULES = ['missed_not_called_back', 'service_level', 'longest_wait', 'silence', 'low_balance'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

const Str = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const AlertSchema = Type.Object(
  {
    id: Type.String(),
    rule: Type.Enum([...ALERT_RULES]),
    subject: Type.String({ description: "What it is about: a callback item's id for missed_not_called_back, else \"all\"." }),
    state: Type.Enum(['firing', 'cleared']),
    fired_at: Type.String(),
    cleared_at: Str('When it cleared; null while firing.'),
    value: Str('The measured value when it fired.'),
    threshold: Str('The configured threshold.'),
    message: Type.String(),
  },
  { additionalProperties: false },
);
export type Alert = Static<typeof AlertSchema>;

export function alertFromRow(r: Row): Alert {
  const str = (k: string) => (r[k] === null || r[k] === undefined ? null : String(r[k]));
  return {
    id: String(r['id']),
    rule: String(r['rule']) as AlertRule,
    subject: String(r['subject']),
    state: r['cleared_at'] === null || r['cleared_at'] === undefined ? 'firing' : 'cleared',
    fired_at: String(r['fired_at']),
    cleared_at: str('cleared_at'),
    value: str('value'),
    threshold: str('threshold'),
    message: String(r['message']),
  };
}

const ALERT_COLUMNS = 'id, rule, subject, fired_at, cleared_at, value, threshold, message';
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** Overdue callbacks are alerted for items missed within this long before their deadline, not for an old backlog. */
const CALLBACK_LOOKBACK_MS = 24 * 3600_000;

/** Whether epoch ms `at` is within "mon-fri 09:00-18:00" in `tz`. */
export function inBusinessHours(spec: string, tz: string, at: number): boolean {
  const m = /^(\w{3})(?:-(\w{3}))? (\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(spec);
  if (!m) return true;
  const local = Math.floor(at / 1000) + offsetAt(tz, Math.floor(at / 1000));
  const day = (Math.floor(local / 86_400) + 4) % 7;
  const minute = Math.floor((local % 86_400) / 60);
  const from = DAYS.indexOf(m[1] as string);
  const to = DAYS.indexOf((m[2] ?? m[1]) as string);
  const dayOk = from <= to ? day >= from && day <= to : day >= from || day <= to;
  return dayOk && minute >= Number(m[3]) * 60 + Number(m[4]) && minute < Number(m[5]) * 60 + Number(m[6]);
}

type Verdict = { fire: true; value: string; message: string } | { fire: false } | null;

/**
 * Checks the alert rules of the configuration against the store. A firing and a clearing are rows
 * written with a unique index on the firing ones, so each happens once even with several instances
 * checking; `onChange` hears only the changes this instance wrote.
 */
export class AlertEngine {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly startedAt: number;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly onChange: (alert: Alert) => void,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  get enabled(): boolean {
    const c = this.config;
    return c.alertCallbackMin > 0 || c.alertServiceLevelPct > 0 || c.alertWaitSec > 0 || c.alertSilenceMin > 0 || c.alertBalanceBelow !== undefined;
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => void this.check().catch(this.onError), this.config.alertIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One check of every rule; a check already running is waited for, not doubled. */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    const c = this.config;
    const now = this.now();
    const at = new Date(now).toISOString();
    if (c.alertCallbackMin > 0) await this.callbacks(now, at);
    if (c.alertServiceLevelPct > 0) await this.apply('service_level', 'all', `${c.alertServiceLevelPct}%`, at, await this.serviceLevel(now));
    if (c.alertWaitSec > 0) await this.apply('longest_wait', 'all', `${c.alertWaitSec} s`, at, await this.longestWait(now));
    if (c.alertSilenceMin > 0) await this.apply('silence', 'all', `${c.alertSilenceMin} min`, at, await this.silence(now));
    if (c.alertBalanceBelow !== undefined) await this.apply('low_balance', 'all', c.alertBalanceBelow, at, await this.balance());
  }

  private async serviceLevel(now: number): Promise<Verdict> {
    const c = this.config;
    const range = { since: new Date(now - 3600_000).toISOString(), until: new Date(now + 1).toISOString(), tz: 'UTC' };
    const [[row] = []] = await this.store.read([sumsQuery(keySql(null, range), range, rollupOptions(c))]);
    const base = Number(row?.['sl_base'] ?? 0);
    // no offered call in the hour: nothing to judge, the state stays as it is
    if (base === 0) return null;
    const level = Number(row?.['sl_within'] ?? 0) / base;
    const pct = `${(level * 100).toFixed(1)}%`;
    return level * 100 < c.alertServiceLevelPct ? { fire: true, value: pct, message: `Service level over the last 60 minutes is ${pct}, below ${c.alertServiceLevelPct}% (answered within ${c.slSec} s).` } : { fire: false };
  }

  private async longestWait(now: number): Promise<Verdict> {
    const [[row] = []] = await this.store.read([
      { sql: "SELECT min(c.started_at) AS oldest FROM calls c WHERE c.status IN ('waiting', 'ringing') AND c.direction = 'inbound'", params: [] },
    ]);
    const oldest = row?.['oldest'];
    if (oldest === null || oldest === undefined || oldest === '') return { fire: false };
    const wait = Math.floor((now - Date.parse(String(oldest))) / 1000);
    return wait > this.config.alertWaitSec ? { fire: true, value: `${wait} s`, message: `A caller has been waiting ${wait} s, over ${this.config.alertWaitSec} s.` } : { fire: false };
  }

  private async silence(now: number): Promise<Verdict> {
    const c = this.config;
    const [[row] = []] = await this.store.read([{ sql: 'SELECT received_at FROM requests ORDER BY id DESC LIMIT 1', params: [] }]);
    const raw = row?.['received_at'];
    const last = raw === undefined || raw === null ? this.startedAt : raw instanceof Date ? raw.getTime() : Date.parse(String(raw));
    const quietMin = (now - last) / 60_000;
    if (quietMin <= c.alertSilenceMin) return { fire: false };
    // outside business hours silence is expected: neither fire nor clear
    if (!inBusinessHours(c.businessHours, c.tz, now)) return null;
    const since = new Date(last).toISOString();
    return { fire: true, value: `${Math.floor(quietMin)} min`, message: `No webhook received since ${since} (${Math.floor(quietMin)} min, within business hours).` };
  }

  private async balance(): Promise<Verdict> {
    const c = this.config;
    const [[row] = []] = await this.store.read([latestBalanceQuery]);
    if (!row) return null;
    const balance = Number(row['balance']);
    const below = micros(c.alertBalanceBelow ?? null) ?? 0;
    const reset = Math.max(below, micros(c.alertBalanceReset ?? null) ?? below);
    if (balance < below) return { fire: true, value: decimal(balance), message: `The PIOPIY balance is ${decimal(balance)}, below ${c.alertBalanceBelow}.` };
    // between the two levels the state holds: it does not flap around one threshold
    return balance >= reset ? { fire: false } : null;
  }

  private async callbacks(now: number, at: string): Promise<void> {
    const c = this.config;
    const deadline = new Date(now - c.alertCallbackMin * 60_000).toISOString();
    const lookback = new Date(now - c.alertCallbackMin * 60_000 - CALLBACK_LOOKBACK_MS).toISOString();
    const [overdue = [], settled = []] = await this.store.read([
      { sql: "SELECT id, number, first_missed_at, attempts FROM missed_items WHERE state = 'open' AND first_missed_at < ? AND first_missed_at >= ? ORDER BY first_missed_at LIMIT 500", params: [deadline, lookback] },
      {
        sql: "SELECT a.subject FROM alerts a LEFT JOIN missed_items i ON i.id = a.subject WHERE a.rule = 'missed_not_called_back' AND a.cleared_at IS NULL AND (i.id IS NULL OR i.state = 'resolved')",
        params: [],
      },
    ]);
    for (const item of overdue) {
      const minutes = Math.floor((now - Date.parse(String(item['first_missed_at']))) / 60_000);
      const message = `${String(item['number'])} missed ${String(item['attempts'])} call(s) from ${String(item['first_missed_at'])} and has not been called back within ${c.alertCallbackMin} min.`;
      await this.record('missed_not_called_back', String(item['id']), `${c.alertCallbackMin} min`, at, { fire: true, value: `${minutes} min`, message });
    }
    for (const s of settled) await this.record('missed_not_called_back', String(s['subject']), `${c.alertCallbackMin} min`, at, { fire: false });
  }

  private async apply(rule: AlertRule, subject: string, threshold: string, at: string, verdict: Verdict): Promise<void> {
    if (verdict !== null) await this.record(rule, subject, threshold, at, verdict);
  }

  private async record(rule: AlertRule, subject: string, threshold: string, at: string, verdict: NonNullable<Verdict>): Promise<void> {
    const statement: Sql = verdict.fire
      ? {
          sql: `INSERT INTO alerts (rule, subject, fired_at, value, threshold, message) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (rule, subject) WHERE cleared_at IS NULL DO NOTHING RETURNING ${ALERT_COLUMNS}`,
          params: [rule, subject, at, verdict.value, threshold, verdict.message],
        }
      : { sql: `UPDATE alerts SET cleared_at = ? WHERE rule = ? AND subject = ? AND cleared_at IS NULL RETURNING ${ALERT_COLUMNS}`, params: [at, rule, subject] };
    // forwarding's outbox rows go in the same transaction as the change they announce
    const [routeRows = []] = await this.store.read([ROUTES_QUERY]);
    const change = { rule, subject, state: verdict.fire ? ('firing' as const) : ('cleared' as const), at, fields: verdict.fire ? { value: verdict.value, threshold } : { threshold } };
    const [rows = []] = await this.store.write([statement, ...alertOutboxStatements(routesFromRows(routeRows), change, Date.now())]);
    for (const row of rows) this.onChange(alertFromRow(row));
  }
}

/** One alert as it is now, or null. */
export async function readAlert(store: Store, id: string): Promise<Alert | null> {
  const [[row] = []] = await store.read([{ sql: `SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`, params: [id] }]);
  return row ? alertFromRow(row) : null;
}

export function listAlertsQuery(q: { state?: 'firing' | 'cleared' | undefined; rule?: string | undefined; limit: number }): Sql {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.state === 'firing') where.push('cleared_at IS NULL');
  if (q.state === 'cleared') where.push('cleared_at IS NOT NULL');
  if (q.rule !== undefined) {
    where.push('rule = ?');
    params.push(q.rule);
  }
  return { sql: `SELECT ${ALERT_COLUMNS} FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY fired_at DESC, id DESC LIMIT ?`, params: [...params, q.limit] };
}
