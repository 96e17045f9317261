import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handleWebhook } from './core.js';
import type { Webhooks } from './webhooks.js';

export interface FastifyWebhooksOptions {
  webhooks: Webhooks;
  /** Default `/webhook`; paths below it are webhooks too. */
  path?: string;
}

/**
 * A Fastify plugin. It reads bodies as raw text in its own scope, so the app's JSON parser
 * elsewhere is untouched.
 *
 * @example
 * await app.register(fastifyWebhooks, { webhooks, path: '/webhook' });
 */
export async function fastifyWebhooks(app: FastifyInstance, options: FastifyWebhooksOptions): Promise<void> {
  const path = options.path ?? '/webhook';
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // every method reaches the core, which answers 405 for all but GET and POST
  const method = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  app.route({ method, url: path, handler: handle, exposeHeadRoute: false });
  app.route({ method, url: `${path}/*`, handler: handle, exposeHeadRoute: false });

  async function handle(request: FastifyRequest, reply: FastifyReply) {
    const result = await handleWebhook(options.webhooks, {
      method: request.method,
      url: request.url,
      contentType: request.headers['content-type'],
      rawBody: Buffer.isBuffer(request.body) ? request.body : undefined,
    });
    return reply.code(result.status).type('application/json; charset=utf-8').send(result.body);
  }
}
