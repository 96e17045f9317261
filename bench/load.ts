/**
 * The load generator, run in its own process so that it does not share a core's event loop with
 * the server it measures. Prints one JSON line of results.
 * Usage: load.ts <url> <connections> <seconds> <new-connection-per-request: 0|1>
 */
import autocannon from 'autocannon';
import { generateDeliveries } from '../src/simulator/index.js';

const [url = '', connections = '50', seconds = '10', reconnect = '0'] = process.argv.slice(2);

// The simulator's payload mix; every leg id is replaced per request, so every request is a new event.
const bodies = generateDeliveries({ calls: 60, seed: 5 })
  .deliveries.filter((d) => d.method === 'POST')
  .map((d) => JSON.stringify({ ...d.payload, cmiuuid: '[<id>]', conversation_uuid: '[<id>]' }));

const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  idReplacement: true,
  // "Connection: close" makes the server close after each response and autocannon reconnect
  // (its reconnectRate option sends nothing at a rate of 1 in autocannon 9)
  requests: bodies.map((body) => ({
    method: 'POST',
    path: '/webhook/cdr',
    headers: { 'content-type': 'application/json', ...(reconnect === '1' ? { connection: 'close' } : {}) },
    body,
  })),
});
const non2xx = result.non2xx + result.errors + result.timeouts;
process.stdout.write(
  `${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, non2xx })}\n`,
);
