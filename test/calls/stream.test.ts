import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateDeliveries, sendDelivery, type Delivery } from '../../src/simulator/index.js';
import { DIALECTS } from '../helpers/dialects.js';
import { waitUntil } from '../helpers/serve-child.js';
import { API_TOKEN, startTestServer, type TestServer } from '../helpers/server.js';
import { assertWellFormed, openStream, type SseMessage } from '../helpers/sse.js';

const auth = { authorization: `Bearer ${API_TOKEN}` };

async function send(srv: TestServer, deliveries: readonly Delivery[]): Promise<void> {
  for (const d of deliveries) {
    const r = await sendDelivery(`${srv.url}/webhook`, d);
    assert.ok(r.status === 200 || r.status === 202, r.body);
  }
  await srv.settle();
}

/** Event messages are immutable facts: compare them byte for byte. Call messages carry the call as it is now. */
function eventMessages(messages: SseMessage[]): string[] {
  return messages.filter((m) => m.event !== 'call').map((m) => m.text);
}

for (const dialect of DIALECTS) {
  describe(`the live stream (${dialect})`, () => {
    let srv: TestServer;
    const { deliveries } = generateDeliveries({ calls: 6, seed: 51, start: Date.now() - 10 * 60_000 });
    const events = deliveries.length;
    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => srv?.close());

    it('sends every event and call change, resumes from Last-Event-ID with no gap and no repeat', async () => {
      const reference = await openStream(`${srv.url}/api/stream`, auth);
      assert.equal(reference.status, 200);
      const client = await openStream(`${srv.url}/api/stream`, auth);
      await send(srv, deliveries.slice(0, 10));
      await client.waitFor(7);
      client.close();
      const seen = client.messages.slice(0, 7);
      await send(srv, deliveries.slice(10));
      await reference.waitFor(events * 2);
      const last = seen[seen.length - 1] as SseMessage;
      const resumed = await openStream(`${srv.url}/api/stream`, { ...auth, 'last-event-id': last.id as string });
      await resumed.waitFor(events * 2 - 7);
      await new Promise((r) => setTimeout(r, 300));

      const all = [...seen, ...resumed.messages];
      assert.deepEqual(all.map((m) => m.id), reference.messages.map((m) => m.id), 'the same messages in the same order');
      assert.deepEqual(eventMessages(all), eventMessages(reference.messages), 'event messages byte for byte');
      assert.equal(new Set(all.map((m) => m.id)).size, all.length, 'no repeat');
      assert.equal(reference.messages.filter((m) => m.event !== 'call').length, events);
      for (const m of reference.messages) {
        if (m.event === 'call') {
          assert.match(m.id ?? '', /^\d+:call$/);
          assert.ok((JSON.parse(m.data) as { id: string }).id.startsWith(`${(JSON.parse(m.data) as { platform: string }).platform}:`));
        } else {
          const event = JSON.parse(m.data) as { id: string; kind: string };
          assert.deepEqual([m.event, m.id], [event.kind, event.id]);
        }
      }
      assertWellFormed(reference.raw());
      assertWellFormed(resumed.raw());
      assert.ok(reference.raw().startsWith(': connected\n\n'));
      reference.close();
      resumed.close();
    });

    it('takes a short-lived ticket instead of a header, and refuses anything else', async () => {
      const ticket = (await (await srv.api('/api/stream/ticket', { method: 'POST' })).json()) as { ticket: string; expires_at: string };
      assert.ok(Date.parse(ticket.expires_at) > Date.now());
      const ok = await openStream(`${srv.url}/api/stream?ticket=${encodeURIComponent(ticket.ticket)}`);
      assert.equal(ok.status, 200);
      ok.close();
      for (const bad of [`${ticket.ticket}x`, `1.${ticket.ticket.split('.')[1]}`, 'nonsense']) {
        assert.equal((await fetch(`${srv.url}/api/stream?ticket=${encodeURIComponent(bad)}`)).status, 401, bad);
      }
      assert.equal((await fetch(`${srv.url}/api/stream`)).status, 401);
      assert.equal((await fetch(`${srv.url}/api/stream/ticket`, { method: 'POST' })).status, 401);
      assert.equal((await fetch(`${srv.url}/api/stream`, { headers: { ...auth, 'last-event-id': '999999999' } })).status, 400);
    });

    it('forgets clients that disconnect', async () => {
      const clients = async () => Number(/callhook_stream_clients (\d+)/.exec(await (await srv.api('/metrics')).text())?.[1]);
      const before = await clients();
      const streams = await Promise.all([1, 2, 3].map(() => openStream(`${srv.url}/api/stream`, auth)));
      await waitUntil(async () => (await clients()) === before + 3, () => 'clients were not counted');
      for (const s of streams) s.close();
      await waitUntil(async () => (await clients()) === before, () => 'disconnected clients were kept');
    });
  });
}
