import type { Call } from './call-schema.js';
import { deriveCall, isCallEvent, resolveKeys, type CallEvent } from './derive.js';

/** A stored event as projection sees it: with the call key it was given, if any yet. */
export type KeyedEvent = CallEvent & { call_key: string | null };

export interface ProjectionPlan {
  /** New call keys of events (pending ones, and earlier ones whose call turned out to be another). */
  keys: { id: string; call_key: string | null }[];
  /** Every call that changed, derived again from all its events. */
  calls: Call[];
  /** Calls that no longer have events: their events joined another call. */
  deleted: string[];
}

/**
 * The call key each of `rows` has once `plan` is applied: its new one, or the one it had. The stores
 * write a pending event's key together with its stream position, one row update instead of two.
 */
export function keysAfter(plan: ProjectionPlan, rows: readonly { id: string | number; call_key: string | null }[]): (string | null)[] {
  const changed = new Map(plan.keys.map((k) => [k.id, k.call_key]));
  return rows.map((row) => {
    const id = String(row.id);
    return changed.has(id) ? (changed.get(id) ?? null) : row.call_key;
  });
}

/**
 * What projecting `pending` changes. `connected` holds every event that shares a leg id or a
 * conversation id with a pending one (their keys are resolved again); `members` every event already
 * in a call that `connected` touches (they keep their keys). Pure: the stores load and write.
 */
export function planProjection(connected: readonly KeyedEvent[], members: readonly KeyedEvent[]): ProjectionPlan {
  const resolved = resolveKeys(connected);
  const all = new Map<string, KeyedEvent>();
  for (const e of members) all.set(e.id, e);
  for (const e of connected) all.set(e.id, e);

  const keys: ProjectionPlan['keys'] = [];
  const affected = new Set<string>();
  for (const e of connected) {
    const next = resolved.get(e.id) ?? null;
    if (next !== e.call_key) {
      keys.push({ id: e.id, call_key: next });
      if (e.call_key !== null) affected.add(e.call_key);
    }
    if (next !== null) affected.add(next);
    all.set(e.id, { ...e, call_key: next });
  }

  const byKey = new Map<string, CallEvent[]>();
  for (const e of all.values()) {
    if (e.call_key === null || !affected.has(e.call_key) || !isCallEvent(e)) continue;
    byKey.set(e.call_key, [...(byKey.get(e.call_key) ?? []), e]);
  }
  const calls = [...byKey.entries()].map(([key, events]) => deriveCall(key, events));
  const deleted = [...affected].filter((k) => !byKey.has(k));
  return { keys, calls, deleted };
}
