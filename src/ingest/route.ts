import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { errorBody, ERRORS, type ErrorCode } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { dedupKey } from '../payloads/dedup.js';
import { parseWebhook } from '../payloads/parse.js';
import { platformFromPath, splitWebhookUrl } from '../sdk/core.js';
import { matchesAnySecret } from '../secrets.js';
import type { IngestItem, RequestRecord } from '../store/port.js';
import { compileAllowList } from './allow-list.js';
import type { GroupCommitter } from './group-commit.js';

export interface WebhookRouteOptions {
  committer: GroupCommitter;
  metrics: Metrics;
  bodyLimit: number;
  webhookTokens: readonly string[];
  webhookAllow: readonly string[];
}

/** Headers that may carry credentials are not stored with the request. */
const REDACTED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * The webhook receiver: any path under /webhook, POST or GET. A request is acknowledged only after
 * it, and its event, are committed; a malformed one is stored as rejected before its 400.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { committer, metrics, webhookTokens } = options;
  const allowed = options.webhookAllow.length > 0 ? compileAllowList(options.webhookAllow) : null;

  // Bodies stay raw bytes: they are stored as received, and decoded by the payload library.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));

  const refuse = (reply: FastifyReply, outcome: string, code: ErrorCode, detail?: string) => {
    metrics.webhookRequests.inc({ outcome, kind: 'none' });
    return reply.code(ERRORS[code].status).send({ ok: false, error: errorBody(code, detail) });
  };

  // Checked before the body is read: a sender without the secret costs nothing and is not stored.
  app.addHook('onRequest', async (request, reply) => {
    if (allowed && !allowed(request.ip)) return refuse(reply, 'forbidden', 'forbidden_address', request.ip);
    if (webhookTokens.length === 0) return;
    const { token, pathname } = splitWebhookUrl(request.url);
    if (!matchesAnySecret(token, webhookTokens)) {
      request.log.warn({ ip: request.ip, path: pathname }, 'a webhook request without a valid token was refused');
      return refuse(reply, 'unauthorized', 'unauthorized_webhook');
    }
  });

  app.addHook('onResponse', async (_request, reply) => {
    metrics.ackSeconds.observe(reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (error: { code?: string; statusCode?: number; message: string }, request, reply) => {
    const code: ErrorCode = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload_too_large' : 'undecodable_body';
    if (error.statusCode !== undefined && error.statusCode >= 500) request.log.error({ err: error }, 'webhook request failed');
    const rejection = { ...errorBody(code, code === 'payload_too_large' ? `limit ${options.bodyLimit} bytes` : error.message), status: ERRORS[code].status };
    return store(request, reply, { request: requestRecord(request, splitWebhookUrl(request.url), null), rejection });
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : null;
    const url = splitWebhookUrl(request.url);
    const record = requestRecord(request, url, body);
    const parsed = parseWebhook({ rawBody: body ?? undefined, contentType: request.headers['content-type'], query: url.query, platform: platformFromPath(url.pathname) });
    if (!parsed.ok) {
      return store(request, reply, { request: record, rejection: { ...parsed.error, status: ERRORS[parsed.error.code].status } });
    }
    return store(request, reply, { request: record, event: { dedup_key: dedupKey(parsed.event), event: parsed.event } });
  };

  async function store(request: FastifyRequest, reply: FastifyReply, item: IngestItem) {
    let result;
    try {
      result = await committer.submit(item);
    } catch (err) {
      request.log.error({ err }, 'could not store a webhook request; answering 503 so the platform delivers again');
      return refuse(reply, 'unavailable', 'database_unavailable');
    }
    if (item.rejection) {
      // the query is the stored one, without the token
      const { method, path, query } = item.request;
      request.log.info({ request_id: result.request_id, method, path, query, code: item.rejection.code }, 'a webhook request was rejected and kept for inspection');
      metrics.webhookRequests.inc({ outcome: 'rejected', kind: 'none' });
      return reply.code(item.rejection.status).send({ ok: false, id: result.request_id, error: { code: item.rejection.code, message: item.rejection.message } });
    }
    const kind = item.event.event.kind;
    metrics.webhookRequests.inc({ outcome: result.outcome, kind });
    return reply.code(kind === 'unknown' ? 202 : 200).send({ ok: true, id: result.event_id, kind, duplicate: result.outcome === 'duplicate' });
  }

  const methodNotAllowed = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', 'GET, POST');
    return refuse(reply, 'method_not_allowed', 'method_not_allowed', `got ${request.method}`);
  };

  const Failure = Type.Object({
    ok: Type.Literal(false),
    id: Type.Optional(Type.String({ description: 'The rejected request, kept for inspection.' })),
    error: Type.Object({ code: Type.String(), message: Type.String() }),
  });
  const Ack = Type.Object({
    ok: Type.Literal(true),
    id: Type.String({ description: "The event's id: the first delivery's for a redelivery." }),
    kind: Type.String(),
    duplicate: Type.Boolean(),
  });
  const summary = 'A TeleCMI or PIOPIY notification: JSON, form or query string. Answered after it is stored.';
  const response = { 200: Ack, 202: Ack, 400: Failure, 401: Failure, 403: Failure, 413: Failure, 503: Failure };
  for (const url of ['/webhook', '/webhook/*']) {
    app.route({ method: ['GET', 'POST'], url, handler, exposeHeadRoute: false, schema: { summary, response } });
    app.route({ method: ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'], url, handler: methodNotAllowed, schema: { summary: 'Not allowed', response: { 405: Failure } } });
  }
}

function requestRecord(request: FastifyRequest, { pathname, query }: { pathname: string; query: URLSearchParams }, body: Buffer | null): RequestRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) {
    if (v !== undefined && !REDACTED_HEADERS.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return {
    received_at: new Date().toISOString(),
    method: request.method,
    path: pathname,
    query: query.toString(),
    headers,
    content_type: request.headers['content-type'] ?? null,
    body,
    remote_addr: request.ip,
  };
}
