import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus metrics, in a registry of their own (never the global one). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'callhook_' });
  const registers = [registry];
  return {
    registry,
    webhookRequests: new Counter({
      name: 'callhook_webhook_requests_total',
      help: 'Webhook requests by outcome (accepted, duplicate, rejected, unauthorized, forbidden, method_not_allowed, unavailable) and event kind.',
      labelNames: ['outcome', 'kind'] as const,
      registers,
    }),
    commitBatchSize: new Histogram({
      name: 'callhook_commit_batch_size',
      help: 'Requests committed together in one transaction (group commit).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'callhook_commit_duration_seconds',
      help: 'Time to commit one batch, durable on disk.',
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    ackSeconds: new Histogram({
      name: 'callhook_ack_duration_seconds',
      help: 'Time from a webhook request arriving to its acknowledgement, after commit.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    databaseUp: new Gauge({ name: 'callhook_database_up', help: '1 when the database answered the last check, else 0.', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
