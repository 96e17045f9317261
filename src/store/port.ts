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

/**
 * The storage port: only what the app calls. One implementation per dialect; service code never
 * asks which one it has.
 */
export interface Store {
  /** Stores a batch in one transaction, durable on disk when the promise resolves. */
  ingest(batch: readonly IngestItem[]): Promise<IngestResult[]>;
  /** How many ingest batches may usefully run at once (one writer: 1; a connection pool: more). */
  readonly concurrentBatches: number;
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;
  getEvent(id: string): Promise<(StoredEvent & { raw: Record<string, unknown> }) | null>;
  listRequests(query: RequestQuery): Promise<Page<StoredRequest>>;
  getRequest(id: string): Promise<StoredRequest | null>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
