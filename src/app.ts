import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Gauge } from 'prom-client';
import Type from 'typebox';
import { AlertEngine, readAlert, type Alert } from './alerts/engine.js';
import { callRoutes } from './api/calls.js';
import { forwardRoutes } from './api/forward.js';
import { statsRoutes } from './api/stats.js';
import { RollupKeeper } from './stats/rollup.js';
import { rollupOptions } from './stats/sql.js';
import { eventRoutes } from './api/events.js';
import { streamRoutes } from './api/stream.js';
import { StreamHub } from './api/stream-hub.js';
import { Projector } from './calls/projector.js';
import { requireApiToken, sessionRoutes } from './api/auth.js';
import { dashboardRoutes, infoRoutes } from './api/dashboard.js';
import type { Config } from './config.js';
import { CallhookError, errorBody } from './errors.js';
import { Forwarder } from './forward/worker.js';
import { GroupCommitter } from './ingest/group-commit.js';
import { webhookRoutes } from './ingest/route.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Store } from './store/port.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface AppDeps {
  config: Config;
  store: Store;
  /** The resolved API token (from the config or the data directory). */
  apiToken: string;
  metrics?: Metrics;
  /** Epoch ms now, for the alert rules (tests set the time). */
  clock?: () => number;
}

export interface App {
  app: FastifyInstance;
  committer: GroupCommitter;
  metrics: Metrics;
  projector: Projector;
  hub: StreamHub;
  alerts: AlertEngine;
  /** Delivers the forwarding outbox; null when CALLHOOK_FORWARD is off. */
  forwarder: Forwarder | null;
}

/** Builds the whole server without listening: tests call inject() or listen on port 0. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, store } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // the webhook URL carries its secret in ?token=: never log a URL with it
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') }) },
    },
    // a log line per webhook would cost more than storing it; /metrics counts requests instead
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy ?? false,
    requestTimeout: config.requestTimeoutMs,
    bodyLimit: config.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.server.headersTimeout = config.headersTimeoutMs;

  const hub = new StreamHub(store);
  await hub.start();
  new Gauge({
    name: 'callhook_stream_clients',
    help: 'Clients connected to /api/stream.',
    registers: [metrics.registry],
    collect() {
      this.set(hub.size);
    },
  });
  const forwarder = config.forward === 'on' ? new Forwarder(store, config, metrics.registry, (err) => app.log.error({ err }, 'forwarding failed; tried again at the next pass')) : null;
  const projector = new Projector(store, hub, {
    // on PostgreSQL, stitching queues the call.updated deliveries
    afterRun: () => forwarder?.kick(),
    staleAfterMs: config.staleAfterMin * 60_000,
    onError: (err) => app.log.error({ err }, 'stitching events into calls failed; it is tried again'),
  });
  const rollups = new RollupKeeper(store, rollupOptions(config), (err) => app.log.error({ err }, 'rolling up statistics failed; tried again in a minute'));
  const committer = new GroupCommitter(store, {
    onCommit: (size, seconds) => {
      // the batch may have queued deliveries (SQLite stitches with the ingest, so call.updated too)
      forwarder?.ingested(size);
      metrics.commitBatchSize.observe(size);
      metrics.commitSeconds.observe(seconds);
      metrics.databaseUp.set(1);
      // what was stitched with the ingest only needs sending; leftovers wait for the projector's timer
      if (store.stitchesOnIngest) hub.advance();
      else projector.kick();
    },
    onFailure: () => metrics.databaseUp.set(0),
  });
  const publishAlert = (alert: Alert) => hub.publish('alert', { kind: `alert.${alert.rule}`, ...alert });
  const alerts = new AlertEngine(
    store,
    config,
    (alert) => {
      app.log.warn({ alert: { rule: alert.rule, subject: alert.subject, state: alert.state, value: alert.value } }, alert.state === 'firing' ? 'alert fired' : 'alert cleared');
      publishAlert(alert);
      // the other instances' stream clients see it too
      store.announceAlert(alert.id).catch((err: unknown) => app.log.warn({ err }, 'could not tell the other instances of an alert'));
      forwarder?.kick();
    },
    (err) => app.log.error({ err }, 'checking alert rules failed; tried again at the next interval'),
    deps.clock,
  );
  // other instances on the same database advance the stream too
  const stopListening = await store.onStreamAdvance(() => hub.advance());
  const stopAlerts = await store.onAlertAnnounced((id) => {
    readAlert(store, id).then(
      (alert) => alert && publishAlert(alert),
      (err: unknown) => app.log.warn({ err }, 'could not read an alert another instance announced'),
    );
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    if (error instanceof CallhookError) return reply.code(error.status).send({ ok: false, error: error.toBody() });
    if (error.validation) return reply.code(400).send({ ok: false, error: errorBody('invalid_request', error.message) });
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ ok: false, error: errorBody('invalid_request', error.message) });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ ok: false, error: errorBody('internal') });
  });

  // the OpenAPI document is made from the route schemas themselves
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'callhook', version: PACKAGE_VERSION, description: 'Events, calls and the live stream of TeleCMI and PIOPIY webhooks.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    hideUntagged: false,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(cookie);
  app.get('/openapi.json', { schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } } }, async () => app.swagger());

  await app.register(webhookRoutes, {
    committer,
    metrics,
    bodyLimit: config.bodyLimit,
    webhookTokens: config.webhookToken ?? [],
    webhookAllow: config.webhookAllow ?? [],
  });

  const Health = Type.Object({
    ok: Type.Boolean(),
    database: Type.Enum(['up', 'down']),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  });
  app.get('/healthz', { schema: { summary: 'Whether the database answers (no token needed)', security: [], response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    try {
      await store.ping();
      metrics.databaseUp.set(1);
      return { ok: true, database: 'up' };
    } catch (err) {
      metrics.databaseUp.set(0);
      return reply.code(503).send({ ok: false, database: 'down', error: errorBody('database_unavailable', err instanceof Error ? err.message : String(err)) });
    }
  });

  await app.register(async (api) => {
    api.addHook('onRequest', requireApiToken(deps.apiToken));
    api.get('/metrics', { schema: { summary: 'Prometheus metrics', response: { 200: Type.String() } } }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
    await api.register(eventRoutes, { store });
    await api.register(callRoutes, { store });
    await api.register(statsRoutes, { store, config });
    await api.register(forwardRoutes, { store, config, onChange: () => forwarder?.changed() });
    await api.register(infoRoutes, { config, version: PACKAGE_VERSION });
  });
  await app.register(sessionRoutes, { apiToken: deps.apiToken, sessionHours: config.sessionHours });
  await app.register(dashboardRoutes);
  await app.register(streamRoutes, { store, hub, apiToken: deps.apiToken });

  app.addHook('onReady', async () => {
    projector.start();
    alerts.start();
    forwarder?.start();
    rollups.start();
  });
  app.addHook('preClose', async () => hub.closeAll());
  app.addHook('onClose', async () => {
    await committer.drain();
    await projector.stop();
    await alerts.stop();
    await rollups.stop();
    await forwarder?.stop();
    await stopListening();
    await stopAlerts();
  });

  return { app, committer, metrics, projector, hub, alerts, forwarder };
}
