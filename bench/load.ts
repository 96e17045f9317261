/**
 * The load generator, run in its own process so that it does not share a core's event loop with
 * the server it measures. Prints one JSON line of results.
 * Usage: load.ts <url> <connections> <seconds> <new-connection-per-request: 0|1>
 */
import autocannon from 'autocannon';
import { generateDeliveries } from '../src/simulator/index.js';

const [url = '', connections = '50', seconds = '10', reconnect = '0'] = process.argv.slice(2);

// The simulator's call flows, replayed by every connection over and over. Each replay gives the
// ids of every call a suffix of its own, so each request is a new event and the events of one
// call still share their ids, as the platform sends them.
const deliveries = generateDeliveries({ calls: 60, seed: 5 }).deliveries;
const ID_FIELDS = ['cmiuuid', 'conversation_uuid', 'request_id', 'call_id'];
const templates = deliveries.map((d) => JSON.stringify(d.payload));
const idPattern = new RegExp(`"(${ID_FIELDS.join('|')})":"([^"]+)"`, 'g');
let connectionCount = 0;

interface Context {
  connection?: number;
  index?: number;
  round?: number;
}

const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      method: 'POST',
      path: '/webhook/cdr',
      // "Connection: close" makes the server close after each response and autocannon reconnect
      // (its reconnectRate option sends nothing at a rate of 1 in autocannon 9)
      headers: { 'content-type': 'application/json', ...(reconnect === '1' ? { connection: 'close' } : {}) },
      setupRequest: (request, context: Context) => {
        context.connection ??= ++connectionCount;
        const index = context.index ?? 0;
        const round = context.round ?? 0;
        const suffix = `-${context.connection}-${round}`;
        request.body = (templates[index] as string).replace(idPattern, (_m, field: string, id: string) => `"${field}":"${id}${suffix}"`);
        context.index = (index + 1) % templates.length;
        if (context.index === 0) context.round = round + 1;
        return request;
      },
    },
  ],
});
const non2xx = result.non2xx + result.errors + result.timeouts;
process.stdout.write(
  `${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, non2xx })}\n`,
);
