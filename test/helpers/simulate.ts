import assert from 'node:assert/strict';
import { sendDelivery, type Delivery } from '../../src/simulator/index.js';
import type { TestServer } from './server.js';

/** Sends deliveries to the server's webhook URL, `concurrency` at a time, then waits for stitching. */
export async function sendAll(srv: TestServer, deliveries: readonly Delivery[], concurrency = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const r = await sendDelivery(`${srv.url}/webhook`, deliveries[next++] as Delivery);
      assert.ok(r.status === 200 || r.status === 202, `${r.status} ${r.body}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await srv.settle();
}
