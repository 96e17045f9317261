import type { Store } from '../store/port.js';
import type { StreamHub } from '../api/stream-hub.js';

export interface ProjectorOptions {
  /** A live call with no event for this long is closed as stale. */
  staleAfterMs: number;
  onError: (err: unknown) => void;
  /** Called after each run, when what it stitched is committed. */
  afterRun?: () => void;
  batch?: number;
}

/**
 * Keeps calls up to date: after every commit (kick), and once a second in case a kick was missed
 * or another instance stored events; closes stale calls once a minute. Off the acknowledgement
 * path: a webhook is answered when its event is stored, and stitched a moment later.
 */
export class Projector {
  private running: Promise<void> | null = null;
  private again = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: Store,
    private readonly hub: StreamHub,
    private readonly options: ProjectorOptions,
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.kick(), 1000).unref());
    this.timers.push(setInterval(() => void this.closeStale(), 60_000).unref());
    this.kick();
    void this.closeStale();
  }

  /** Projects what is pending; calls made while it runs make it run once more. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves when nothing is pending any more. */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  async closeStale(now = Date.now()): Promise<void> {
    try {
      const closed = await this.store.closeStaleCalls(new Date(now - this.options.staleAfterMs).toISOString());
      for (const call of closed) this.hub.publishCall(call);
    } catch (err) {
      this.options.onError(err);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.settle();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const result = await this.store.project(this.options.batch ?? 500);
        if (result.done) break;
      }
    } catch (err) {
      this.options.onError(err);
    }
    // a store may stitch with the ingest itself (SQLite does): the stream may have moved either way
    this.hub.advance();
    this.options.afterRun?.();
  }
}
