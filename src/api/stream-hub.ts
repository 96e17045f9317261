import type { Call } from '../calls/call-schema.js';
import type { Store, StreamEntry } from '../store/port.js';

/** One connected stream client: its response, and where in the stream it is. */
export interface StreamClient {
  /** Writes one chunk; false when the client's buffer is full. */
  write(chunk: string): boolean;
  /** Bytes written but not yet taken by the client. */
  buffered(): number;
  close(): void;
  position: string | null;
}

/** Past this much unread output a client is too slow: it is dropped, and may resume. */
const MAX_BUFFERED = 1024 * 1024;
const PAGE = 500;

/** The SSE messages of one stream entry: the event, then its call as it is now. */
export function formatEntry(entry: StreamEntry): string {
  const { event, call } = entry;
  let out = `event: ${event.kind}\nid: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
  if (call) out += `event: call\nid: ${event.id}:call\ndata: ${JSON.stringify(call)}\n\n`;
  return out;
}

const after = (a: string, b: string | null) => b === null || BigInt(a) > BigInt(b);

/**
 * Fans the stored stream out to SSE clients. The store is the source: the hub reads entries after
 * the last one it sent (on a local projection, or a notification from another instance) and
 * writes them to every client that is caught up; a client that resumes from an older position
 * reads its own way up first. All reading goes through one queue, so entries go out in order.
 * Writing never waits for a client: one that falls too far behind is disconnected.
 */
export class StreamHub {
  private readonly clients = new Set<StreamClient>();
  private head: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private pending = false;
  /** With no client there is nobody to read for: the head is looked up when one comes. */
  private headStale = false;

  constructor(private readonly store: Store) {}

  async start(): Promise<void> {
    this.head = await this.store.streamHead();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Adds a client that has seen everything up to `position` (null: only what comes next). Its
   * first bytes go out only once its position is fixed, so a client that has them misses nothing.
   */
  add(client: StreamClient, resume: { position: string | null; pendingCall?: string } | null): Promise<void> {
    return this.serial(async () => {
      if (this.headStale) {
        this.head = await this.store.streamHead();
        this.headStale = false;
      }
      // the first bytes (and the headers with them) only now: a client that sees the stream open
      // may have an event stored at once, and that event must come after the position fixed here
      client.write(': connected\n\n');
      if (resume === null) {
        client.position = this.head;
      } else {
        client.position = resume.position;
        if (resume.pendingCall) this.send(client, resume.pendingCall);
        while (client.position !== this.head && after(this.head ?? '0', client.position)) {
          const entries = await this.store.streamAfter(client.position, PAGE);
          if (entries.length === 0) break;
          for (const e of entries) if (!after(e.seq, this.head)) this.deliver(client, e);
        }
      }
      this.clients.add(client);
    });
  }

  remove(client: StreamClient): void {
    this.clients.delete(client);
  }

  /** Something was projected: read it from the store and send it. Calls coalesce. */
  advance(): void {
    if (this.clients.size === 0) {
      this.headStale = true;
      return;
    }
    if (this.pending) return;
    this.pending = true;
    void this.serial(async () => {
      this.pending = false;
      for (;;) {
        const entries = await this.store.streamAfter(this.head, PAGE);
        for (const e of entries) {
          this.head = e.seq;
          for (const client of this.clients) if (client.position === null || after(e.seq, client.position)) this.deliver(client, e);
        }
        if (entries.length < PAGE) return;
      }
    });
  }

  /** A call that changed without an event (closed as stale): sent live, with no stream position. */
  publishCall(call: Call): void {
    this.publish('call', call);
  }

  /** A message that is not a stream position (a call closed as stale, an alert): sent live only. */
  publish(event: string, data: unknown): void {
    const chunk = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) this.send(client, chunk);
  }

  closeAll(): void {
    for (const client of this.clients) client.close();
    this.clients.clear();
  }

  private deliver(client: StreamClient, entry: StreamEntry): void {
    this.send(client, formatEntry(entry));
    client.position = entry.seq;
  }

  private send(client: StreamClient, chunk: string): void {
    if (client.buffered() > MAX_BUFFERED) {
      this.clients.delete(client);
      client.close();
      return;
    }
    client.write(chunk);
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
