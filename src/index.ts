export {
  parseWebhook,
  normalizePayload,
  dedupKey,
  EventSchema,
  EVENT_KINDS,
  KNOWN_KINDS,
  PLATFORMS,
  isEventKind,
  type Event,
  type EventKind,
  type KnownKind,
  type Platform,
  type ParseResult,
  type WebhookInput,
} from './payloads/index.js';
export {
  Webhooks,
  WebhookHandlerError,
  createNodeMiddleware,
  fastifyWebhooks,
  createWebHandler,
  handleWebhook,
  type EventOf,
  type Handler,
  type WebhooksOptions,
  type NodeMiddlewareOptions,
  type FastifyWebhooksOptions,
} from './sdk/index.js';
export { simulate, generateDeliveries, type Delivery, type SimulateOptions } from './simulator/index.js';
export { ERRORS, CallhookError, type ErrorCode } from './errors.js';
