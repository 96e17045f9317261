/**
 * Forwarding gives way to ingest when the process is saturated. Acknowledging a webhook at once is
 * what the platform needs (a slow answer is redelivered, and the redelivery costs more), while a
 * delivery to another system can wait a few seconds. Each window the governor is told how busy the
 * event loop was and what ingest committed:
 * - saturated (the event loop busy at least BUSY of the time, or ingest batches queueing) while
 *   webhooks arrive: the pace of new deliveries halves, never below `floor` per second, so that
 *   forwarding slows down but never stops;
 * - otherwise the pace doubles, and past CEILING it is unlimited again.
 * Under ordinary traffic the event loop is mostly idle and nothing is paced.
 */

/** The event loop's share of busy time from which the process counts as saturated. */
const BUSY = 0.9;
/** Mean webhooks per ingest commit from which they are queueing for the database. */
const QUEUEING = 4;
/** Deliveries per second from which the pace is lifted altogether. */
const CEILING = 20_000;

export interface Window {
  seconds: number;
  /** Event loop utilization over the window, 0 to 1. */
  busy: number;
  /** Webhooks committed in the window, and in how many commits. */
  ingested: number;
  commits: number;
  /** Deliveries started in the window. */
  started: number;
}

export class Governor {
  private current: number | null = null;

  constructor(private readonly floor: number) {}

  /** Deliveries per second allowed from now on; null when unlimited. */
  get pace(): number | null {
    return this.current;
  }

  update(w: Window): number | null {
    const saturated = w.ingested > 0 && (w.busy >= BUSY || w.ingested / Math.max(1, w.commits) >= QUEUEING);
    if (saturated) {
      // from unlimited, halve what was actually sent
      const from = this.current ?? w.started / Math.max(w.seconds, 0.001);
      this.current = Math.max(this.floor, from / 2);
    } else if (this.current !== null) {
      const next = this.current * 2;
      this.current = next >= CEILING ? null : next;
    }
    return this.current;
  }
}
