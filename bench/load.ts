/**
 * The load generator, run in its own process so that it does not share a core's event loop with
 * the server it measures. Prints one JSON line of results.
 * Usage: load.ts <url> <connections> <seconds> <new-connection-per-request: 0|1>
 */
import autocannon from 'autocannon';
import { generateDeliveries } from '../src/simulator/index.js';

const [url = '', connections = '50', seconds = '10', reconnect = '0'] = process.argv.slice(2);

// The simulator's call flows, replayed over and over. Each replay gives the ids of every call a
// suffix of its own (this process's too, when several load generators run at once), so each request
// is a new event and the events of one call still share their ids, as the platform sends them.
const deliveries = generateDeliveries({ calls: 60, seed: 5 }).deliveries;
const ID_FIELDS = ['cmiuuid', 'conversation_uuid', 'request_id', 'call_id'];
const templates = deliveries.map((d) => JSON.stringify(d.payload));
const idPattern = new RegExp(`"(${ID_FIELDS.join('|')})":"([^"]+)"`, 'g');
// the simulator's customers (44 7xxx xxx xxx); a replay's calls come from callers of their own, as
// new calls do, rather than each number gathering a call per replay at the same instant
const customerPattern = /(?<![0-9A-Za-z])447(\d{9})(?![0-9A-Za-z])/g;
// autocannon starts a connection's context afresh each time its list of requests wraps around, so
// the position in the flows is kept here, shared by all connections: consecutive requests carry a
// call's events in order, a few in flight at once, as the platform sends them.
let sent = 0;

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
      setupRequest: (request) => {
        const index = sent % templates.length;
        const round = Math.floor(sent / templates.length);
        const suffix = `-${process.pid}-${round}`;
        sent++;
        request.body = (templates[index] as string)
          .replace(idPattern, (_m, field: string, id: string) => `"${field}":"${id}${suffix}"`)
          .replace(customerPattern, (_m, rest: string) => `447${String((Number(rest) + (process.pid % 1000) * 1_000_003 + round * 7_919) % 1e9).padStart(9, '0')}`);
        return request;
      },
    },
  ],
});
const non2xx = result.non2xx + result.errors + result.timeouts;
process.stdout.write(
  `${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, non2xx })}\n`,
);
