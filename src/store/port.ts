import type { Call, CallStatus } from '../calls/call-schema.js';
import type { ErrorBody } from '../errors.js';
import type { Event } from '../payloads/event-schema.js';

/** Everything kept of one HTTP request to the webhook URL. The secret is never part of it. */
export interface RequestRecord {
  received_at: string;
  method: string;
  path: string;
  /** The query string without `token`. */
  query: string;
  headers: Record<string, string>;
  content_type: string | null;
  body: Buffer | null;
  remote_addr: string;
}

/** One webhook request to store; `event` when it parsed, `rejection` when it did not. */
export type IngestItem =
  | { request: RequestRecord; event: { dedup_key: string; event: Event }; rejection?: undefined }
  | { request: RequestRecord; rejection: ErrorBody & { status: number }; event?: undefined };

export type Outcome = 'accepted' | 'duplicate' | 'rejected';

/** Ids are made by the store, as strings; they sort by the time they were made. */
export interface IngestResult {
  outcome: Outcome;
  request_id: string;
  /** The stored event's id: the first delivery's, for a duplicate. */
  event_id: string | null;
}

export interface StoredEvent extends Omit<Event, 'raw'> {
  id: string;
  received_at: string;
  redeliveries: number;
}

export interface StoredRequest extends RequestRecord {
  id: string;
  outcome: Outcome;
  status_code: number;
  error: ErrorBody | null;
  event_id: string | null;
  kind: string | null;
  body_size: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `before` to get the next (older) page; null on the last page. */
  next: string | null;
}

/** Whether a string is an id some store could have made; anything else finds nothing. */
export function isStoreId(value: string): boolean {
  return /^[1-9]\d{0,18}$/.test(value);
}

export interface EventQuery {
  kind?: string | undefined;
  platform?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  /** Only events with a smaller id (older). */
  before?: string | undefined;
}

export interface RequestQuery {
  outcome?: Outcome | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  before?: string | undefined;
}

/** One position of the live stream: an event, and its call as it is now. */
export interface StreamEntry {
  seq: string;
  event: StoredEvent;
  call: Call | null;
}

export interface ProjectionResult {
  /** How many events were stitched and given stream positions (readers take them from the stream). */
  projected: number;
  /** False when more events wait. */
  done: boolean;
}

export interface CallQuery {
  direction?: string | undefined;
  status?: CallStatus | undefined;
  agent?: string | undefined;
  team?: string | undefined;
  /** Matches from or to, by prefix. */
  number?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  has_recording?: boolean | undefined;
  voicemail?: boolean | undefined;
  min_wait?: number | undefined;
  max_wait?: number | undefined;
  limit: number;
  /** Only calls that sort after this position (started_at, id), newest first. */
  before?: { started_at: string; id: string } | undefined;
}

/** A statement with `?` placeholders bound in order, in SQL that SQLite and PostgreSQL both run. */
export interface Sql {
  sql: string;
  params: (string | number | null)[];
}
export type Row = Record<string, unknown>;

export type ResolveOutcome = 'resolved' | 'already_resolved' | 'not_found';

/**
 * The storage port: only what the app calls. One implementation per dialect; service code never
 * asks which one it has.
 */
export interface Store {
  /** Stores a batch in one transaction, durable on disk when the promise resolves. */
  ingest(batch: readonly IngestItem[]): Promise<IngestResult[]>;
  /** How many ingest batches may be handed to the database at once (queued at one writer, or on a pool's connections). */
  readonly concurrentBatches: number;
  /** Whether ingest stitches its events into calls in the same transaction (else `project` does). */
  readonly stitchesOnIngest: boolean;
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;
  getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null>;
  listRequests(query: RequestQuery): Promise<Page<StoredRequest>>;
  getRequest(id: string): Promise<StoredRequest | null>;
  /**
   * Stitches up to `limit` events not yet projected into their calls and gives them stream
   * positions, in one transaction; one projection runs at a time, across instances too.
   */
  project(limit: number): Promise<ProjectionResult>;
  /** Derives every call again from the stored events; returns how many calls there are. */
  rebuildCalls(): Promise<number>;
  /** Closes live calls with no event since `before` as stale; returns them. */
  closeStaleCalls(before: string): Promise<Call[]>;
  listCalls(query: CallQuery): Promise<Call[]>;
  getCall(id: string): Promise<(Call & { events: (StoredEvent & { raw: Record<string, unknown> })[] }) | null>;
  liveCalls(): Promise<Call[]>;
  /** Stream entries after position `after` (null: from the start), in order. */
  streamAfter(after: string | null, limit: number): Promise<StreamEntry[]>;
  /** The stream position of an event, or null when it is not projected yet or unknown. */
  streamPositionOf(eventId: string): Promise<string | null>;
  /** The latest stream position, or null when the stream is empty. */
  streamHead(): Promise<string | null>;
  /** Calls `listener` when another instance advanced the stream; returns a function that stops it. */
  onStreamAdvance(listener: () => void): Promise<() => Promise<void>>;
  /** Tells the other instances on this database that an alert fired or cleared (it is committed). */
  announceAlert(id: string): Promise<void>;
  /** Calls `listener` with the id of each alert change another instance announced; returns a function that stops it. */
  onAlertAnnounced(listener: (id: string) => void): Promise<() => Promise<void>>;
  /**
   * Read-only statements built by the domain modules (src/stats, src/calls/missed.ts, src/alerts),
   * run on one snapshot; numbers may come back as strings (PostgreSQL's bigint and numeric).
   */
  read(queries: readonly Sql[]): Promise<Row[][]>;
  /**
   * Statements run in one write transaction; each gives the rows it returns (RETURNING). With
   * `exclusive`, transactions under the same name run one at a time, across instances too.
   */
  write(statements: readonly Sql[], options?: { exclusive?: string }): Promise<Row[][]>;
  /**
   * Resolves an open callback item by hand at `at` and derives its number's queue again, in one
   * transaction that first checks the item is still open (a callback may have resolved it since).
   */
  resolveMissed(itemId: string, at: string, note: string | null): Promise<ResolveOutcome>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
