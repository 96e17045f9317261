import { errorBody } from '../errors.js';
import { handleWebhook } from './core.js';
import type { Webhooks } from './webhooks.js';

/**
 * For web-standard runtimes (Deno, Bun, Cloudflare Workers, Next.js route handlers).
 *
 * @example
 * const handleRequest = createWebHandler(webhooks);
 * export default { fetch: handleRequest };
 */
export function createWebHandler(webhooks: Webhooks, options: { bodyLimit?: number } = {}): (request: Request) => Promise<Response> {
  const limit = options.bodyLimit ?? 1024 * 1024;
  return async function handleRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (Number(request.headers.get('content-length') ?? 0) > limit) return json(413, { ok: false, error: errorBody('payload_too_large') });
    const result = await handleWebhook(webhooks, {
      method: request.method,
      url: url.pathname + url.search,
      contentType: request.headers.get('content-type') ?? undefined,
      rawBody: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(await request.arrayBuffer()),
    });
    return new Response(result.body, { status: result.status, headers: JSON_TYPE });
  };
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_TYPE });
}
