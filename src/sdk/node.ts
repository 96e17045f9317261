import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody } from '../errors.js';
import { handleWebhook } from './core.js';
import type { Webhooks } from './webhooks.js';

export interface NodeMiddlewareOptions {
  /** Requests to this path, or below it, are webhooks; default `/webhook`. */
  path?: string;
  /** Largest body read, in bytes; default 1 MiB. */
  bodyLimit?: number;
}

type Next = (err?: unknown) => void;

/**
 * Middleware for node:http and Express. Works with or without express.json() before it.
 *
 * @example
 * app.use(createNodeMiddleware(webhooks, { path: '/webhook/cdr' }));
 */
export function createNodeMiddleware(webhooks: Webhooks, options: NodeMiddlewareOptions = {}) {
  const path = options.path ?? '/webhook';
  const limit = options.bodyLimit ?? 1024 * 1024;
  return async (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next?: Next): Promise<void> => {
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0] ?? '/';
    if (pathname !== path && !pathname.startsWith(`${path}/`)) {
      if (next) return next();
      return send(res, 404, JSON.stringify({ ok: false, error: errorBody('not_found', `no webhook at ${pathname}`) }));
    }
    let rawBody: Buffer | undefined;
    if (req.body === undefined) {
      try {
        rawBody = await readBody(req, limit);
      } catch {
        return send(res, 413, JSON.stringify({ ok: false, error: errorBody('payload_too_large') }));
      }
    }
    const result = await handleWebhook(webhooks, {
      method: req.method ?? 'GET',
      url,
      contentType: req.headers['content-type'],
      body: req.body,
      rawBody,
    });
    send(res, result.status, result.body);
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
