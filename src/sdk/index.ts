export { Webhooks, WebhookHandlerError, type EventOf, type Handler, type WebhooksOptions } from './webhooks.js';
export { handleWebhook, type WebhookRequest, type WebhookResponse } from './core.js';
export { createNodeMiddleware, type NodeMiddlewareOptions } from './node.js';
export { fastifyWebhooks, type FastifyWebhooksOptions } from './fastify.js';
export { createWebHandler } from './web.js';
