import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Config } from '../config.js';
import { CallhookError } from '../errors.js';
import {
  createDestination,
  DeliverySchema,
  DestinationInputSchema,
  DestinationPatchSchema,
  DestinationSchema,
  getDelivery,
  getDestination,
  listDeliveries,
  listDestinations,
  removeDestination,
  replay,
  ReplayInputSchema,
  ReplayResultSchema,
  retryDelivery,
  rotateSecret,
  updateDestination,
} from '../forward/destinations.js';
import type { Store } from '../store/port.js';
import { ErrorResponse } from './schemas.js';

const Id = Type.Object({ id: Type.String({ maxLength: 20 }) });
const Secret = Type.String({ description: 'The signing secret (whsec_…): shown this once.' });

/** /api/destinations and /api/deliveries. `onChange` wakes the delivery worker. */
export async function forwardRoutes(fastify: FastifyInstance, { store, config, onChange }: { store: Store; config: Config; onChange: () => void }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const found = <T>(value: T | null, what: string): T => {
    if (value === null) throw new CallhookError('not_found', what);
    return value;
  };

  app.post('/api/destinations', {
    schema: {
      summary: 'Add a forwarding destination; the answer shows its signing secret, once',
      body: DestinationInputSchema,
      response: { 201: Type.Object({ destination: DestinationSchema, secret: Secret }), 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const created = await createDestination(store, request.body);
    onChange();
    return reply.code(201).send(created);
  });

  app.get('/api/destinations', { schema: { summary: 'Forwarding destinations', response: { 200: Type.Object({ items: Type.Array(DestinationSchema) }) } } }, async () => ({
    items: await listDestinations(store),
  }));

  app.get('/api/destinations/:id', { schema: { summary: 'One destination', params: Id, response: { 200: DestinationSchema, 404: ErrorResponse } } }, async (request) =>
    found(await getDestination(store, request.params.id), `no destination ${request.params.id}`),
  );

  app.patch('/api/destinations/:id', {
    schema: { summary: 'Change a destination; state pauses, resumes or re-enables it', params: Id, body: DestinationPatchSchema, response: { 200: DestinationSchema, 400: ErrorResponse, 404: ErrorResponse } },
  }, async (request) => {
    const updated = found(await updateDestination(store, request.params.id, request.body), `no destination ${request.params.id}`);
    onChange();
    return updated;
  });

  app.delete('/api/destinations/:id', { schema: { summary: 'Remove a destination with its deliveries', params: Id, response: { 204: Type.Null(), 404: ErrorResponse } } }, async (request, reply) => {
    if (!(await removeDestination(store, request.params.id))) throw new CallhookError('not_found', `no destination ${request.params.id}`);
    onChange();
    return reply.code(204).send(null);
  });

  app.post('/api/destinations/:id/rotate-secret', {
    schema: {
      summary: 'A new signing secret; the previous one signs too for overlap_sec (default a day)',
      params: Id,
      body: Type.Optional(Type.Object({ overlap_sec: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })) }, { additionalProperties: false })),
      response: { 200: Type.Object({ secret: Secret, previous_secret_expires_at: Type.String() }), 404: ErrorResponse },
    },
    // an empty body is allowed: only the content type would say JSON
    preValidation: async (request) => {
      request.body ??= {};
    },
  }, async (request) => {
    const rotated = found(await rotateSecret(store, request.params.id, request.body?.overlap_sec ?? 86_400), `no destination ${request.params.id}`);
    onChange();
    return rotated;
  });

  app.post('/api/destinations/:id/replay', {
    schema: {
      summary: 'Send a range of stored events, calls and alerts again; dry_run says what, and sends nothing',
      params: Id,
      body: ReplayInputSchema,
      response: { 200: ReplayResultSchema, 202: ReplayResultSchema, 400: ErrorResponse, 404: ErrorResponse },
    },
  }, async (request, reply) => {
    const result = found(await replay(store, request.params.id, request.body, config), `no destination ${request.params.id}`);
    if (result.dry_run) return result;
    onChange();
    return reply.code(202).send(result);
  });

  app.get('/api/deliveries', {
    schema: {
      summary: 'Deliveries, newest first, each with every attempt (outcome, status, first 2 KiB of the answer, latency)',
      querystring: Type.Object({
        destination: Type.Optional(Type.String({ maxLength: 20 })),
        status: Type.Optional(Type.Enum(['pending', 'succeeded', 'dead'])),
        kind: Type.Optional(Type.String({ maxLength: 100 })),
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        before: Type.Optional(Type.String({ maxLength: 20, description: 'next from the previous page.' })),
      }),
      response: { 200: Type.Object({ items: Type.Array(DeliverySchema), next: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorResponse },
    },
  }, async (request) => listDeliveries(store, request.query));

  app.get('/api/deliveries/:id', { schema: { summary: 'One delivery with its attempts', params: Id, response: { 200: DeliverySchema, 404: ErrorResponse } } }, async (request) =>
    found(await getDelivery(store, request.params.id), `no delivery ${request.params.id}`),
  );

  app.post('/api/deliveries/:id/retry', {
    schema: { summary: 'Send a delivery again now, on a fresh retry schedule', params: Id, response: { 200: DeliverySchema, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const delivery = found(await retryDelivery(store, request.params.id), `no delivery ${request.params.id}`);
    onChange();
    return delivery;
  });
}
