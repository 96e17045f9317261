import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyStatic from '@fastify/static';
import Type from 'typebox';
import type { Config } from '../config.js';

/** Built by `npm run build` (vite): the same place from src/ (tests) and from dist/. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * The page may load only its own scripts and styles and talk only to this server; with escaped
 * rendering this is the second wall against markup in webhook fields.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = '<!doctype html><title>callhook</title><p>The dashboard is not built: run <code>npm run build</code> in the callhook folder, then restart.</p>';

/**
 * The dashboard at `/`: hashed assets cached for a year, the page itself revalidated on every load
 * so that an upgrade is picked up.
 */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  // registered in this plugin only: the dashboard's page and assets
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY').header('content-security-policy', CSP);
  });
  if (!existsSync(`${DASHBOARD_DIR}index.html`)) {
    app.get('/', { schema: { hide: true, response: { 503: Type.String() } } }, async (_request, reply) => reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    decorateReply: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

export const InfoSchema = Type.Object({
  version: Type.String(),
  webhook_url: Type.String({ description: 'The URL to paste into the TeleCMI dashboard (SETTINGS > WEBHOOKS), with its ?token= when one is required.' }),
  webhook_url_configured: Type.Boolean({ description: 'Whether it comes from CALLHOOK_PUBLIC_URL; else from the address this request reached.' }),
  tz: Type.String(),
  sl_sec: Type.Integer(),
  short_abandon_sec: Type.Integer(),
  forward: Type.Enum(['on', 'off']),
});

/** GET /api/info: what the dashboard shows about this server's own set-up. */
export async function infoRoutes(fastify: FastifyInstance, opts: { config: Config; version: string }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = opts;
  app.get('/api/info', { schema: { summary: 'This server: version, the webhook URL, time zone and thresholds', response: { 200: InfoSchema } } }, async (request) => {
    const base = (config.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');
    const token = config.webhookToken?.[0];
    return {
      version: opts.version,
      webhook_url: `${base}/webhook/cdr${token ? `?token=${encodeURIComponent(token)}` : ''}`,
      webhook_url_configured: config.publicUrl !== undefined,
      tz: config.tz,
      sl_sec: config.slSec,
      short_abandon_sec: config.shortAbandonSec,
      forward: config.forward,
    };
  });
}
