import type { Call } from '../calls/call-schema.js';
import { CallhookError } from '../errors.js';
import type { CallQuery, EventQuery, Store, StoredEvent } from '../store/port.js';

export type ExportFormat = 'csv' | 'jsonl';

const PAGE = 1000;

export const CALL_COLUMNS = [
  'id', 'platform', 'direction', 'status', 'provisional', 'from', 'to', 'agent', 'team', 'ivr_name', 'started_at', 'answered_at', 'ended_at',
  'wait_sec', 'talk_sec', 'hangup_reason', 'recording', 'voicemail', 'call_rate', 'balance', 'event_count', 'stale',
] as const satisfies readonly (keyof Call)[];

export const EVENT_COLUMNS = [
  'id', 'received_at', 'occurred_at', 'platform', 'kind', 'direction', 'status', 'leg', 'call_uuid', 'conversation_uuid', 'from', 'to', 'caller_id',
  'agent', 'team', 'ivr_name', 'waited_sec', 'answered_sec', 'duration_sec', 'hangup_reason', 'recording', 'voicemail', 'call_rate', 'balance', 'redeliveries',
] as const satisfies readonly (keyof StoredEvent)[];

const TIME_FIELDS = new Set(['received_at', 'occurred_at', 'started_at', 'answered_at', 'ended_at', 'last_event_at']);

/** Throws a 400 naming the zone when it is not an IANA time-zone name. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new CallhookError('invalid_time_zone', `got "${tz}"`);
  }
}

/** An ISO 8601 UTC time written in `tz`, with its offset: 2026-11-21T14:35:12.000+05:30. */
export function timeIn(iso: string, tz: string): string {
  if (tz === 'UTC') return iso;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const offset = parts['timeZoneName'] === 'GMT' ? '+00:00' : String(parts['timeZoneName']).replace('GMT', '');
  const ms = String(date.getUTCMilliseconds()).padStart(3, '0');
  return `${parts['year']}-${parts['month']}-${parts['day']}T${parts['hour']}:${parts['minute']}:${parts['second']}.${ms}${offset}`;
}

/**
 * One CSV cell (RFC 4180). Platform fields are untrusted: a cell that a spreadsheet would read as
 * a formula (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe (OWASP).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function localTimes<T extends object>(row: T, tz: string): T {
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const key of TIME_FIELDS) if (typeof out[key] === 'string') out[key] = timeIn(out[key] as string, tz);
  return out as T;
}

function* formatRows<T extends object>(rows: T[], columns: readonly (keyof T & string)[], format: ExportFormat, tz: string): Generator<string> {
  for (const row of rows) {
    const local = localTimes(row, tz);
    yield format === 'jsonl' ? `${JSON.stringify(local)}\n` : `${columns.map((c) => csvCell(local[c])).join(',')}\r\n`;
  }
}

/** Calls, newest first, page by page from the store: memory stays flat however many there are. */
export async function* exportCalls(store: Store, query: Omit<CallQuery, 'limit' | 'before'>, format: ExportFormat, tz: string): AsyncGenerator<string> {
  if (format === 'csv') yield `${CALL_COLUMNS.join(',')}\r\n`;
  let before: CallQuery['before'];
  for (;;) {
    const page = await store.listCalls({ ...query, limit: PAGE, before });
    yield* formatRows(page, CALL_COLUMNS, format, tz);
    if (page.length < PAGE) return;
    const last = page[page.length - 1] as Call;
    before = { started_at: last.started_at ?? '', id: last.id };
  }
}

/** Events, newest first, page by page from the store. */
export async function* exportEvents(store: Store, query: Omit<EventQuery, 'limit' | 'before'>, format: ExportFormat, tz: string): AsyncGenerator<string> {
  if (format === 'csv') yield `${EVENT_COLUMNS.join(',')}\r\n`;
  let before: string | undefined;
  for (;;) {
    const page = await store.listEvents({ ...query, limit: PAGE, before });
    yield* formatRows(page.items, EVENT_COLUMNS, format, tz);
    if (page.next === null) return;
    before = page.next;
  }
}
