import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { CALL_STATUSES, CallSchema } from '../calls/call-schema.js';
import { CallhookError } from '../errors.js';
import type { CallQuery, Store } from '../store/port.js';
import { checkTimeZone, exportCalls } from './export.js';
import { ErrorResponse, ExportQuery, sendExport, StoredEventWithRawSchema } from './schemas.js';

const IsoTime = (description: string) => Type.String({ format: 'date-time', description });

export const CallFilters = {
  direction: Type.Optional(Type.Enum(['inbound', 'outbound'])),
  status: Type.Optional(Type.Enum([...CALL_STATUSES])),
  agent: Type.Optional(Type.String({ maxLength: 200, description: 'The user id as sent, e.g. 103_1111113.' })),
  team: Type.Optional(Type.String({ maxLength: 200, description: 'Team display name, e.g. Support.' })),
  number: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$', description: 'Digits: matches from or to, by prefix (numbers are sent without +).' })),
  since: Type.Optional(IsoTime('Calls that started at or after this time.')),
  until: Type.Optional(IsoTime('Calls that started before this time.')),
  has_recording: Type.Optional(Type.Boolean()),
  voicemail: Type.Optional(Type.Boolean({ description: 'Calls with (true) or without (false) a voicemail.' })),
  min_wait: Type.Optional(Type.Integer({ minimum: 0 })),
  max_wait: Type.Optional(Type.Integer({ minimum: 0 })),
};

export const CallDetailSchema = Type.Object({ ...CallSchema.properties, events: Type.Array(StoredEventWithRawSchema) });

/** Cursors are opaque to clients: the position of the last call of a page. */
function encodeCallCursor(call: { started_at: string | null; id: string }): string {
  return Buffer.from(JSON.stringify([call.started_at ?? '', call.id])).toString('base64url');
}

function decodeCallCursor(cursor: string | undefined): CallQuery['before'] {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') return { started_at: value[0], id: value[1] };
  } catch {
    // reported below
  }
  throw new CallhookError('invalid_cursor');
}

/** GET /api/calls, /api/calls/:id, /api/live. */
export async function callRoutes(fastify: FastifyInstance, { store }: { store: Store }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/calls', {
    schema: {
      summary: 'Calls, newest first',
      querystring: Type.Object({ ...CallFilters, limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 400 })) }),
      response: { 200: Type.Object({ items: Type.Array(CallSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorResponse },
    },
  }, async (request) => {
    const { cursor, limit, ...filters } = request.query;
    const rows = await store.listCalls({ ...filters, limit: limit + 1, before: decodeCallCursor(cursor) });
    const items = rows.slice(0, limit);
    return { items, next_cursor: rows.length > limit ? encodeCallCursor(items[items.length - 1] as (typeof items)[number]) : null };
  });

  app.get('/api/calls/export', {
    schema: {
      summary: 'Every call that matches the filters, as CSV (with a header row) or JSON lines, streamed',
      querystring: Type.Object({ ...CallFilters, ...ExportQuery }),
      response: { 200: Type.String({ description: 'text/csv or application/x-ndjson' }), 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const { format, tz, ...filters } = request.query;
    checkTimeZone(tz);
    return sendExport(reply, 'calls', format, exportCalls(store, filters, format, tz));
  });

  app.get('/api/calls/:id', {
    schema: {
      summary: 'One call with its legs and its events, each with its raw payload',
      params: Type.Object({ id: Type.String({ maxLength: 200 }) }),
      response: { 200: CallDetailSchema, 404: ErrorResponse },
    },
  }, async (request) => {
    const call = await store.getCall(request.params.id);
    if (!call) throw new CallhookError('not_found', `no call ${request.params.id}`);
    return call;
  });

  app.get('/api/live', {
    schema: {
      summary: 'Calls live now: waiting (or ringing an agent) and in progress',
      response: {
        200: Type.Object({
          waiting: Type.Array(CallSchema),
          in_progress: Type.Array(CallSchema),
          longest_wait_sec: Type.Integer(),
          as_of: Type.String(),
        }),
      },
    },
  }, async () => {
    const now = Date.now();
    const live = await store.liveCalls();
    const waiting = live.filter((c) => c.status !== 'in_progress');
    const longest = waiting.reduce((max, c) => Math.max(max, c.started_at ? Math.floor((now - Date.parse(c.started_at)) / 1000) : 0), 0);
    return { waiting, in_progress: live.filter((c) => c.status === 'in_progress'), longest_wait_sec: longest, as_of: new Date(now).toISOString() };
  });
}
