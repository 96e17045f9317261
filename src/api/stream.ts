import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { CallhookError, errorBody } from '../errors.js';
import { expiryIsValid, signExpiry } from '../secrets.js';
import type { Store } from '../store/port.js';
import { isAuthenticated, requireApiToken } from './auth.js';
import { ErrorResponse } from './schemas.js';
import type { StreamClient, StreamHub } from './stream-hub.js';

const TICKET_TTL_MS = 60_000;
const HEARTBEAT_MS = 15_000;

/**
 * Tickets for EventSource, which cannot send an Authorization header: the expiry, signed with a
 * key made from the API token, so they need no storage and die with a token change.
 */
export function makeTicket(apiToken: string, now = Date.now()): { ticket: string; expires_at: string } {
  const expires = now + TICKET_TTL_MS;
  return { ticket: signExpiry(apiToken, 'stream tickets', expires), expires_at: new Date(expires).toISOString() };
}

export function ticketIsValid(apiToken: string, ticket: string, now = Date.now()): boolean {
  return expiryIsValid(apiToken, 'stream tickets', ticket, now);
}

/**
 * The stream route authenticates itself (Bearer, session cookie or ?ticket=), so it is registered outside the
 * API's token hook.
 */
export async function streamRoutes(fastify: FastifyInstance, opts: { store: Store; hub: StreamHub; apiToken: string }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, hub, apiToken } = opts;

  app.get('/api/stream', {
    schema: {
      summary: 'Server-Sent Events: every new event (event: <kind>, id: <event id>) and call change (event: call)',
      description: 'Resume with Last-Event-ID. EventSource cannot send headers: use ?ticket= from POST /api/stream/ticket, or the dashboard session cookie. A comment line every 15 s keeps the connection open.',
      querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 200: Type.String({ description: 'text/event-stream' }), 401: ErrorResponse },
    },
  }, async (request: FastifyRequest<{ Querystring: { ticket?: string } }>, reply: FastifyReply) => {
    const allowed = isAuthenticated(request, apiToken) || (request.query.ticket !== undefined && ticketIsValid(apiToken, request.query.ticket));
    if (!allowed) return reply.code(401).send({ ok: false, error: errorBody('unauthorized', 'or pass ?ticket= from POST /api/stream/ticket') });

    const resume = await resumePoint(store, request.headers['last-event-id']);
    reply.hijack();
    const res = reply.raw;
    // the headers go out with the hub's first write, once the client's position is fixed
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const client: StreamClient = {
      write: (chunk) => res.write(chunk),
      buffered: () => res.writableLength,
      close: () => res.end(),
      position: null,
    };
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const cleanup = () => {
      clearInterval(heartbeat);
      hub.remove(client);
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
    await hub.add(client, resume);
  });

  app.post('/api/stream/ticket', {
    onRequest: requireApiToken(apiToken),
    schema: {
      summary: 'A ticket for GET /api/stream?ticket=, valid for 60 seconds',
      response: { 200: Type.Object({ ticket: Type.String(), expires_at: Type.String() }), 401: ErrorResponse },
    },
  }, async () => makeTicket(apiToken));
}

/**
 * Where a client that sends Last-Event-ID left off. An id `<event id>` was the event message:
 * its call message follows. An id `<event id>:call` was the call message.
 */
async function resumePoint(store: Store, header: string | string[] | undefined): Promise<{ position: string | null; pendingCall?: string } | null> {
  const last = Array.isArray(header) ? header[header.length - 1] : header;
  if (last === undefined || last.trim() === '') return null;
  const [eventId = '', part] = last.trim().split(':');
  const position = await store.streamPositionOf(eventId);
  if (position === null) throw new CallhookError('invalid_request', `Last-Event-ID ${last} is no event of this stream`);
  if (part === 'call') return { position };
  // the client saw the event message but not the call message after it
  const [entry] = await store.streamAfter(String(BigInt(position) - 1n), 1);
  const call = entry?.call ? `event: call\nid: ${eventId}:call\ndata: ${JSON.stringify(entry.call)}\n\n` : undefined;
  return call ? { position, pendingCall: call } : { position };
}
