import { errorBody, type ErrorBody, type ErrorCode, ERRORS } from '../errors.js';
import type { Platform } from '../payloads/kinds.js';
import { parseWebhook } from '../payloads/parse.js';
import { matchesAnySecret } from '../secrets.js';
import { WebhookHandlerError, type Webhooks } from './webhooks.js';

/** One HTTP request as every adapter sees it. */
export interface WebhookRequest {
  method: string;
  /** Path and query string, e.g. `/webhook/cdr?token=…`. */
  url: string;
  contentType?: string | undefined;
  /** A body some earlier middleware already decoded (express.json()). */
  body?: unknown;
  rawBody?: string | Uint8Array | undefined;
}

export interface WebhookResponse {
  status: number;
  body: string;
}

/** The query string of a webhook URL, with the secret taken out so it is never stored as a field. */
export function splitWebhookUrl(url: string): { pathname: string; query: URLSearchParams; token: string | null } {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const token = query.get('token');
  query.delete('token');
  return { pathname, query, token };
}

/** A path segment `telecmi` or `piopiy` sets the platform (e.g. /webhook/piopiy/cdr). */
export function platformFromPath(pathname: string): Platform | undefined {
  for (const segment of pathname.toLowerCase().split('/')) {
    if (segment === 'telecmi' || segment === 'piopiy') return segment;
  }
  return undefined;
}

function reply(status: number, payload: { ok: true; kind: string } | { ok: false; error: ErrorBody }): WebhookResponse {
  return { status, body: JSON.stringify(payload) };
}

function fail(code: ErrorCode, detail?: string): WebhookResponse {
  return reply(ERRORS[code].status, { ok: false, error: errorBody(code, detail) });
}

/**
 * The one core every adapter calls: method and token checks, decoding, then the handlers, which
 * finish before the response is made.
 */
export async function handleWebhook(webhooks: Webhooks, request: WebhookRequest): Promise<WebhookResponse> {
  if (request.method !== 'POST' && request.method !== 'GET') return fail('method_not_allowed', `got ${request.method}`);
  const { pathname, query, token } = splitWebhookUrl(request.url);
  if (webhooks.tokens.length > 0 && !matchesAnySecret(token, webhooks.tokens)) return fail('unauthorized_webhook');
  const parsed = parseWebhook({
    body: request.body,
    rawBody: request.rawBody,
    contentType: request.contentType,
    query,
    platform: platformFromPath(pathname) ?? webhooks.platform,
  });
  if (!parsed.ok) return reply(ERRORS[parsed.error.code].status, { ok: false, error: parsed.error });
  try {
    await webhooks.receive(parsed.event);
  } catch (err) {
    return fail('handler_failed', err instanceof WebhookHandlerError ? err.message : String(err));
  }
  return reply(parsed.event.kind === 'unknown' ? 202 : 200, { ok: true, kind: parsed.event.kind });
}
