import type { IngestItem, IngestResult, Store } from '../store/port.js';

export interface CommitObserver {
  /** Called after each commit with its size and duration in seconds. */
  onCommit?(size: number, seconds: number): void;
  /** Called when a batch could not be stored (its requests are answered 503). */
  onFailure?(error: unknown): void;
}

interface Pending {
  item: IngestItem;
  resolve: (result: IngestResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: everything submitted during one event-loop turn is committed in one transaction,
 * flushed from setImmediate. A timer-based window would cap throughput and add its whole length
 * to a lone request's latency (../shared/reference/ingest-baselines.md); one turn gathers the
 * requests that are already waiting, at no cost to the one that is not. Up to the store's
 * `concurrentBatches` batches are handed to it at once; past that, new items queue and join one
 * larger batch.
 * No promise resolves before its transaction has committed.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxBatch: number;

  constructor(
    private readonly store: Store,
    private readonly observer: CommitObserver = {},
    options: { maxBatch?: number } = {},
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
  }

  submit(item: IngestItem): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything submitted so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0 || this.scheduled) {
      if (this.inFlight.size > 0) await Promise.race(this.inFlight);
      else await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= this.store.concurrentBatches) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const flushing: Promise<void> = this.flush().finally(() => {
        this.inFlight.delete(flushing);
        if (this.queue.length > 0) this.schedule();
      });
      this.inFlight.add(flushing);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    const started = process.hrtime.bigint();
    try {
      const results = await this.store.ingest(batch.map((p) => p.item));
      this.observer.onCommit?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      batch.forEach((p, i) => p.resolve(results[i] as IngestResult));
    } catch (err) {
      this.observer.onFailure?.(err);
      for (const p of batch) p.reject(err);
    }
  }
}
