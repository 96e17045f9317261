import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Delivery } from '../../src/forward/destinations.js';
import { generateDeliveries, sendDelivery } from '../../src/simulator/index.js';
import { ADMIN_URL, DIALECTS, freshDatabase } from '../helpers/dialects.js';
import { freePort, stop } from '../helpers/process.js';
import { startReceiver } from '../helpers/receiver.js';
import { serveChild, storedEvents, waitUntil } from '../helpers/serve-child.js';
import { API_TOKEN, startTestServer, tempDir } from '../helpers/server.js';
import { sendAll } from '../helpers/simulate.js';

/** Retries every half second, long enough that nothing dead-letters while the test runs. */
const RETRY = { CALLHOOK_FORWARD_SCHEDULE: Array.from({ length: 20 }, () => '500ms').join(','), CALLHOOK_FORWARD_POLL_MS: '50', CALLHOOK_FORWARD_TIMEOUT_MS: '1000' };

const api = (base: string, path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

for (const dialect of DIALECTS) {
  describe(`forwarding survives kill -9 (${dialect})`, () => {
    it('loses no pending delivery: after a restart every event reaches the receiver, once', async () => {
      const temp = tempDir();
      const db = dialect === 'postgres' ? await freshDatabase() : null;
      const target = { dataDir: temp.dir, databaseUrl: db?.url ?? '' };
      // the receiver is down for now: every delivery fails and waits for a retry; a few hang
      let up = false;
      const rx = await startReceiver((_id, seen) => (up ? { status: 200 } : seen === 1 && Math.random() < 0.2 ? { status: 503, hang: true } : { status: 503 }));
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      let child = await serveChild(target, port, RETRY);
      try {
        assert.equal((await api(base, '/api/destinations', { method: 'POST', body: JSON.stringify({ url: rx.url, kinds: ['*'] }) })).status, 201);
        const sim = generateDeliveries({ calls: 15, seed: 21, start: Date.now() - 3600_000 });
        for (const d of sim.deliveries) assert.equal((await sendDelivery(`${base}/webhook`, d)).status, 200);
        await waitUntil(() => rx.received.length >= 20, () => `only ${rx.received.length} attempts before the kill`);

        child.proc.kill('SIGKILL');
        await child.exited;
        up = true;
        child = await serveChild(target, port, RETRY);

        const events = await storedEvents(target);
        assert.ok(events.length >= sim.deliveries.length / 2);
        const missing = () => events.filter((e) => (rx.accepted().get(`evt_${e.id}`) ?? 0) === 0);
        await waitUntil(() => missing().length === 0, () => `never delivered after the restart: ${missing().map((e) => e.id).join(', ')}`, 60_000);
        const pending = async () => ((await (await api(base, '/api/deliveries?status=pending&limit=200')).json()) as { items: Delivery[] }).items;
        await waitUntil(async () => (await pending()).length === 0, () => 'deliveries still pending');
        for (const [id, n] of rx.accepted()) assert.equal(n, 1, `${id} accepted once`);
        assert.ok([...rx.accepted().keys()].some((id) => id.startsWith('msg_')), 'call.updated deliveries survived too');
      } finally {
        await stop(child);
        await rx.close();
        temp.remove();
        await db?.drop();
      }
    });
  });
}

if (ADMIN_URL) {
  describe('forwarding with two instances on PostgreSQL', () => {
    it('delivers each event once, the instances sharing the outbox', async () => {
      const db = await freshDatabase();
      const env = { DATABASE_URL: db.url, ...RETRY };
      const a = await startTestServer('postgres', env);
      const b = await startTestServer('postgres', env);
      const rx = await startReceiver(() => ({ status: 200 }));
      try {
        const created = await a.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, kinds: ['*'], max_in_flight: 4 }) });
        assert.equal(created.status, 201);
        const sim = generateDeliveries({ calls: 40, seed: 5, start: Date.now() - 3600_000 });
        await Promise.all([sendAll(a, sim.deliveries.filter((_, i) => i % 2 === 0)), sendAll(b, sim.deliveries.filter((_, i) => i % 2 === 1))]);
        await a.settle();
        await b.settle();
        const list = async () => {
          const out: Delivery[] = [];
          let before = '';
          for (;;) {
            const page = (await (await a.api(`/api/deliveries?limit=200${before}`)).json()) as { items: Delivery[]; next: string | null };
            out.push(...page.items);
            if (!page.next) return out;
            before = `&before=${page.next}`;
          }
        };
        let unfinished: Delivery[] = [];
        await waitUntil(
          async () => (unfinished = (await list()).filter((d) => d.state !== 'succeeded')).length === 0,
          () => `deliveries not succeeded: ${JSON.stringify(unfinished.slice(0, 5).map(({ id, kind, state, attempts, next_attempt_at, last_error }) => ({ id, kind, state, attempts, next_attempt_at, last_error })))} (${unfinished.length} in all)`,
        );
        const all = await list();
        const requests = new Map<string, number>();
        for (const r of rx.received) requests.set(r.id, (requests.get(r.id) ?? 0) + 1);
        assert.equal(requests.size, all.length, 'every delivery reached the receiver');
        for (const [id, n] of requests) assert.equal(n, 1, `${id} was sent once`);
        const attempts = async (srv: typeof a) => [...(await (await srv.api('/metrics')).text()).matchAll(/^callhook_forward_attempts_total\{[^}]*outcome="succeeded"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        const [byA, byB] = [await attempts(a), await attempts(b)];
        assert.equal(byA + byB, all.length);
        assert.ok(byA > 0 && byB > 0, `both instances delivered (${byA} and ${byB})`);
      } finally {
        await a.close();
        await b.close();
        await rx.close();
        await db.drop();
      }
    });
  });
}
