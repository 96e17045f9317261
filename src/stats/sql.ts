import { int, localSecondsSql, offsetSegments } from './tz.js';

import type { Config } from '../config.js';
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

/** Calls that started in [since, until): one part of a range. */
export interface Span {
  since: string;
  until: string;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);


export const TIME_GROUPS: readonly GroupBy[] = ['hour', 'day', 'weekday'];

/** A local time key of epoch seconds in `column`: hour 0-23, weekday 0-6 (Sunday 0; 1970-01-01 was a Thursday), day as a local day number. */
export function timeKeySql(group: 'hour' | 'day' | 'weekday' | 'weekhour', range: Range, column: string): string {
  const local = localSecondsSql(column, offsetSegments(range.tz, seconds(range.since), seconds(range.until)));
  if (group === 'hour') return `((${local} % 86400) / 3600)`;
  if (group === 'day') return `(${local} / 86400)`;
  if (group === 'weekday') return `((${local} / 86400 + 4) % 7)`;
  return `(((${local} / 86400 + 4) % 7) * 24 + (${local} % 86400) / 3600)`;
}

/** The SQL for a call's value of a dimension other than time. */
export function valueSql(group: Exclude<GroupBy, 'hour' | 'day' | 'weekday'>, alias = 'c'): string {
  if (group === 'number') return `CASE WHEN ${alias}.direction = 'outbound' THEN ${alias}.from_number ELSE ${alias}.to_number END`;
  return { team: `${alias}.team`, agent: `${alias}.agent`, ivr: `${alias}.ivr_name`, direction: `${alias}.direction` }[group];
}

/** The SQL for a call's group key; time groups are computed in the range's time zone from its start. */
export function keySql(group: GroupBy | null, range: Range): string {
  if (group === null) return "'all'";
  if (group === 'hour' || group === 'day' || group === 'weekday') return timeKeySql(group, range, 'c.started_s');
  return valueSql(group);
}

const IN_SPAN = 'c.started_at >= ? AND c.started_at < ?';
export const OFFERED = "c.direction = 'inbound' AND c.status IN ('answered', 'missed')";
const ANSWERED_IN = "c.direction = 'inbound' AND c.status = 'answered'";
const MISSED_IN = "c.direction = 'inbound' AND c.status = 'missed'";
const count = (condition: string) => `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
const total = (condition: string, value: string) => `sum(CASE WHEN ${condition} THEN ${value} ELSE 0 END)`;

/**
 * When a call stops counting as in progress, in epoch seconds: its end, but at most a day after
 * its start (a call never closed, or closed as stale without an end, stops counting then).
 */
export const END_SQL = 'CASE WHEN c.ended_s IS NULL OR c.ended_s > c.started_s + 86400 THEN c.started_s + 86400 WHEN c.ended_s < c.started_s THEN c.started_s ELSE c.ended_s END';

/** The charge of one call in millionths: the rate per started minute of talk, or per call. */
function costSql(unit: RateUnit): string {
  return unit === 'minute' ? 'CASE WHEN c.rate_micros > 0 THEN c.rate_micros * ((coalesce(c.talk_sec, 0) + 59) / 60) ELSE 0 END' : 'CASE WHEN c.rate_micros > 0 THEN c.rate_micros ELSE 0 END';
}

export interface SumOptions {
  sl: number;
  shortAbandon: number;
  rateUnit: RateUnit;
}

/** The server's settings for the figures that depend on them. */
export function rollupOptions(c: Pick<Config, 'slSec' | 'shortAbandonSec' | 'callRateUnit'>): SumOptions {
  return { sl: c.slSec, shortAbandon: c.shortAbandonSec, rateUnit: c.callRateUnit };
}

/** The additive figures of calls `c`, by name: counts, sums and the longest wait (a maximum). */
export function sumColumns(o: SumOptions): [string, string][] {
  const short = int(o.shortAbandon);
  return [
    ['offered', count(OFFERED)],
    ['answered', count(ANSWERED_IN)],
    ['missed', count(MISSED_IN)],
    ['abandoned', count(`${MISSED_IN} AND c.hangup_reason = 'recv_bye' AND (c.wait_sec IS NULL OR c.wait_sec >= ${short})`)],
    ['short_abandoned', count(`${MISSED_IN} AND c.hangup_reason = 'recv_bye' AND c.wait_sec < ${short}`)],
    ['answered_wait_n', count(`${ANSWERED_IN} AND c.wait_sec IS NOT NULL`)],
    ['answered_wait_sum', total(`${ANSWERED_IN} AND c.wait_sec IS NOT NULL`, 'c.wait_sec')],
    ['offered_wait_n', count(`${OFFERED} AND c.wait_sec IS NOT NULL`)],
    ['offered_wait_sum', total(`${OFFERED} AND c.wait_sec IS NOT NULL`, 'c.wait_sec')],
    ['longest_wait', `max(CASE WHEN ${OFFERED} THEN c.wait_sec END)`],
    ['sl_within', count(`${ANSWERED_IN} AND c.wait_sec <= ${int(o.sl)}`)],
    ['sl_base', count(`${OFFERED} AND NOT (c.status = 'answered' AND c.wait_sec IS NULL)`)],
    ['talk_n', count("c.status = 'answered'")],
    ['talk_sum', total("c.status = 'answered'", 'coalesce(c.talk_sec, 0)')],
    ['voicemails', count(`${MISSED_IN} AND c.has_voicemail`)],
    ['outbound_attempts', count("c.direction = 'outbound' AND c.status IN ('answered', 'missed')")],
    ['outbound_answered', count("c.direction = 'outbound' AND c.status = 'answered'")],
    ['billed', count('c.rate_micros > 0')],
    ['cost_micros', `sum(${costSql(o.rateUnit)})`],
  ];
}

/** The callback queue's figures of calls `c` joined (left) with missed_calls `m` and missed_items `i`. */
export const CALLBACK_COLUMNS: [string, string][] = [
  ['queued', 'count(m.call_id)'],
  ['called_back', count("i.state = 'resolved'")],
  ['callback_n', 'count(m.callback_sec)'],
  ['callback_sum', 'coalesce(sum(m.callback_sec), 0)'],
];

/** The additive figures per key of the calls that started in the span. */
export function sumsQuery(key: string, span: Span, o: SumOptions): ReadQuery {
  return {
    sql: `SELECT ${key} AS k, ${sumColumns(o).map(([name, sql]) => `${sql} AS ${name}`).join(', ')} FROM calls c WHERE ${IN_SPAN} GROUP BY 1`,
    params: [span.since, span.until],
  };
}

/** Numbers with two or more offered calls, per key; `numbers` narrows the calls read to those numbers. */
export function repeatQuery(key: string, range: Span, numbers?: Sql): ReadQuery {
  const filter = numbers ? `c.from_number IN (${numbers.sql})` : 'c.from_number IS NOT NULL';
  return {
    sql: `SELECT k, count(*) AS repeat_callers FROM (SELECT ${key} AS k, c.from_number FROM calls c WHERE ${IN_SPAN} AND ${OFFERED} AND ${filter} GROUP BY 1, c.from_number HAVING count(*) > 1) r GROUP BY k`,
    params: [range.since, range.until, ...(numbers?.params ?? [])],
  };
}

/** Missed inbound calls and their callbacks (the queue), per key. */
export function callbackQuery(key: string, span: Span): ReadQuery {
  return {
    sql: `SELECT ${key} AS k, ${CALLBACK_COLUMNS.map(([name, sql]) => `${sql} AS ${name}`).join(', ')}
      FROM calls c JOIN missed_calls m ON m.call_id = c.id JOIN missed_items i ON i.id = m.item_id WHERE ${IN_SPAN} GROUP BY 1`,
    params: [span.since, span.until],
  };
}

/**
 * The starts (+1) and ends (-1) of the calls `c` that match `where`, with each call's dimensions:
 * columns t (epoch seconds), step, and the call's team, agent, ivr_name, direction and numbers.
 */
export function eventsSql(where: string): string {
  const dims = 'c.team, c.agent, c.ivr_name, c.direction, c.from_number, c.to_number';
  return `SELECT c.started_s AS t, 1 AS step, ${dims} FROM calls c WHERE ${where} AND c.started_s IS NOT NULL
    UNION ALL SELECT ${END_SQL} AS t, -1 AS step, ${dims} FROM calls c WHERE ${where} AND c.started_s IS NOT NULL`;
}

/** Billed calls, spend and talk per key. */
export function spendQuery(key: string, range: Span, unit: RateUnit): ReadQuery {
  return {
    sql: `SELECT ${key} AS k, ${count('c.rate_micros > 0')} AS billed, sum(${costSql(unit)}) AS cost_micros, ${total('c.rate_micros > 0', 'coalesce(c.talk_sec, 0)')} AS talk_sum
      FROM calls c WHERE ${IN_SPAN} GROUP BY 1`,
    params: [range.since, range.until],
  };
}

/** The balance the latest billed call reported. */
export const latestBalanceQuery: ReadQuery = {
  sql: 'SELECT c.balance_micros AS balance, c.ended_s AS at FROM calls c WHERE c.balance_micros IS NOT NULL AND c.ended_s IS NOT NULL ORDER BY c.ended_s DESC LIMIT 1',
  params: [],
};
