/**
 * Defensive readers for single fields. The same field arrives as a number in one payload and a
 * string in another, and query strings make everything a string (vendor-docs §5.3–5.5).
 */

/** A trimmed non-empty string, from a string or a finite number; null otherwise. */
export function text(value: unknown): string | null {
  if (typeof value === 'string') {
    const t = value.trim();
    return t === '' ? null : t;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return digitsOf(value);
  if (typeof value === 'bigint') return value.toString();
  return null;
}

/**
 * A phone number as a string of digits as sent. A JSON number is written out in full (never
 * 4.4e+11); E.164 numbers have at most 15 digits, within a double's exact integers.
 */
export function phone(value: unknown): string | null {
  return text(value);
}

function digitsOf(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  if (Number.isInteger(n)) return BigInt(n).toString();
  return String(n);
}

/** A whole number from a number or a numeric string; null when absent or not a number. */
export function integer(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value) : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? Math.round(n) : null;
  }
  return null;
}

/** `true`, `"true"`, `1`, `"1"`, `"yes"` are true; their opposites false; anything else null. */
export function bool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : null;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no' || v === '') return false;
  }
  return null;
}

/**
 * Money as an exact decimal string. A string is kept as sent (`'0.450000'`); a JSON number is
 * written with the shortest decimal that round-trips, which is the decimal that was sent.
 */
export function money(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'string') {
    const t = value.trim();
    return /^-?\d+(\.\d+)?$/.test(t) ? t : null;
  }
  return null;
}

const MAX_DATE_MS = 8.64e15;
/** Below this a timestamp is taken as seconds (1e11 ms is 1973; 1e11 s is year 5138). */
const SECONDS_BELOW = 1e11;

/** An ISO 8601 UTC time from epoch milliseconds; seconds are recognised and scaled. */
export function isoFromEpoch(value: unknown): string | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return null;
  const ms = n < SECONDS_BELOW ? n * 1000 : n;
  if (ms > MAX_DATE_MS) return null;
  return new Date(Math.round(ms)).toISOString();
}
