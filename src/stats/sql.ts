import { localSecondsSql, offsetSegments } from './tz.js';

import type { Sql } from '../store/port.js';

type ReadQuery = Sql;

export const GROUP_BY = ['team', 'agent', 'hour', 'day', 'weekday', 'ivr', 'number', 'direction'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export type RateUnit = 'minute' | 'call';

export interface Range {
  /** ISO 8601 UTC. */
  since: string;
  until: string;
  tz: string;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * The SQL for a group's key. Time groups are computed from epoch seconds in the range's time zone:
 * hour 0-23, weekday 0-6 (Sunday 0; 1970-01-01 was a Thursday), day as a local day number.
 */
export function keySql(group: GroupBy | null, range: Range): string {
  if (group === null) return "'all'";
  if (group === 'hour' || group === 'day' || group === 'weekday') {
    const local = localSecondsSql('c.started_s', offsetSegments(range.tz, seconds(range.since), seconds(range.until)));
    if (group === 'hour') return `((${local} % 86400) / 3600)`;
    if (group === 'day') return `(${local} / 86400)`;
    return `((${local} / 86400 + 4) % 7)`;
  }
  if (group === 'number') return "CASE WHEN c.direction = 'outbound' THEN c.from_number ELSE c.to_number END";
  return { team: 'c.team', agent: 'c.agent', ivr: 'c.ivr_name', direction: 'c.direction' }[group];
}

const IN_RANGE = 'c.started_at >= ? AND c.started_at < ?';
const OFFERED = "c.direction = 'inbound' AND c.status IN ('answered', 'missed')";
const ANSWERED_IN = "c.direction = 'inbound' AND c.status = 'answered'";
const MISSED_IN = "c.direction = 'inbound' AND c.status = 'missed'";
const count = (condition: string) => `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
const total = (condition: string, value: string) => `sum(CASE WHEN ${condition} THEN ${value} ELSE 0 END)`;

/** The charge of one call in millionths: the rate per started minute of talk, or per call. */
function costSql(unit: RateUnit): string {
  return unit === 'minute' ? 'CASE WHEN c.rate_micros > 0 THEN c.rate_micros * ((coalesce(c.talk_sec, 0) + 59) / 60) ELSE 0 END' : 'CASE WHEN c.rate_micros > 0 THEN c.rate_micros ELSE 0 END';
}

export interface FigureOptions {
  sl: number;
  shortAbandon: number;
  rateUnit: RateUnit;
  /** Epoch seconds: the end of calls still live, for concurrency. */
  now: number;
}

/** The additive figures per key: counts, sums and the longest wait. */
export function sumsQuery(key: string, range: Range, o: FigureOptions): ReadQuery {
  const columns = [
    `${count(OFFERED)} AS offered`,
    `${count(ANSWERED_IN)} AS answered`,
    `${count(MISSED_IN)} AS missed`,
    `${count(`${MISSED_IN} AND c.hangup_reason = 'recv_bye' AND (c.wait_sec IS NULL OR c.wait_sec >= ?)`)} AS abandoned`,
    `${count(`${MISSED_IN} AND c.hangup_reason = 'recv_bye' AND c.wait_sec < ?`)} AS short_abandoned`,
    `${count(`${ANSWERED_IN} AND c.wait_sec IS NOT NULL`)} AS answered_wait_n`,
    `${total(`${ANSWERED_IN} AND c.wait_sec IS NOT NULL`, 'c.wait_sec')} AS answered_wait_sum`,
    `${count(`${OFFERED} AND c.wait_sec IS NOT NULL`)} AS offered_wait_n`,
    `${total(`${OFFERED} AND c.wait_sec IS NOT NULL`, 'c.wait_sec')} AS offered_wait_sum`,
    `max(CASE WHEN ${OFFERED} THEN c.wait_sec END) AS longest_wait`,
    `${count(`${ANSWERED_IN} AND c.wait_sec <= ?`)} AS sl_within`,
    `${count(`${OFFERED} AND NOT (c.status = 'answered' AND c.wait_sec IS NULL)`)} AS sl_base`,
    `${count("c.status = 'answered'")} AS talk_n`,
    `${total("c.status = 'answered'", 'coalesce(c.talk_sec, 0)')} AS talk_sum`,
    `${count(`${MISSED_IN} AND c.has_voicemail`)} AS voicemails`,
    `${count("c.direction = 'outbound' AND c.status IN ('answered', 'missed')")} AS outbound_attempts`,
    `${count("c.direction = 'outbound' AND c.status = 'answered'")} AS outbound_answered`,
    `${count('c.rate_micros > 0')} AS billed`,
    `sum(${costSql(o.rateUnit)}) AS cost_micros`,
  ];
  return {
    sql: `SELECT ${key} AS k, ${columns.join(', ')} FROM calls c WHERE ${IN_RANGE} GROUP BY 1`,
    params: [o.shortAbandon, o.shortAbandon, o.sl, range.since, range.until],
  };
}

/** Numbers with two or more offered calls, per key. */
export function repeatQuery(key: string, range: Range): ReadQuery {
  return {
    sql: `SELECT k, count(*) AS repeat_callers FROM (SELECT ${key} AS k, c.from_number FROM calls c WHERE ${IN_RANGE} AND ${OFFERED} AND c.from_number IS NOT NULL GROUP BY 1, c.from_number HAVING count(*) > 1) r GROUP BY k`,
    params: [range.since, range.until],
  };
}

/** The largest number of calls in progress at one moment, per key: a running sum of starts and ends. */
export function peakQuery(key: string, range: Range, o: FigureOptions): ReadQuery {
  const calls = `FROM calls c WHERE ${IN_RANGE} AND c.started_s IS NOT NULL`;
  return {
    sql: `SELECT k, max(n) AS peak FROM (
      SELECT k, sum(d) OVER (PARTITION BY k ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n FROM (
        SELECT ${key} AS k, c.started_s AS t, 1 AS d ${calls}
        UNION ALL SELECT ${key} AS k, coalesce(c.ended_s, ?) AS t, -1 AS d ${calls}
      ) p
    ) q GROUP BY k`,
    params: [range.since, range.until, o.now, range.since, range.until],
  };
}

/** Missed inbound calls and their callbacks (the queue), per key. */
export function callbackQuery(key: string, range: Range): ReadQuery {
  return {
    sql: `SELECT ${key} AS k, count(*) AS queued, ${count("i.state = 'resolved'")} AS called_back, count(m.callback_sec) AS callback_n, sum(m.callback_sec) AS callback_sum
      FROM calls c JOIN missed_calls m ON m.call_id = c.id JOIN missed_items i ON i.id = m.item_id WHERE ${IN_RANGE} GROUP BY 1`,
    params: [range.since, range.until],
  };
}

/** Offered and missed per local weekday and hour. */
export function heatmapQuery(range: Range): ReadQuery {
  const local = localSecondsSql('c.started_s', offsetSegments(range.tz, seconds(range.since), seconds(range.until)));
  return {
    sql: `SELECT ((${local} / 86400 + 4) % 7) AS weekday, ((${local} % 86400) / 3600) AS hour, ${count(OFFERED)} AS offered, ${count(MISSED_IN)} AS missed
      FROM calls c WHERE ${IN_RANGE} AND c.started_s IS NOT NULL GROUP BY 1, 2`,
    params: [range.since, range.until],
  };
}

/** Billed calls, spend and talk per key. */
export function spendQuery(key: string, range: Range, unit: RateUnit): ReadQuery {
  return {
    sql: `SELECT ${key} AS k, ${count('c.rate_micros > 0')} AS billed, sum(${costSql(unit)}) AS cost_micros, ${total('c.rate_micros > 0', 'coalesce(c.talk_sec, 0)')} AS talk_sum
      FROM calls c WHERE ${IN_RANGE} GROUP BY 1`,
    params: [range.since, range.until],
  };
}

/** The balance the latest billed call reported. */
export const latestBalanceQuery: ReadQuery = {
  sql: 'SELECT c.balance_micros AS balance, c.ended_s AS at FROM calls c WHERE c.balance_micros IS NOT NULL AND c.ended_s IS NOT NULL ORDER BY c.ended_s DESC LIMIT 1',
  params: [],
};
