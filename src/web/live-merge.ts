import type { Call } from './types.js';

const LIVE = new Set(['waiting', 'ringing', 'in_progress']);

export const isLive = (call: Call): boolean => LIVE.has(call.status);

/** Whether `a` is a later state of its call than `b`: more events stitched, or closed as stale since. */
function newer(a: Call, b: Call): boolean {
  if (a.event_count !== b.event_count) return a.event_count > b.event_count;
  return a.stale && !b.stale;
}

function put(calls: Map<string, Call>, call: Call): void {
  if (isLive(call)) calls.set(call.id, call);
  else calls.delete(call.id);
}

/** `calls` (not changed) with `call` as it is now: in it while live, gone once ended. */
export function withCall(calls: ReadonlyMap<string, Call>, call: Call): Map<string, Call> {
  const next = new Map(calls);
  put(next, call);
  return next;
}

/**
 * The live calls, from snapshots of /api/live and the calls the stream carries. A snapshot can be
 * older than calls the stream has already delivered (it was read before they were stored), so
 * while any snapshot is on its way every streamed call is remembered and laid over the snapshot
 * that answers last. Only the latest snapshot asked for is used; once none is on its way, nothing
 * needs remembering. Pure, so that the order of answers can be tested without a browser.
 */
export class LiveMerge {
  private latest = 0;
  private onTheirWay = 0;
  private readonly seen = new Map<string, Call>();

  /** A snapshot is asked for: returns its ticket, for `answered` and `settled`. */
  request(): number {
    this.onTheirWay++;
    return ++this.latest;
  }

  /**
   * The stream reconnected: calls seen before the gap may have ended unseen, so the next
   * snapshot decides for them.
   */
  gap(): void {
    this.seen.clear();
  }

  /** A call the stream carried (the caller shows it with `withCall`). */
  streamed(call: Call): void {
    if (this.onTheirWay > 0) this.seen.set(call.id, call);
  }

  /** A snapshot's answer: the calls it gives, or null when a later snapshot is on its way. */
  answered(ticket: number, snapshot: readonly Call[]): Map<string, Call> | null {
    if (ticket !== this.latest) return null;
    const next = new Map(snapshot.map((c) => [c.id, c]));
    for (const call of this.seen.values()) {
      const snap = next.get(call.id);
      if (snap && newer(snap, call)) continue;
      put(next, call);
    }
    return next;
  }

  /** A snapshot's request ended, answered or failed. */
  settled(): void {
    this.onTheirWay--;
    // any later snapshot is read after what the stream carried so far was stored
    if (this.onTheirWay === 0) this.seen.clear();
  }
}
