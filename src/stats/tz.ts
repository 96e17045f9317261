/**
 * Local time for statistics, computed in SQL the same way on every dialect: a time zone's offset
 * is constant between its transitions, so within a range it is a short CASE on the epoch seconds.
 * Daylight-saving changes are found here with Intl (IANA data), not left to the database.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** Seconds to add to UTC to get the wall-clock time in `tz` at epoch second `s`. */
export function offsetAt(tz: string, s: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(s * 1000))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p['year'] ?? 1970, (p['month'] ?? 1) - 1, p['day'] ?? 1, p['hour'] ?? 0, p['minute'] ?? 0, p['second'] ?? 0) / 1000;
  return local - s;
}

export interface OffsetSegment {
  /** First epoch second the offset applies to (the first segment applies to everything before as well). */
  from: number;
  offset: number;
}

/** The offsets of `tz` over [since, until), in order; one segment per transition in the range. */
export function offsetSegments(tz: string, since: number, until: number): OffsetSegment[] {
  const segments: OffsetSegment[] = [{ from: since, offset: offsetAt(tz, since) }];
  const step = 6 * 3600; // transitions are months apart; a 6-hour step cannot skip a pair of them
  for (let t = since; t < until; t += step) {
    const next = Math.min(t + step, until);
    const current = (segments[segments.length - 1] as OffsetSegment).offset;
    if (offsetAt(tz, next) === current) continue;
    let lo = t;
    let hi = next; // offset(lo) = current, offset(hi) differs: find the first second that differs
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(tz, mid) === current) lo = mid;
      else hi = mid;
    }
    segments.push({ from: hi, offset: offsetAt(tz, hi) });
  }
  return segments;
}

/** An integer written into SQL (thresholds and epoch seconds, validated before). */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/** SQL for the local epoch seconds of `column` (integer epoch seconds) within the segments. */
export function localSecondsSql(column: string, segments: readonly OffsetSegment[]): string {
  if (segments.length === 1) return `(${column} + ${int((segments[0] as OffsetSegment).offset)})`;
  const cases = segments.slice(1).map((s, i) => `WHEN ${column} < ${int(s.from)} THEN ${int((segments[i] as OffsetSegment).offset)}`);
  return `(${column} + CASE ${cases.join(' ')} ELSE ${int((segments[segments.length - 1] as OffsetSegment).offset)} END)`;
}

/** A local day number (days since 1970-01-01 in local time) as YYYY-MM-DD. */
export function dayLabel(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}
