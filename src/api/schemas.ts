import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import { CallhookError } from '../errors.js';
import { EventSchema } from '../payloads/event-schema.js';
import { isStoreId } from '../store/port.js';

export const ErrorResponse = Type.Object({
  ok: Type.Literal(false),
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

const { raw, ...eventFields } = EventSchema.properties;

export const StoredEventSchema = Type.Object({
  id: Type.String({ description: 'Time-ordered id, given at the first delivery.' }),
  received_at: Type.String({ description: 'When callhook first received it, ISO 8601 UTC.' }),
  redeliveries: Type.Integer({ description: 'How many more times the platform delivered it.' }),
  ...eventFields,
});

export const StoredEventWithRawSchema = Type.Object({ ...StoredEventSchema.properties, raw });

export const RequestSchema = Type.Object({
  id: Type.String(),
  received_at: Type.String(),
  method: Type.String(),
  path: Type.String(),
  query: Type.String({ description: 'The query string, without the webhook token.' }),
  headers: Type.Record(Type.String(), Type.String()),
  content_type: Type.Union([Type.String(), Type.Null()]),
  remote_addr: Type.String(),
  outcome: Type.Enum(['accepted', 'duplicate', 'rejected']),
  status_code: Type.Integer(),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], { description: 'Why it was rejected.' }),
  event_id: Type.Union([Type.String(), Type.Null()]),
  kind: Type.Union([Type.String(), Type.Null()]),
  body_size: Type.Integer(),
  body: Type.Union([Type.String(), Type.Null()], { description: 'The body as UTF-8 text (in lists, its first 4 KiB).' }),
  body_base64: Type.Union([Type.String(), Type.Null()], { description: 'The exact body bytes, when they are not valid UTF-8.' }),
});

const IsoTime = (description: string) => Type.String({ format: 'date-time', description });

export const PageQuery = {
  since: Type.Optional(IsoTime('Only what was received at or after this time.')),
  until: Type.Optional(IsoTime('Only what was received before this time.')),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page.' })),
};

export const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

export const pageOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export type ApiStoredEvent = Static<typeof StoredEventSchema>;

/** Cursors are opaque to clients: the last id of a page, encoded. */
export function encodeCursor(id: string | null): string | null {
  return id === null ? null : Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isStoreId(id)) throw new CallhookError('invalid_cursor');
  return id;
}

export const ExportQuery = {
  format: Type.Enum(['csv', 'jsonl'], { default: 'csv' }),
  tz: Type.String({ default: 'UTC', maxLength: 64, description: 'IANA time zone the times are written in, e.g. Asia/Kolkata.' }),
};

/** Streams an export: rows are read from the store as the client takes them. */
export function sendExport(reply: FastifyReply, name: string, format: 'csv' | 'jsonl', rows: AsyncGenerator<string>): FastifyReply {
  return reply
    .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.${format === 'csv' ? 'csv' : 'jsonl'}"`)
    .send(Readable.from(rows));
}
