/**
 * Statistics over long ranges read rollups (sql/<dialect>/005_rollups.sql) instead of every call:
 * per 15-minute bucket and dimension, the additive figures of the calls that started in it, and
 * the starts and ends that fall in it (for concurrency). A range is read as its whole buckets from
 * the rollups plus its partial buckets at either end from the calls. Triggers mark the buckets
 * whose calls change, in the same transaction; a reader first recomputes the marked buckets, so
 * what it reads is never stale.
 */
import type { Sql, Store } from '../store/port.js';
import { int } from './tz.js';
import { CALLBACK_COLUMNS, END_SQL, eventsSql, OFFERED, sumColumns, timeKeySql, valueSql, type GroupBy, type Range, type Span, type SumOptions } from './sql.js';

const BUCKET_SEC = 900;
const DAY = 86_400;
const DIMS = ['all', 'team', 'agent', 'ivr', 'direction'] as const;
type Dim = (typeof DIMS)[number];

/** One refresh transaction recomputes at most a day of buckets, so it never holds the writer long. */
const REFRESH_SPAN = DAY / BUCKET_SEC;

const iso = (s: number) => new Date(s * 1000).toISOString();
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The rollup dimension a group reads, or null when it has none (number: one value per caller). */
function dimOf(group: GroupBy | null): Dim | null {
  if (group === null || group === 'hour' || group === 'day' || group === 'weekday') return 'all';
  return group === 'number' ? null : group;
}

/** A call's value (columns of `alias`) in the dimension `d.dim` of the dimensions' rows. */
const dimValue = (alias: string) =>
  `CASE d.dim WHEN 'all' THEN 'all' ${(['team', 'agent', 'ivr'] as const).map((g) => `WHEN '${g}' THEN ${valueSql(g, alias)}`).join(' ')} ELSE ${valueSql('direction', alias)} END`;
const DIM_ROWS = DIMS.map((d) => `SELECT '${d}' AS dim`).join(' UNION ALL ');
const claimed = 'SELECT bucket FROM stats_claim';

/**
 * The statements that recompute the dirty buckets in [lo, hi]: claimed, their rows replaced from
 * the calls, and their marks removed. Marks made meanwhile by other transactions stay for the
 * next refresh.
 */
function refreshStatements(lo: number, hi: number, o: SumOptions): Sql[] {
  const sums = [...sumColumns(o), ...CALLBACK_COLUMNS];
  const dimList = DIMS.map((d) => `'${d}'`).join(', ');
  const from = iso(lo * BUCKET_SEC);
  const to = iso((hi + 1) * BUCKET_SEC);
  return [
    { sql: 'INSERT INTO stats_claim (bucket) SELECT DISTINCT bucket FROM stats_dirty WHERE bucket >= ? AND bucket <= ?', params: [lo, hi] },
    { sql: 'ANALYZE stats_claim', params: [] },
    { sql: `DELETE FROM stats_dirty WHERE bucket IN (${claimed})`, params: [] },
    { sql: `DELETE FROM stats_buckets WHERE dim IN (${dimList}) AND bucket IN (${claimed})`, params: [] },
    { sql: `DELETE FROM stats_concurrency WHERE dim IN (${dimList}) AND bucket IN (${claimed})`, params: [] },
    {
      sql: `INSERT INTO stats_buckets (bucket, dim, value, ${sums.map(([name]) => name).join(', ')})
        SELECT c.started_s / ${BUCKET_SEC}, d.dim, ${dimValue('c')}, ${sums.map(([, sql]) => sql).join(', ')}
        FROM calls c CROSS JOIN (${DIM_ROWS}) d LEFT JOIN missed_calls m ON m.call_id = c.id LEFT JOIN missed_items i ON i.id = m.item_id
        WHERE c.started_at >= ? AND c.started_at < ? AND c.started_s / ${BUCKET_SEC} IN (${claimed})
        GROUP BY 1, 2, 3`,
      params: [from, to],
    },
    {
      sql: `INSERT INTO stats_concurrency (bucket, dim, value, delta, peak)
        SELECT b, dim, v, sum(step), max(n) FROM (
          SELECT b, dim, v, step, sum(step) OVER (PARTITION BY b, dim, v ORDER BY t, step ROWS UNBOUNDED PRECEDING) AS n FROM (
            SELECT e.t, e.step, e.t / ${BUCKET_SEC} AS b, d.dim, ${dimValue('e')} AS v
            FROM (${eventsSql('c.started_at >= ? AND c.started_at < ?')}) e CROSS JOIN (${DIM_ROWS}) d
            WHERE e.t / ${BUCKET_SEC} IN (${claimed})
          ) x
        ) w GROUP BY b, dim, v`,
      // a bucket holds the ends of calls that started up to a day before it
      params: [iso(lo * BUCKET_SEC - DAY), to, iso(lo * BUCKET_SEC - DAY), to],
    },
    { sql: 'DELETE FROM stats_claim', params: [] },
  ];
}

/** Numbers whose repeat rows one refresh transaction recomputes at most. */
const NUMBERS_PER_REFRESH = 5000;

/** The repeat rows of up to NUMBERS_PER_REFRESH dirty caller numbers, recomputed; gives how many were claimed. */
function repeatStatements(): Sql[] {
  const value = dimValue('c');
  return [
    { sql: `INSERT INTO stats_claim_numbers (number) SELECT DISTINCT number FROM stats_dirty_numbers LIMIT ${NUMBERS_PER_REFRESH}`, params: [] },
    // the claim's size, for the planner: a few numbers are read through calls_from, not by a scan
    { sql: 'ANALYZE stats_claim_numbers', params: [] },
    { sql: 'DELETE FROM stats_dirty_numbers WHERE number IN (SELECT number FROM stats_claim_numbers)', params: [] },
    { sql: 'DELETE FROM stats_repeats WHERE number IN (SELECT number FROM stats_claim_numbers)', params: [] },
    {
      sql: `INSERT INTO stats_repeats (dim, value, number, started_s, prev_s, prev2_s)
        SELECT dim, v, number, started_s, prev_s, prev2_s FROM (
          SELECT d.dim, ${value} AS v, c.from_number AS number, c.started_s, lag(c.started_s, 1) OVER w AS prev_s, lag(c.started_s, 2) OVER w AS prev2_s
          FROM calls c CROSS JOIN (${DIM_ROWS}) d
          WHERE c.from_number IN (SELECT number FROM stats_claim_numbers) AND ${OFFERED} AND c.started_s IS NOT NULL
          WINDOW w AS (PARTITION BY d.dim, ${value}, c.from_number ORDER BY c.started_s, c.id)
        ) x WHERE prev_s IS NOT NULL`,
      params: [],
    },
    { sql: 'SELECT count(*) AS n FROM stats_claim_numbers', params: [] },
    { sql: 'DELETE FROM stats_claim_numbers', params: [] },
  ];
}

const paramsText = (o: SumOptions) => JSON.stringify({ sl: o.sl, short_abandon: o.shortAbandon, rate_unit: o.rateUnit });

/** Every bucket that holds a start or an end, marked for recomputing. */
const MARK_ALL: Sql = {
  sql: `INSERT INTO stats_dirty (bucket) SELECT b FROM (
      SELECT c.started_s / ${BUCKET_SEC} AS b FROM calls c WHERE c.started_s IS NOT NULL
      UNION SELECT (${END_SQL}) / ${BUCKET_SEC} FROM calls c WHERE c.started_s IS NOT NULL
    ) x WHERE true ON CONFLICT DO NOTHING`,
  params: [],
};

/** Refreshes (one at a time per store in this process; across instances, under a lock). */
const running = new WeakMap<Store, Promise<void>>();

/** Recomputes the dirty buckets; when the settings the rollups hold differ from `o`, all of them first. */
export function refreshRollups(store: Store, o: SumOptions): Promise<void> {
  const current = running.get(store);
  if (current) return current;
  const run = refresh(store, o).finally(() => running.delete(store));
  running.set(store, run);
  return run;
}

async function refresh(store: Store, o: SumOptions, reset = true): Promise<void> {
  const [params = [], dirty = [], numbers = []] = await store.read([
    { sql: 'SELECT params FROM stats_params WHERE id = 1', params: [] },
    { sql: 'SELECT DISTINCT bucket FROM stats_dirty ORDER BY bucket', params: [] },
    { sql: 'SELECT 1 AS n FROM stats_dirty_numbers LIMIT 1', params: [] },
  ]);
  const wanted = paramsText(o);
  if (reset && params[0]?.['params'] !== wanted) {
    await store.write([
      { sql: 'DELETE FROM stats_buckets', params: [] },
      { sql: 'DELETE FROM stats_concurrency', params: [] },
      MARK_ALL,
      { sql: 'INSERT INTO stats_params (id, params) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET params = excluded.params', params: [wanted] },
    ], { exclusive: 'stats_rollups' });
    return refresh(store, o, false);
  }
  let writes = 0;
  for (let more = numbers.length > 0; more; writes++) {
    const rows = await store.write(repeatStatements(), { exclusive: 'stats_rollups' });
    more = Number(rows[5]?.[0]?.['n'] ?? 0) === NUMBERS_PER_REFRESH;
  }
  const buckets = dirty.map((r) => Number(r['bucket']));
  for (let i = 0; i < buckets.length; writes++) {
    const lo = buckets[i] as number;
    while (i < buckets.length && (buckets[i] as number) < lo + REFRESH_SPAN) i++;
    await store.write(refreshStatements(lo, buckets[i - 1] as number, o), { exclusive: 'stats_rollups' });
  }
  // after a large rebuild, the planner's figures for the rollups are refreshed too (as autovacuum
  // would, later), so that the first requests are planned for their real sizes
  if (writes > 10) await store.write(['stats_buckets', 'stats_concurrency', 'stats_repeats'].map((t) => ({ sql: `ANALYZE ${t}`, params: [] })));
}

/**
 * How a range is read: its whole buckets [lo, hi) from the rollups, and the rest from the calls.
 * Calls that started before the range and end inside it are in the rollups' buckets but not in the
 * range's figures, so the rollups are read only from the bucket after the last such end.
 */
export interface ReadPlan {
  rollup: { lo: number; hi: number } | null;
  /** Parts read from the calls: their starts in [since, until), their events in buckets [lo, hi) of calls that started from `from`. */
  raw: (Span & { lo: number; hi: number; from: string })[];
  /** Whether repeat callers are read from the repeat rows. */
  repeats: boolean;
}

/** The latest end of a call that started within a day before `since`. */
export function spillQuery(range: Range): Sql {
  return { sql: `SELECT max(${END_SQL}) AS e FROM calls c WHERE c.started_at >= ? AND c.started_at < ? AND c.started_s IS NOT NULL`, params: [iso(seconds(range.since) - DAY), range.since] };
}

export function readPlan(range: Range, useRollups: boolean, spill: number | null, repeats: boolean): ReadPlan {
  const since = seconds(range.since);
  const until = Math.ceil(Date.parse(range.until) / 1000);
  const whole: ReadPlan = { rollup: null, raw: [{ since: range.since, until: range.until, lo: Math.floor(since / BUCKET_SEC), hi: Math.ceil(until / BUCKET_SEC), from: range.since }], repeats };
  if (!useRollups) return whole;
  const lo = Math.max(Math.ceil(since / BUCKET_SEC), spill === null ? 0 : Math.floor(spill / BUCKET_SEC) + 1);
  const hi = Math.floor(until / BUCKET_SEC);
  if (lo >= hi) return whole;
  const raw: ReadPlan['raw'] = [];
  const loAt = lo * BUCKET_SEC;
  const hiAt = hi * BUCKET_SEC;
  if (Date.parse(range.since) < loAt * 1000) raw.push({ since: range.since, until: iso(loAt), lo: Math.floor(since / BUCKET_SEC), hi: lo, from: range.since });
  if (Date.parse(range.until) > hiAt * 1000) raw.push({ since: iso(hiAt), until: range.until, lo: hi, hi: hi + 1, from: iso(Math.max(since, hiAt - DAY)) });
  return { rollup: { lo, hi }, raw, repeats };
}

/** The additive figures and callbacks per key, from the rollups' whole buckets. */
export function rollupSumsQuery(group: GroupBy | null, range: Range, plan: NonNullable<ReadPlan['rollup']>, o: SumOptions): Sql {
  const dim = dimOf(group) as Dim;
  const key = group === null ? "'all'" : dim === 'all' ? timeKeySql(group as 'hour' | 'day' | 'weekday', range, `(s.bucket * ${BUCKET_SEC})`) : 's.value';
  return rollupSums(key, dim, plan, o);
}

function rollupSums(key: string, dim: Dim, plan: NonNullable<ReadPlan['rollup']>, o: SumOptions): Sql {
  const columns = [...sumColumns(o), ...CALLBACK_COLUMNS].map(([name]) => (name === 'longest_wait' ? `max(s.${name}) AS ${name}` : `sum(s.${name}) AS ${name}`));
  return { sql: `SELECT ${key} AS k, ${columns.join(', ')} FROM stats_buckets s WHERE s.dim = ? AND s.bucket >= ? AND s.bucket < ? GROUP BY 1`, params: [dim, plan.lo, plan.hi] };
}

/** Offered and missed per local weekday × 24 + hour, from the rollups' whole buckets. */
export function rollupHeatQuery(range: Range, plan: NonNullable<ReadPlan['rollup']>, o: SumOptions): Sql {
  return rollupSums(timeKeySql('weekhour', range, `(s.bucket * ${BUCKET_SEC})`), 'all', plan, o);
}

/**
 * The most calls in progress at one moment, per key, over calls that started in the range. For a
 * time group (hour, day, weekday) the moments are those within the group's local hours or days,
 * counting the calls carried into them; for any other group, calls of that group only.
 * Read per bucket (from the rollups or the calls), then a running sum over the buckets in order.
 */
export function peakQuery(group: GroupBy | null, range: Range, plan: ReadPlan): Sql {
  const time = group === 'hour' || group === 'day' || group === 'weekday';
  const dim = dimOf(group);
  const value = group === null || time ? "'all'" : valueSql(group as Exclude<GroupBy, 'hour' | 'day' | 'weekday'>, 'e');
  const sources: string[] = [];
  const params: (string | number)[] = [];
  if (plan.rollup && dim !== null) {
    sources.push('SELECT s.bucket AS bucket, s.value AS value, s.delta AS delta, s.peak AS peak FROM stats_concurrency s WHERE s.dim = ? AND s.bucket >= ? AND s.bucket < ?');
    params.push(dim, plan.rollup.lo, plan.rollup.hi);
  }
  for (const part of plan.raw) {
    sources.push(`SELECT b AS bucket, v AS value, sum(step) AS delta, max(n) AS peak FROM (
        SELECT b, v, step, sum(step) OVER (PARTITION BY b, v ORDER BY t, step ROWS UNBOUNDED PRECEDING) AS n FROM (
          SELECT e.t, e.step, e.t / ${BUCKET_SEC} AS b, ${value} AS v FROM (${eventsSql('c.started_at >= ? AND c.started_at < ?')}) e
          WHERE e.t >= ${int(part.lo * BUCKET_SEC)} AND e.t < ${int(part.hi * BUCKET_SEC)}
        ) x
      ) w GROUP BY b, v`);
    params.push(part.from, part.until, part.from, part.until);
  }
  const key = group === null ? "'all'" : time ? timeKeySql(group, range, `(r.bucket * ${BUCKET_SEC})`) : 'r.value';
  return {
    sql: `SELECT k, max(level + CASE WHEN peak > 0 THEN peak ELSE 0 END) AS peak FROM (
        SELECT ${key} AS k, r.peak, coalesce(sum(r.delta) OVER (PARTITION BY r.value ORDER BY r.bucket ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS level
        FROM (${sources.join(' UNION ALL ')}) r
      ) q GROUP BY k`,
    params,
  };
}

/**
 * Caller numbers with two or more offered calls in the range, per key, from the repeat rows. For a
 * dimension, a number's second call in the range has its own row (prev_s in the range, prev2_s
 * before it). For a time group, the calls in the range of the numbers that repeat are the rows
 * with prev_s in the range (the second call on), and the prev_s of the second call (the first).
 */
export function repeatsQuery(group: GroupBy | null, range: Range): Sql {
  const since = seconds(range.since);
  const until = Math.ceil(Date.parse(range.until) / 1000);
  const dim = dimOf(group);
  if (dim === null) throw new Error(`no repeat rows per ${String(group)}`);
  const inRange = 'r.dim = ? AND r.prev_s >= ? AND r.prev_s < ? AND r.started_s < ?';
  const second = '(r.prev2_s IS NULL OR r.prev2_s < ?)';
  if (group === null || dim !== 'all') {
    return {
      sql: `SELECT ${group === null ? "'all'" : 'r.value'} AS k, count(*) AS repeat_callers FROM stats_repeats r WHERE ${inRange} AND ${second} GROUP BY 1`,
      params: [dim, since, until, until, since],
    };
  }
  const key = timeKeySql(group as 'hour' | 'day' | 'weekday', range, 'x.t');
  return {
    sql: `SELECT k, count(*) AS repeat_callers FROM (
        SELECT ${key} AS k, x.number FROM (
          SELECT r.number, r.started_s AS t FROM stats_repeats r WHERE ${inRange}
          UNION ALL SELECT r.number, r.prev_s AS t FROM stats_repeats r WHERE ${inRange} AND ${second}
        ) x GROUP BY 1, 2 HAVING count(*) > 1
      ) y GROUP BY k`,
    params: ['all', since, until, until, 'all', since, until, until, since],
  };
}


/**
 * Keeps the rollups close to the calls in the background (at start, then once a minute), so that
 * a statistics request only recomputes what changed in the last minute.
 */
export class RollupKeeper {
  private timer: NodeJS.Timeout | null = null;
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store, private readonly options: SumOptions, private readonly onError: (err: unknown) => void) {}

  start(): void {
    const run = () => {
      this.last = refreshRollups(this.store, this.options).catch(this.onError);
    };
    run();
    this.timer = setInterval(run, 60_000).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.last;
  }
}
