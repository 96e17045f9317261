import Type, { type Static } from 'typebox';
import type { Row, Sql } from '../store/port.js';
import type { Call } from './call-schema.js';

const Str = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const MissedItemSchema = Type.Object(
  {
    id: Type.String({ description: 'The id of its first missed call.' }),
    number: Type.String({ description: "The caller's number, digits as sent." }),
    first_missed_at: Type.String({ description: 'When the first of its missed calls started.' }),
    last_missed_at: Type.String({ description: 'When the latest of its missed calls started.' }),
    attempts: Type.Integer({ description: 'Missed calls from this number in this item.' }),
    voicemail: Str('The latest voicemail file name left by these calls.'),
    team: Str('Team of the latest missed call that names one.'),
    ivr_name: Str('IVR of the latest missed call that names one.'),
    state: Type.Enum(['open', 'resolved']),
    resolved_at: Str('When it was resolved.'),
    resolved_by: Type.Union([Type.Enum(['outbound_answered', 'inbound_answered', 'manual']), Type.Null()]),
    note: Str('The note given with a manual resolution.'),
    time_to_callback_sec: Type.Union([Type.Integer(), Type.Null()], { description: 'resolved_at − first_missed_at.' }),
    call_ids: Type.Array(Type.String(), { description: 'Its missed calls, oldest first.' }),
  },
  { additionalProperties: false },
);
export type MissedItem = Static<typeof MissedItemSchema>;

/** A call as the queue sees it. */
export interface QueueCall {
  id: string;
  direction: string | null;
  status: string;
  started_at: string;
  answered_at: string | null;
  voicemail: string | null;
  team: string | null;
  ivr_name: string | null;
}

export interface Resolution {
  number: string;
  resolved_at: string;
  note: string | null;
}

export interface Membership {
  call_id: string;
  item_id: string;
  number: string;
  callback_sec: number | null;
}

/** The customer's number of a call that takes part in the queue: the caller inbound, the called outbound. */
export function queueNumber(c: Pick<Call, 'direction' | 'from' | 'to'>): string | null {
  return c.direction === 'inbound' ? c.from : c.direction === 'outbound' ? c.to : null;
}

const isMiss = (c: Pick<QueueCall, 'direction' | 'status'>) => c.direction === 'inbound' && c.status === 'missed';
const secondsBetween = (from: string, to: string) => Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));

/**
 * The queue items of one number from `since` on, walking its calls and manual resolutions in time
 * order: a missed inbound call opens an item or joins the open one; an answered call in either
 * direction, or a manual resolution, after the first miss resolves it. Pure and order-independent.
 */
export function deriveItems(number: string, calls: readonly QueueCall[], resolutions: readonly Resolution[], since: string): { items: MissedItem[]; members: Membership[] } {
  type Step = { t: string; rank: number; id: string; call?: QueueCall; resolution?: Resolution };
  const steps: Step[] = [];
  for (const c of calls) {
    if (isMiss(c)) steps.push({ t: c.started_at, rank: 0, id: c.id, call: c });
    else if (c.status === 'answered') steps.push({ t: c.answered_at ?? c.started_at, rank: 1, id: c.id, call: c });
  }
  for (const r of resolutions) steps.push({ t: r.resolved_at, rank: 2, id: r.resolved_at, resolution: r });
  steps.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));

  const items: MissedItem[] = [];
  const missedAt = new Map<string, string>();
  let open: MissedItem | null = null;
  const resolve = (at: string, by: NonNullable<MissedItem['resolved_by']>, note: string | null) => {
    if (!open) return;
    Object.assign(open, { state: 'resolved', resolved_at: at, resolved_by: by, note, time_to_callback_sec: secondsBetween(open.first_missed_at, at) });
    open = null;
  };
  for (const s of steps) {
    if (s.t < since) continue;
    const c = s.call;
    if (c && s.rank === 0) {
      missedAt.set(c.id, c.started_at);
      if (!open) {
        open = { id: c.id, number, first_missed_at: c.started_at, last_missed_at: c.started_at, attempts: 0, voicemail: null, team: null, ivr_name: null, state: 'open', resolved_at: null, resolved_by: null, note: null, time_to_callback_sec: null, call_ids: [] };
        items.push(open);
      }
      open.attempts += 1;
      open.last_missed_at = c.started_at;
      open.call_ids.push(c.id);
      open.voicemail = c.voicemail ?? open.voicemail;
      open.team = c.team ?? open.team;
      open.ivr_name = c.ivr_name ?? open.ivr_name;
    } else if (c) {
      resolve(s.t, c.direction === 'outbound' ? 'outbound_answered' : 'inbound_answered', null);
    } else if (s.resolution) {
      resolve(s.t, 'manual', s.resolution.note);
    }
  }
  const members = items.flatMap((item) =>
    item.call_ids.map((call_id) => ({ call_id, item_id: item.id, number, callback_sec: item.resolved_at === null ? null : secondsBetween(missedAt.get(call_id) as string, item.resolved_at) })),
  );
  return { items, members };
}


const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const minIso = (a: string | undefined, b: string) => (a === undefined || b < a ? b : a);
/** Answered calls that started up to this long before a window still count for it (they were answered inside). */
const ANSWER_MARGIN_MS = 6 * 3600_000;

export interface QueueChange {
  /** Calls the projection derived again. */
  changed?: readonly Call[];
  /** Calls that no longer exist (their events joined another call). */
  deleted?: readonly string[];
  /** Numbers to derive again from a time on (a manual resolution). */
  touch?: readonly { number: string; since: string }[];
}

/**
 * Brings the queue up to date after calls changed. A generator, so that one implementation serves
 * both dialects: it yields the reads it needs, is given their rows, and returns the writes, which
 * the store runs in the transaction that changed the calls. Only numbers whose calls reached an end
 * (answered or missed) are touched, and for each only the items open or resolved after the
 * earliest change are derived again; an open item that the change only extends is joined
 * (joinOpenItem) rather than derived again.
 */
export function* syncQueue(change: QueueChange): Generator<Sql, Sql[], Row[]> {
  const since = new Map<string, string>();
  // numbers whose queue is derived again whatever else holds: a manual resolution, or a call gone
  const derive = new Set<string>();
  for (const t of change.touch ?? []) {
    since.set(t.number, minIso(since.get(t.number), t.since));
    derive.add(t.number);
  }
  const final = (change.changed ?? []).filter((c) => c.status === 'answered' || c.status === 'missed');
  const finalOf = new Map<string, QueueCall[]>();
  for (const c of final) {
    const n = queueNumber(c);
    if (n === null || c.started_at === null) continue;
    since.set(n, minIso(since.get(n), c.started_at));
    finalOf.set(n, [...(finalOf.get(n) ?? []), { ...c, started_at: c.started_at }]);
  }
  // calls already queued, possibly under another number or as a call that is gone now
  const ids = [...final.map((c) => c.id), ...(change.deleted ?? [])];
  const memberOf = new Map<string, { number: string; item: string }>();
  if (ids.length > 0) {
    const known = yield {
      sql: `SELECT m.call_id, m.number, m.item_id, i.first_missed_at FROM missed_calls m JOIN missed_items i ON i.id = m.item_id WHERE m.call_id IN (${marks(ids.length)})`,
      params: ids,
    };
    for (const r of known) {
      const n = String(r['number']);
      since.set(n, minIso(since.get(n), String(r['first_missed_at'])));
      memberOf.set(String(r['call_id']), { number: n, item: String(r['item_id']) });
      if (!finalOf.get(n)?.some((c) => c.id === String(r['call_id']))) derive.add(n);
    }
  }
  if (since.size === 0) return [];
  const earliest = [...since.values()].reduce((a, b) => (b < a ? b : a));
  const items = yield {
    sql: `SELECT id, number, first_missed_at, last_missed_at, attempts, voicemail, team, ivr_name, state, resolved_at, call_ids FROM missed_items
      WHERE number IN (${marks(since.size)}) AND (state = 'open' OR resolved_at >= ?)`,
    params: [...since.keys(), earliest],
  };
  // items still open, or resolved after the change, are derived again from their first miss
  const relevant = new Map<string, Row[]>();
  for (const r of items) {
    const n = String(r['number']);
    const from = since.get(n) as string;
    if (r['resolved_at'] === null || String(r['resolved_at']) >= from) relevant.set(n, [...(relevant.get(n) ?? []), r]);
  }
  const writes: Sql[] = [];
  for (const [n, rows] of relevant) {
    const joined = derive.has(n) || rows.length !== 1 ? null : joinOpenItem(itemFromRow(rows[0] as Row), finalOf.get(n) ?? [], memberOf);
    if (joined) {
      writes.push(...joined);
      since.delete(n);
    } else {
      for (const r of rows) since.set(n, minIso(since.get(n), String(r['first_missed_at'])));
    }
  }
  if (since.size === 0) return writes;
  const numbers = [...since.keys()];
  const start = [...since.values()].reduce((a, b) => (b < a ? b : a));
  const callRows = yield {
    sql: `SELECT c.direction, c.from_number, c.to_number, c.data FROM calls c WHERE c.status IN ('answered', 'missed') AND c.started_at >= ?
      AND ((c.direction = 'inbound' AND c.from_number IN (${marks(numbers.length)})) OR (c.direction = 'outbound' AND c.to_number IN (${marks(numbers.length)})))`,
    params: [new Date(Date.parse(start) - ANSWER_MARGIN_MS).toISOString(), ...numbers, ...numbers],
  };
  const resolutionRows = yield {
    sql: `SELECT number, resolved_at, note FROM missed_resolutions WHERE number IN (${marks(numbers.length)}) AND resolved_at >= ?`,
    params: [...numbers, start],
  };
  const callsOf = new Map<string, QueueCall[]>();
  for (const r of callRows) {
    const call = JSON.parse(String(r['data'])) as Call;
    const n = queueNumber(call);
    if (n === null || call.started_at === null) continue;
    callsOf.set(n, [...(callsOf.get(n) ?? []), { ...call, started_at: call.started_at }]);
  }
  const resolutionsOf = new Map<string, Resolution[]>();
  for (const r of resolutionRows) {
    const n = String(r['number']);
    resolutionsOf.set(n, [...(resolutionsOf.get(n) ?? []), { number: n, resolved_at: String(r['resolved_at']), note: r['note'] === null ? null : String(r['note']) }]);
  }

  const windows = numbers.flatMap((n) => [n, since.get(n) as string]);
  const inWindows = Array.from({ length: numbers.length }, () => '(number = ? AND first_missed_at >= ?)').join(' OR ');
  writes.push({ sql: `DELETE FROM missed_calls WHERE item_id IN (SELECT id FROM missed_items WHERE ${inWindows})`, params: windows });
  writes.push({ sql: `DELETE FROM missed_items WHERE ${inWindows}`, params: windows });
  const allItems: MissedItem[] = [];
  const allMembers: Membership[] = [];
  for (const n of numbers) {
    const { items: derived, members } = deriveItems(n, callsOf.get(n) ?? [], resolutionsOf.get(n) ?? [], since.get(n) as string);
    allItems.push(...derived);
    allMembers.push(...members);
  }
  for (let i = 0; i < allItems.length; i += 200) {
    const chunk = allItems.slice(i, i + 200);
    writes.push({
      sql: `INSERT INTO missed_items (id, number, first_missed_at, last_missed_at, attempts, voicemail, team, ivr_name, state, resolved_at, resolved_by, note, time_to_callback_sec, call_ids)
        VALUES ${chunk.map(() => `(${marks(14)})`).join(', ')}
        ON CONFLICT (id) DO UPDATE SET number = excluded.number, first_missed_at = excluded.first_missed_at, last_missed_at = excluded.last_missed_at,
          attempts = excluded.attempts, voicemail = excluded.voicemail, team = excluded.team, ivr_name = excluded.ivr_name, state = excluded.state,
          resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by, note = excluded.note, time_to_callback_sec = excluded.time_to_callback_sec, call_ids = excluded.call_ids`,
      params: chunk.flatMap((m) => [m.id, m.number, m.first_missed_at, m.last_missed_at, m.attempts, m.voicemail, m.team, m.ivr_name, m.state, m.resolved_at, m.resolved_by, m.note, m.time_to_callback_sec, JSON.stringify(m.call_ids)]),
    });
  }
  for (let i = 0; i < allMembers.length; i += 500) {
    const chunk = allMembers.slice(i, i + 500);
    writes.push({
      sql: `INSERT INTO missed_calls (call_id, item_id, number, callback_sec) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
        ON CONFLICT (call_id) DO UPDATE SET item_id = excluded.item_id, number = excluded.number, callback_sec = excluded.callback_sec`,
      params: chunk.flatMap((m) => [m.call_id, m.item_id, m.number, m.callback_sec]),
    });
  }
  return writes;
}

/**
 * The writes that bring an open item up to date when the change only adds misses after its latest
 * one, or gives its latest call fields it lacked: what deriving its number again would give,
 * without reading every call since its first miss. A number that misses all day and is never
 * called back would otherwise cost more with each call. Null when the item must be derived again.
 */
function joinOpenItem(item: MissedItem, calls: readonly QueueCall[], memberOf: ReadonlyMap<string, { item: string }>): Sql[] | null {
  if (item.state !== 'open' || calls.length === 0) return null;
  const next = { ...item, call_ids: [...item.call_ids] };
  const added: string[] = [];
  const fields = ['voicemail', 'team', 'ivr_name'] as const;
  for (const c of [...calls].sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!isMiss(c)) return null;
    if (memberOf.has(c.id)) {
      // its latest call again, at the same time: a field it lacked may come, none may go
      if (memberOf.get(c.id)?.item !== item.id || c.id !== next.call_ids.at(-1) || c.started_at !== next.last_missed_at) return null;
      if (fields.some((f) => (c[f] ?? null) === null && next[f] !== null)) return null;
    } else {
      if (c.started_at <= next.last_missed_at) return null;
      next.attempts += 1;
      next.last_missed_at = c.started_at;
      next.call_ids.push(c.id);
      added.push(c.id);
    }
    for (const f of fields) next[f] = c[f] ?? next[f];
  }
  return [
    {
      sql: 'UPDATE missed_items SET last_missed_at = ?, attempts = ?, voicemail = ?, team = ?, ivr_name = ?, call_ids = ? WHERE id = ?',
      params: [next.last_missed_at, next.attempts, next.voicemail, next.team, next.ivr_name, JSON.stringify(next.call_ids), item.id],
    },
    ...added.map((id) => ({
      sql: 'INSERT INTO missed_calls (call_id, item_id, number, callback_sec) VALUES (?, ?, ?, NULL) ON CONFLICT (call_id) DO UPDATE SET item_id = excluded.item_id, number = excluded.number, callback_sec = NULL',
      params: [id, item.id, item.number],
    })),
  ];
}

export function itemFromRow(row: Row): MissedItem {
  const str = (k: string) => (row[k] === null || row[k] === undefined ? null : String(row[k]));
  return {
    id: String(row['id']),
    number: String(row['number']),
    first_missed_at: String(row['first_missed_at']),
    last_missed_at: String(row['last_missed_at']),
    attempts: Number(row['attempts']),
    voicemail: str('voicemail'),
    team: str('team'),
    ivr_name: str('ivr_name'),
    state: row['state'] === 'resolved' ? 'resolved' : 'open',
    resolved_at: str('resolved_at'),
    resolved_by: str('resolved_by') as MissedItem['resolved_by'],
    note: str('note'),
    time_to_callback_sec: row['time_to_callback_sec'] === null ? null : Number(row['time_to_callback_sec']),
    call_ids: JSON.parse(String(row['call_ids'])) as string[],
  };
}
