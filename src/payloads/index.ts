export { parseWebhook, normalizePayload, type ParseResult } from './parse.js';
export { decodePayload, type WebhookInput } from './decode.js';
export { classify, inferPlatform, normalizeStatus } from './classify.js';
export { dedupKey, canonicalHash } from './dedup.js';
export { EventSchema, type Event } from './event-schema.js';
export { decodeLooseObject } from './loose-object.js';
export { EVENT_KINDS, KNOWN_KINDS, PLATFORMS, isEventKind, type EventKind, type KnownKind, type Platform } from './kinds.js';
