import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { dedupKey, parseWebhook } from '../../src/index.js';
import { generateDeliveries, sendDelivery, simulate, type DeliveryResult } from '../../src/simulator/index.js';
import { ADMIN_URL, freshDatabase, type TestDatabase } from '../helpers/dialects.js';
import { freePort, stop } from '../helpers/process.js';
import { serveChild, storedEvents, waitUntil } from '../helpers/serve-child.js';
import { API_TOKEN, postJson, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';
import { startProxy } from '../helpers/tcp-proxy.js';

const skip = ADMIN_URL ? false : 'DATABASE_URL is not set';

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('two instances on one PostgreSQL database', { skip }, () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    db = await freshDatabase();
    // started together: their migrations take turns under the advisory lock
    [a, b] = await Promise.all([startTestServer('postgres', { DATABASE_URL: db.url }), startTestServer('postgres', { DATABASE_URL: db.url })]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await db?.drop();
  });

  it('stores each event of a simulated day once, with redeliveries crossing instances, and records every request', async () => {
    const { deliveries } = generateDeliveries({ calls: 600, rate: 600 / 86_400, seed: 21, chaos: ['dup', 'reorder'] });
    // a stream client on each instance: each must carry what either instance received
    const streams = await Promise.all([a, b].map((s) => openStream(`${s.url}/api/stream`, { authorization: `Bearer ${API_TOKEN}` })));
    const results: DeliveryResult[] = [];
    let next = 0;
    let pick = 7;
    const worker = async () => {
      while (next < deliveries.length) {
        const delivery = deliveries[next++]!;
        pick = (pick * 1103515245 + 12345) % 2147483648;
        const instance = pick % 2 === 0 ? a : b;
        results.push(await sendDelivery(`${instance.url}/webhook`, delivery));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    for (const r of results) assert.ok(r.status === 200 || r.status === 202, `${r.status} ${r.body}`);

    const expected = new Map<string, Set<string>>();
    for (const r of results) {
      const parsed = parseWebhook({ body: r.delivery.payload });
      assert.ok(parsed.ok);
      const key = dedupKey(parsed.event);
      expected.set(key, (expected.get(key) ?? new Set()).add((JSON.parse(r.body) as { id: string }).id));
    }
    for (const [key, ids] of expected) assert.equal(ids.size, 1, `every delivery of ${key} was acknowledged with the same event id`);
    const stored = await storedEvents({ dataDir: '', databaseUrl: db.url });
    assert.equal(stored.length, expected.size, 'one event per dedup key');
    assert.deepEqual(new Set(stored.map((e) => e.dedup_key)), new Set(expected.keys()));
    assert.equal(await count(db.url, 'SELECT count(*) AS n FROM requests'), deliveries.length, 'every request recorded');
    assert.equal(await count(db.url, 'SELECT sum(redeliveries) AS n FROM events'), deliveries.length - expected.size);
    assert.equal(await count(db.url, "SELECT count(*) AS n FROM requests WHERE outcome = 'duplicate'"), deliveries.length - expected.size);

    await Promise.all([a.settle(), b.settle()]);
    for (const stream of streams) {
      await waitUntil(() => stream.messages.filter((m) => m.event !== 'call').length >= expected.size, () => `only ${stream.messages.length} messages`);
      const ids = stream.messages.filter((m) => m.event !== 'call').map((m) => m.id);
      assert.equal(new Set(ids).size, expected.size, 'every event once, on both instances');
      assert.deepEqual(new Set(ids), new Set(stored.map((e) => e.id)));
      stream.close();
    }
    // both instances stitched the same calls
    const calls = async (s: TestServer) => ((await (await s.api('/api/calls?limit=500')).json()) as { items: unknown[] }).items;
    assert.deepEqual(await calls(a), await calls(b));
    assert.equal((await calls(a)).length, 500);
  });
});

describe('PostgreSQL cut off mid-load', { skip }, () => {
  it('answers 503 while it is away, says why, recovers by itself, and loses nothing acknowledged', async () => {
    const db = await freshDatabase();
    const realPort = Number(new URL(db.url).port || 5432);
    const proxy = await startProxy(realPort);
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    proxied.hostname = '127.0.0.1';
    const temp = tempDir();
    const port = await freePort();
    const child = await serveChild({ dataDir: temp.dir, databaseUrl: proxied.toString() }, port);
    const base = `http://127.0.0.1:${port}`;
    try {
      const controller = new AbortController();
      const results: DeliveryResult[] = [];
      const load = simulate({ url: `${base}/webhook`, calls: 5_000, rate: 20, seed: 31, chaos: ['dup'], concurrency: 8, signal: controller.signal, onResult: (r) => results.push(r) });
      await waitUntil(() => results.filter((r) => r.status === 200).length > 200, () => `no load: ${child.output()}`);

      await proxy.cut();
      await waitUntil(() => results.filter((r) => r.status === 503).length > 20, () => `no 503 after the cut: ${child.output()}`);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { database: string }).database, 'down');
      const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).text();
      assert.match(metrics, /callhook_database_up 0/);
      assert.match(metrics, /callhook_webhook_requests_total\{outcome="unavailable",kind="none"\} [1-9]/);
      assert.match(child.output(), /could not store a webhook request; answering 503/);

      await proxy.restore();
      const cutAt = results.length;
      await waitUntil(() => results.slice(cutAt).filter((r) => r.status === 200).length > 100, () => `no recovery: ${child.output()}`);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      controller.abort();
      await load;

      for (const r of results) assert.ok([200, 202, 503].includes(r.status), `unexpected ${r.status} ${r.body}`);
      const acked = results.filter((r) => r.status === 200 || r.status === 202);
      const stored = new Map((await storedEvents({ dataDir: '', databaseUrl: db.url })).map((e) => [e.id, e.dedup_key]));
      for (const r of acked) {
        const parsed = parseWebhook({ body: r.delivery.payload });
        assert.ok(parsed.ok);
        assert.equal(stored.get((JSON.parse(r.body) as { id: string }).id), dedupKey(parsed.event));
      }
    } finally {
      await stop(child);
      await proxy.close();
      temp.remove();
      await db.drop();
    }
  });
});

describe('alerts with two instances on one PostgreSQL database', { skip }, () => {
  it('go out on both instances’ streams, once each', async () => {
    const db = await freshDatabase();
    let now = Date.now();
    // rules checked only when the test says, on instance a
    const env = { DATABASE_URL: db.url, CALLHOOK_ALERT_WAIT_SEC: '60', CALLHOOK_ALERT_INTERVAL_MS: '3600000' };
    const [a, b] = await Promise.all([startTestServer('postgres', env, { clock: () => now }), startTestServer('postgres', env)]);
    const streams = await Promise.all([a, b].map((s) => openStream(`${s.url}/api/stream`, { authorization: `Bearer ${API_TOKEN}` })));
    try {
      const start = Date.now();
      const id = randomUUID();
      const waiting = { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from: '447100000009', app_id: 2222223, to: '440000000000', time: start, status: 'waiting' };
      assert.equal((await postJson(`${a.url}/webhook/events`, waiting)).status, 200);
      await a.settle();
      now = start + 61_000;
      await a.running.alerts.check();
      const alertsOn = (i: number) => streams[i]!.messages.filter((m) => m.event === 'alert');
      await waitUntil(() => alertsOn(0).length > 0 && alertsOn(1).length > 0, () => `alerts on the streams: a ${alertsOn(0).length}, b ${alertsOn(1).length}`, 10_000);
      const [fromB] = alertsOn(1);
      assert.equal((JSON.parse(fromB!.data) as { kind: string; state: string }).kind, 'alert.longest_wait');
      // a's own announcement comes back to it too, and is not sent twice
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(alertsOn(0).length, 1);
      assert.equal(alertsOn(1).length, 1);
    } finally {
      for (const s of streams) s.close();
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });
});
