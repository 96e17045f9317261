/** Display helpers. Times are shown in the browser's zone unless a page names one. */

export const BROWSER_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function formatTime(iso: string | null | undefined, tz?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { timeZone: tz, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** 75 -> 1:15, 3700 -> 1:01:40. */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '—';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

export function formatPercent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

export function formatNumber(n: number | null | undefined, digits = 0): string {
  return n === null || n === undefined ? '—' : n.toLocaleString(undefined, { maximumFractionDigits: digits });
}

/** Whole seconds since an ISO time. */
export function secondsSince(iso: string | null, now: number): number {
  return iso ? Math.max(0, Math.floor((now - Date.parse(iso)) / 1000)) : 0;
}

/** The offset of `tz` from UTC at `at`, in ms (positive east of Greenwich). */
function offsetMs(tz: string, at: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(at)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const asUtc = Date.UTC(parts['year'] ?? 0, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, parts['hour'] ?? 0, parts['minute'] ?? 0, parts['second'] ?? 0);
  return asUtc - (at - (at % 1000));
}

/**
 * The instant local midnight begins a calendar day in `tz`: two passes, so that a day on which
 * daylight saving changes still starts at its own midnight.
 */
function midnightOf(tz: string, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month - 1, day);
  const guess = wall - offsetMs(tz, wall);
  return wall - offsetMs(tz, guess);
}

/** Midnight in `tz` of the day `days` after the day that `at` falls on there. */
export function zonedMidnight(tz: string, at: number, days = 0): number {
  const d = new Date(at + offsetMs(tz, at));
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days));
  return midnightOf(tz, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
}

/** 2026-11-21 in `tz`, for date inputs. */
export function localDate(tz: string, at: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Midnight at the start of a YYYY-MM-DD date in `tz`, as epoch ms. */
function dateStart(tz: string, date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return midnightOf(tz, y ?? 1970, m ?? 1, d ?? 1);
}

/** 2026-03-08 -> 2026-03-09 (calendar arithmetic, no zone). */
export function nextDate(date: string, days = 1): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days)).toISOString().slice(0, 10);
}

/** A picked date range, both days whole, as the API's [since, until) instants in `tz`. */
export function dayBounds(tz: string, from: string, to: string): { since: string; until: string } {
  return { since: new Date(dateStart(tz, from)).toISOString(), until: new Date(dateStart(tz, nextDate(to))).toISOString() };
}
