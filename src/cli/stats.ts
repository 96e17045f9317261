import { resolveRange } from '../api/stats.js';
import { loadConfig } from '../config.js';
import { computeStats, type Figures } from '../stats/figures.js';
import { GROUP_BY, rollupOptions, type GroupBy } from '../stats/sql.js';
import { openStore } from '../store/index.js';

export const statsHelp = `callhook stats: call-center statistics as a table, straight from the database (as GET /api/stats)

Usage: callhook stats [--since ISO] [--until ISO] [--group-by ${GROUP_BY.join('|')}] [--tz Asia/Kolkata] [--sl 20] [--json]

  --since, --until   the calls that started in this range (default: the last 30 days)
  --group-by         one row per team, agent, hour (0-23), day, weekday (0 = Sunday), IVR, number or direction
  --tz               IANA time zone for hour, day and weekday (default CALLHOOK_TZ, else UTC)
  --sl               service-level threshold in seconds (default CALLHOOK_SL_SEC, else 20)
  --json             print the figures as JSON instead of a table
  --data-dir, --database-url   where the data is, as for serve

Example:
  callhook stats --since 2026-11-01T00:00:00Z --group-by team --tz Asia/Kolkata`;

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const sec = (v: number | null) => (v === null ? '-' : `${Math.round(v)}s`);

const COLUMNS: [string, (f: Figures) => string][] = [
  ['offered', (f) => String(f.offered)],
  ['answered', (f) => String(f.answered)],
  ['missed', (f) => String(f.missed)],
  ['answer%', (f) => pct(f.answer_rate)],
  ['abandoned', (f) => String(f.abandoned)],
  ['ASA', (f) => sec(f.avg_speed_of_answer_sec)],
  ['avg wait', (f) => sec(f.avg_wait_sec)],
  ['longest', (f) => sec(f.longest_wait_sec)],
  ['SL', (f) => pct(f.service_level)],
  ['avg talk', (f) => sec(f.avg_talk_sec)],
  ['out', (f) => String(f.outbound_attempts)],
  ['out ans%', (f) => pct(f.outbound_answer_rate)],
  ['repeat', (f) => String(f.repeat_callers)],
  ['peak', (f) => String(f.peak_concurrent)],
  ['callback%', (f) => pct(f.callback_rate)],
  ['cost', (f) => f.cost],
];

/** Plain aligned columns; platform values (team, agent) lose control characters so they cannot steer the terminal. */
export function table(rows: { key: string; figures: Figures }[]): string {
  const clean = (s: string) => [...s].map((ch) => ((ch.codePointAt(0) ?? 0) < 0x20 || ((ch.codePointAt(0) ?? 0) >= 0x7f && (ch.codePointAt(0) ?? 0) <= 0x9f) ? '?' : ch)).join('').slice(0, 40);
  const cells = [['', ...COLUMNS.map(([h]) => h)], ...rows.map((r) => [clean(r.key), ...COLUMNS.map(([, f]) => f(r.figures))])];
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length))) ?? [];
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

export async function runStats(args: Record<string, string | undefined>, json: boolean): Promise<number> {
  const group = args['group-by'];
  if (group !== undefined && !GROUP_BY.includes(group as GroupBy)) throw new Error(`--group-by is one of ${GROUP_BY.join(', ')}; got "${group}"`);
  for (const t of [args['since'], args['until']]) if (t !== undefined && Number.isNaN(Date.parse(t))) throw new Error(`--since and --until take ISO 8601 times, got "${t}"`);
  if (args['sl'] !== undefined && !/^\d+$/.test(args['sl'])) throw new Error(`--sl takes whole seconds, got "${args['sl']}"`);
  const config = loadConfig({ 'data-dir': args['data-dir'], 'database-url': args['database-url'], tz: args['tz'], sl: args['sl'] });
  const range = resolveRange({ since: args['since'], until: args['until'], tz: args['tz'] }, config);
  const store = await openStore(config);
  try {
    const stats = await computeStats(store, range, { group: (group as GroupBy | undefined) ?? null, ...rollupOptions(config), rollup: rollupOptions(config) });
    if (json) {
      process.stdout.write(`${JSON.stringify({ ...range, group_by: group ?? null, ...stats })}\n`);
      return 0;
    }
    const rows = [...stats.groups.map(({ key, ...figures }) => ({ key: key === null ? '(none)' : String(key), figures })), { key: 'total', figures: stats.totals }];
    process.stdout.write(`Calls that started from ${range.since} to ${range.until} (${range.tz}), service level within ${config.slSec} s\n\n${table(rows)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
