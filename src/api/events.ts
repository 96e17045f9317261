import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { CallhookError } from '../errors.js';
import { EVENT_KINDS, PLATFORMS } from '../payloads/kinds.js';
import type { Store, StoredRequest } from '../store/port.js';
import { checkTimeZone, exportEvents } from './export.js';
import { decodeCursor, encodeCursor, ErrorResponse, ExportQuery, IdParams, pageOf, PageQuery, RequestSchema, sendExport, StoredEventSchema, StoredEventWithRawSchema } from './schemas.js';

const LIST_BODY_PREVIEW = 4096;
const eventFilters = { kind: Type.Optional(Type.Enum([...EVENT_KINDS])), platform: Type.Optional(Type.Enum([...PLATFORMS])) };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** GET /api/events, /api/events/:id, /api/requests, /api/requests/:id. */
export async function eventRoutes(fastify: FastifyInstance, { store }: { store: Store }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/events', {
    schema: {
      summary: 'Events received, newest first',
      querystring: Type.Object({ ...eventFilters, ...PageQuery }),
      response: { 200: pageOf(StoredEventSchema), 400: ErrorResponse },
    },
  }, async (request) => {
    const { cursor, ...q } = request.query;
    const page = await store.listEvents({ ...q, before: decodeCursor(cursor) });
    return { items: page.items, next_cursor: encodeCursor(page.next) };
  });

  app.get('/api/events/export', {
    schema: {
      summary: 'Every event that matches the filters, as CSV (with a header row) or JSON lines, streamed',
      querystring: Type.Object({ ...eventFilters, since: PageQuery.since, until: PageQuery.until, ...ExportQuery }),
      response: { 200: Type.String({ description: 'text/csv or application/x-ndjson' }), 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const { format, tz, ...filters } = request.query;
    checkTimeZone(tz);
    return sendExport(reply, 'events', format, exportEvents(store, filters, format, tz));
  });

  app.get('/api/events/:id', {
    schema: { summary: 'One event with its raw payload', params: IdParams, response: { 200: StoredEventWithRawSchema, 404: ErrorResponse } },
  }, async (request) => {
    const event = await store.getEvent(request.params.id);
    if (!event) throw new CallhookError('not_found', `no event ${request.params.id}`);
    return event;
  });

  app.get('/api/requests', {
    schema: {
      summary: 'Webhook requests with their outcome, newest first',
      querystring: Type.Object({ outcome: Type.Optional(Type.Enum(['accepted', 'duplicate', 'rejected'])), ...PageQuery }),
      response: { 200: pageOf(RequestSchema), 400: ErrorResponse },
    },
  }, async (request) => {
    const { cursor, ...q } = request.query;
    const page = await store.listRequests({ ...q, before: decodeCursor(cursor) });
    return { items: page.items.map((r) => presentRequest(r, LIST_BODY_PREVIEW)), next_cursor: encodeCursor(page.next) };
  });

  app.get('/api/requests/:id', {
    schema: { summary: 'One webhook request with its whole body', params: IdParams, response: { 200: RequestSchema, 404: ErrorResponse } },
  }, async (request) => {
    const found = await store.getRequest(request.params.id);
    if (!found) throw new CallhookError('not_found', `no request ${request.params.id}`);
    return presentRequest(found, Infinity);
  });
}

function presentRequest(r: StoredRequest, maxBody: number) {
  let body: string | null = null;
  let bodyBase64: string | null = null;
  if (r.body) {
    const bytes = r.body.length > maxBody ? r.body.subarray(0, maxBody) : r.body;
    try {
      body = utf8.decode(bytes);
    } catch {
      bodyBase64 = bytes.toString('base64');
    }
  }
  return { ...r, body, body_base64: bodyBase64 };
}
