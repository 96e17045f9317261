import type { Row, Store } from '../store/port.js';
import { peakQuery, readPlan, refreshRollups, repeatsQuery, rollupHeatQuery, rollupSumsQuery, spillQuery, type ReadPlan } from './rollup.js';
import {
  callbackQuery, keySql, latestBalanceQuery, repeatQuery, spendQuery, sumsQuery, timeKeySql,
  type GroupBy, type Range, type RateUnit, type SumOptions,
} from './sql.js';
import { dayLabel } from './tz.js';


/** The figures of one group (or of all calls). Rates and averages are null when nothing is counted. */
export interface Figures {
  offered: number;
  answered: number;
  missed: number;
  answer_rate: number | null;
  missed_rate: number | null;
  abandoned: number;
  short_abandoned: number;
  abandon_rate: number | null;
  avg_speed_of_answer_sec: number | null;
  answered_with_known_wait: number;
  avg_wait_sec: number | null;
  offered_with_known_wait: number;
  longest_wait_sec: number | null;
  service_level: number | null;
  avg_talk_sec: number | null;
  total_talk_sec: number;
  voicemails: number;
  outbound_attempts: number;
  outbound_answered: number;
  outbound_answer_rate: number | null;
  repeat_callers: number;
  peak_concurrent: number;
  cost: string;
  callback_rate: number | null;
  avg_time_to_callback_sec: number | null;
}

export const DEFINITIONS: Record<keyof Figures, string> = {
  offered: 'Inbound calls that ended answered or missed (one per call, never per leg or per delivery), by the time the call started.',
  answered: 'Offered calls answered by an agent.',
  missed: 'Offered calls not answered.',
  answer_rate: 'answered ÷ offered.',
  missed_rate: 'missed ÷ offered.',
  abandoned: 'Missed calls the caller hung up while waiting (hangup_reason recv_bye), waiting at least short_abandon_sec seconds or for an unknown time.',
  short_abandoned: 'Missed calls the caller hung up within short_abandon_sec seconds; counted apart from abandoned.',
  abandon_rate: 'abandoned ÷ (offered − short_abandoned).',
  avg_speed_of_answer_sec: 'Σ wait of answered calls whose wait is known ÷ their count (answered_with_known_wait). An answered call\'s wait runs from its waiting event to its answered event.',
  answered_with_known_wait: 'Answered calls whose wait is known.',
  avg_wait_sec: 'Σ wait of offered calls whose wait is known (answered: waiting → answered; missed: waitedsec, else start → end) ÷ offered_with_known_wait.',
  offered_with_known_wait: 'Offered calls whose wait is known.',
  longest_wait_sec: 'The longest wait of an offered call.',
  service_level: 'Answered within `sl` seconds ÷ offered, leaving out answered calls whose wait is unknown from both (variant: abandons count against the service level).',
  avg_talk_sec: 'total_talk_sec ÷ answered calls in either direction.',
  total_talk_sec: 'Talk time of answered calls in either direction (answeredsec, or PIOPIY duration).',
  voicemails: 'Missed calls that left a voicemail.',
  outbound_attempts: 'Outbound calls that ended answered or missed.',
  outbound_answered: 'Outbound calls answered.',
  outbound_answer_rate: 'outbound_answered ÷ outbound_attempts.',
  repeat_callers: 'Caller numbers with two or more offered calls in the range (and group).',
  peak_concurrent: 'The most calls (any direction) in progress at one moment, over calls that started in the range; a call counts from its start to its end, at most a day. Per team, agent, IVR, number or direction: that group\'s calls only. Per hour, day or weekday: the moments within those local hours or days, counting calls carried into them.',
  cost: 'PIOPIY charges as an exact decimal: call_rate per started minute of talk (CALLHOOK_CALL_RATE_UNIT=minute) or per call (call).',
  callback_rate: 'Missed calls whose callback-queue item was resolved (by an answered call either way, or by hand) ÷ missed calls in the queue.',
  avg_time_to_callback_sec: 'Mean time from each such missed call to the resolution of its item.',
};

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const ratio = (a: number, b: number, places = 4): number | null => (b > 0 ? Math.round((a / b) * 10 ** places) / 10 ** places : null);

/** Millionths as an exact decimal string with six places. */
export function decimal(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const m = Math.abs(micros);
  return `${sign}${Math.floor(m / 1_000_000)}.${String(m % 1_000_000).padStart(6, '0')}`;
}

interface Parts {
  /** Additive figures and callbacks. */
  sums?: Row;
  repeat?: Row;
  peak?: Row;
}

function figures({ sums = {}, repeat = {}, peak = {} }: Parts): Figures {
  const s = (k: string) => num(sums[k]);
  const offered = s('offered');
  const talkN = s('talk_n');
  return {
    offered,
    answered: s('answered'),
    missed: s('missed'),
    answer_rate: ratio(s('answered'), offered),
    missed_rate: ratio(s('missed'), offered),
    abandoned: s('abandoned'),
    short_abandoned: s('short_abandoned'),
    abandon_rate: ratio(s('abandoned'), offered - s('short_abandoned')),
    avg_speed_of_answer_sec: ratio(s('answered_wait_sum'), s('answered_wait_n'), 2),
    answered_with_known_wait: s('answered_wait_n'),
    avg_wait_sec: ratio(s('offered_wait_sum'), s('offered_wait_n'), 2),
    offered_with_known_wait: s('offered_wait_n'),
    longest_wait_sec: sums['longest_wait'] === null || sums['longest_wait'] === undefined ? null : Number(sums['longest_wait']),
    service_level: ratio(s('sl_within'), s('sl_base')),
    avg_talk_sec: ratio(s('talk_sum'), talkN, 2),
    total_talk_sec: s('talk_sum'),
    voicemails: s('voicemails'),
    outbound_attempts: s('outbound_attempts'),
    outbound_answered: s('outbound_answered'),
    outbound_answer_rate: ratio(s('outbound_answered'), s('outbound_attempts')),
    repeat_callers: num(repeat['repeat_callers']),
    peak_concurrent: num(peak['peak']),
    cost: decimal(s('cost_micros')),
    callback_rate: ratio(s('called_back'), s('queued')),
    avg_time_to_callback_sec: ratio(s('callback_sum'), s('callback_n'), 2),
  };
}

/** A group key as the API gives it: local day as YYYY-MM-DD, hour and weekday as numbers. */
function label(group: GroupBy, k: unknown): string | number | null {
  if (k === null || k === undefined) return null;
  if (group === 'day') return dayLabel(Number(k));
  if (group === 'hour' || group === 'weekday') return Number(k);
  return String(k);
}

export interface StatsOptions extends SumOptions {
  group: GroupBy | null;
  /** The settings the server rolls up with; a request with others reads every call. */
  rollup: SumOptions;
}

export interface Stats {
  totals: Figures;
  groups: ({ key: string | number | null } & Figures)[];
}

const rowsByKey = (rows: Row[]) => new Map(rows.map((r) => [String(r['k']), r]));

/** Additive rows summed into one per key (counts and sums; the longest wait is a maximum). */
function combineByKey(lists: Row[][]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const row of lists.flat()) {
    const k = String(row['k']);
    const acc = out.get(k) ?? { k: row['k'] };
    for (const [name, v] of Object.entries(row)) {
      if (name === 'k' || v === null || v === undefined) continue;
      acc[name] = name === 'longest_wait' ? Math.max(num(acc[name] ?? v), num(v)) : num(acc[name]) + num(v);
    }
    out.set(k, acc);
  }
  return out;
}

/** Groups in key order, the group without a key last. */
function sortByKey<T extends { key: string | number | null }>(groups: T[]): T[] {
  return groups.sort((a, b) => (a.key === null ? 1 : b.key === null ? -1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const sameSums = (a: SumOptions, b: SumOptions) => a.sl === b.sl && a.shortAbandon === b.shortAbandon && a.rateUnit === b.rateUnit;

/** Brings the rollups up to date and decides which part of the range they answer. */
async function plan(store: Store, range: Range, o: SumOptions & { rollup: SumOptions }, group: GroupBy | null): Promise<ReadPlan> {
  // the number group has no rollup: one value per caller
  if (group === 'number') return readPlan(range, false, null, false);
  await refreshRollups(store, o.rollup);
  const [[spill] = []] = await store.read([spillQuery(range)]);
  return readPlan(range, sameSums(o, o.rollup), spill?.['e'] === null || spill?.['e'] === undefined ? null : Number(spill['e']), true);
}

/** The additive figures and callbacks per key over the plan: rollups and the parts read from calls. */
function sumsQueries(group: GroupBy | null, range: Range, p: ReadPlan, o: SumOptions) {
  const key = keySql(group, range);
  return [...(p.rollup ? [rollupSumsQuery(group, range, p.rollup, o)] : []), ...p.raw.flatMap((part) => [sumsQuery(key, part, o), callbackQuery(key, part)])];
}

export async function computeStats(store: Store, range: Range, o: StatsOptions): Promise<Stats> {
  const p = await plan(store, range, o, o.group);
  const sums = sumsQueries(o.group, range, p, o);
  const repeats = (group: GroupBy | null) => (p.repeats ? repeatsQuery(group, range) : repeatQuery(keySql(group, range), range));
  const extra = o.group === null ? [] : [repeats(null), peakQuery(null, range, p)];
  const [sumRows, [repeatRows = [], peakRows = [], totalRepeat = [], totalPeak = []]] = await store
    .read([...sums, repeats(o.group), peakQuery(o.group, range, p), ...extra])
    .then((rows) => [rows.slice(0, sums.length), rows.slice(sums.length)] as const);
  const byKey = combineByKey(sumRows);
  const repeat = rowsByKey(repeatRows);
  const peak = rowsByKey(peakRows);
  if (o.group === null) return { totals: figures({ sums: byKey.get('all'), repeat: repeat.get('all'), peak: peak.get('all') }), groups: [] };
  // repeat callers and peaks do not add up over the groups, so they are asked for in total too
  const group = o.group;
  const totals = figures({ sums: combineByKey([[...byKey.values()].map((r) => ({ ...r, k: 'all' }))]).get('all'),repeat: rowsByKey(totalRepeat).get('all'), peak: rowsByKey(totalPeak).get('all') });
  const groups = [...byKey.entries()].map(([k, row]) => ({ key: label(group, row['k']), ...figures({ sums: row, repeat: repeat.get(k), peak: peak.get(k) }) }));
  return { totals, groups: sortByKey(groups) };
}

export interface HeatCell {
  weekday: number;
  hour: number;
  offered: number;
  missed: number;
}

/** All 7 × 24 cells, Sunday (0) to Saturday, hours 0-23 in the range's time zone. */
export async function computeHeatmap(store: Store, range: Range, rollup: SumOptions): Promise<HeatCell[]> {
  const p = await plan(store, range, { ...rollup, rollup }, null);
  const key = timeKeySql('weekhour', range, 'c.started_s');
  const rows = await store.read([...(p.rollup ? [rollupHeatQuery(range, p.rollup, rollup)] : []), ...p.raw.map((part) => sumsQuery(key, part, rollup))]);
  const found = combineByKey(rows);
  const cells: HeatCell[] = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) {
      const r = found.get(String(weekday * 24 + hour));
      cells.push({ weekday, hour, offered: num(r?.['offered']), missed: num(r?.['missed']) });
    }
  }
  return cells;
}

export interface Spend {
  totals: { billed_calls: number; spend: string; talk_sec: number };
  groups: { key: string | number | null; billed_calls: number; spend: string; talk_sec: number }[];
  balance: string | null;
  balance_at: string | null;
  avg_daily_spend: string;
  days_of_balance_left: number | null;
}

export async function computeSpend(store: Store, range: Range, group: 'day' | 'team' | 'agent' | null, unit: RateUnit): Promise<Spend> {
  const queries = [spendQuery(keySql(null, range), range, unit), latestBalanceQuery];
  if (group !== null) queries.push(spendQuery(keySql(group, range), range, unit));
  const [totalRows = [], balanceRows = [], groupRows = []] = await store.read(queries);
  const shape = (r: Row | undefined) => ({ billed_calls: num(r?.['billed']), spend: decimal(num(r?.['cost_micros'])), talk_sec: num(r?.['talk_sum']) });
  const totalMicros = num(totalRows[0]?.['cost_micros']);
  const days = (Date.parse(range.until) - Date.parse(range.since)) / 86_400_000;
  const daily = days > 0 ? Math.round(totalMicros / days) : 0;
  const latest = balanceRows[0];
  const balance = latest ? num(latest['balance']) : null;
  const groups = group === null ? [] : sortByKey(groupRows.map((r) => ({ key: label(group, r['k']), ...shape(r) })));
  return {
    totals: shape(totalRows[0]),
    groups,
    balance: balance === null ? null : decimal(balance),
    balance_at: latest ? new Date(num(latest['at']) * 1000).toISOString() : null,
    avg_daily_spend: decimal(daily),
    days_of_balance_left: balance !== null && daily > 0 ? Math.round((balance / daily) * 10) / 10 : null,
  };
}
