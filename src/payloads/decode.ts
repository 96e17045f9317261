import { errorBody, type ErrorBody } from '../errors.js';
import { isPlainObject } from './loose-object.js';

/**
 * What arrived over HTTP. Give either `body` (already decoded, e.g. by express.json()) or
 * `rawBody` with its `contentType`; GET deliveries carry the fields in `query`.
 */
export interface WebhookInput {
  body?: unknown;
  rawBody?: string | Uint8Array;
  contentType?: string;
  query?: string | URLSearchParams | Record<string, unknown>;
  /** Overrides the platform inferred from the fields (e.g. from the webhook path). */
  platform?: 'telecmi' | 'piopiy';
}

export type Decoded = { ok: true; payload: Record<string, unknown> } | { ok: false; error: ErrorBody };

const utf8 = new TextDecoder('utf-8');

/**
 * Turns what arrived into one object. The docs say JSON but GET and form deliveries exist
 * (vendor-docs §2), so: a body that is JSON is read as JSON whatever the content type claims; a
 * form body is read as form fields; an empty body falls back to the query string.
 */
export function decodePayload(input: WebhookInput): Decoded {
  const { body } = input;
  if (body !== undefined && body !== null && !(typeof body === 'string') && !(body instanceof Uint8Array)) {
    if (isPlainObject(body)) return hasFields(body) ? { ok: true, payload: body } : decodeQueryOrEmpty(input.query);
    return { ok: false, error: errorBody('not_an_object', `got ${describe(body)}`) };
  }
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : input.rawBody;
  const textBody = raw === undefined ? '' : typeof raw === 'string' ? raw : utf8.decode(raw);
  const trimmed = textBody.trim();
  if (trimmed === '') return decodeQueryOrEmpty(input.query);

  const contentType = (input.contentType ?? '').toLowerCase();
  const first = trimmed[0];
  const looksJson = first === '{' || first === '[' || first === '"';
  const isForm = contentType.includes('application/x-www-form-urlencoded');
  if (isForm && !looksJson) return fromForm(trimmed);

  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    if (!looksJson && !contentType.includes('json') && /^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(trimmed)) {
      return fromForm(trimmed);
    }
    const detail = err instanceof Error ? err.message : 'unreadable';
    return looksJson || contentType.includes('json')
      ? { ok: false, error: errorBody('invalid_json', detail) }
      : { ok: false, error: errorBody('undecodable_body', `content type ${contentType || 'none'}`) };
  }
  if (!isPlainObject(value)) return { ok: false, error: errorBody('not_an_object', `got ${describe(value)}`) };
  return { ok: true, payload: value };
}

function decodeQueryOrEmpty(query: WebhookInput['query']): Decoded {
  const payload = queryToObject(query);
  return hasFields(payload) ? { ok: true, payload } : { ok: false, error: errorBody('empty_body') };
}

function fromForm(textBody: string): Decoded {
  const payload = queryToObject(textBody);
  return hasFields(payload) ? { ok: true, payload } : { ok: false, error: errorBody('empty_body') };
}

/**
 * Form and query fields stay strings (so a leading zero survives); a repeated key keeps its last
 * value, as most web frameworks do.
 */
export function queryToObject(query: WebhookInput['query']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (query === undefined) return out;
  if (typeof query === 'string' || query instanceof URLSearchParams) {
    const params = typeof query === 'string' ? new URLSearchParams(query.startsWith('?') ? query.slice(1) : query) : query;
    for (const [key, value] of params) define(out, key, value);
    return out;
  }
  for (const [key, value] of Object.entries(query)) {
    define(out, key, Array.isArray(value) ? value[value.length - 1] : value);
  }
  return out;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function hasFields(obj: Record<string, unknown>): boolean {
  for (const _ in obj) return true;
  return false;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
