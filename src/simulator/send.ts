import { generateDeliveries, type Delivery, type GenerateOptions, type Generated } from './generate.js';

export interface SimulateOptions extends GenerateOptions {
  /** The webhook base URL, e.g. http://localhost:5000/webhook?token=…; delivery paths go below it. */
  url: string;
  /** Requests in flight at once; default 8. */
  concurrency?: number;
  /** 0 sends as fast as possible (the default); N paces deliveries at N times real time. */
  speed?: number;
  /** Stops sending (what is in flight still finishes). */
  signal?: AbortSignal;
  onResult?: (result: DeliveryResult) => void;
}

export interface DeliveryResult {
  delivery: Delivery;
  /** HTTP status, or 0 when the request failed (connection refused or reset). */
  status: number;
  body: string;
  error?: string;
}

export interface SimulateReport extends Generated {
  results: DeliveryResult[];
}

/** Where a delivery goes: its path replaces the last /webhook… of the base URL, keeping its query. */
export function deliveryUrl(base: string, delivery: Delivery): URL {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/webhook(\/.*)?$/, '').replace(/\/$/, '');
  url.pathname = `${prefix}${delivery.path}`;
  if (delivery.method === 'GET') {
    for (const [k, v] of Object.entries(delivery.payload)) url.searchParams.set(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  }
  return url;
}

export async function sendDelivery(base: string, delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult> {
  const url = deliveryUrl(base, delivery);
  try {
    const res = await fetch(url, {
      method: delivery.method,
      headers: delivery.method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: delivery.method === 'POST' ? JSON.stringify(delivery.payload) : null,
      signal: signal ?? null,
    });
    return { delivery, status: res.status, body: await res.text() };
  } catch (err) {
    return { delivery, status: 0, body: '', error: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err) };
  }
}

/** Generates the deliveries and posts them to `url`. */
export async function simulate(options: SimulateOptions): Promise<SimulateReport> {
  const generated = generateDeliveries(options);
  const { deliveries } = generated;
  const results: DeliveryResult[] = [];
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const speed = options.speed ?? 0;
  const t0 = Date.now();
  const first = deliveries[0]?.at ?? 0;
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length && !options.signal?.aborted) {
      const delivery = deliveries[next++] as Delivery;
      if (speed > 0) {
        const wait = (delivery.at - first) / speed - (Date.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const result = await sendDelivery(options.url, delivery);
      results.push(result);
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...generated, results };
}
