import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dedupKey, parseWebhook } from '../../src/index.js';
import { simulate, type Chaos, type DeliveryResult } from '../../src/simulator/index.js';
import { freePort, stop } from '../helpers/process.js';
import { serveChild, storedEvents, waitUntil, type Target } from '../helpers/serve-child.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/dialects.js';
import { API_TOKEN, tempDir } from '../helpers/server.js';

/** The simulator's traffic at 32 requests at a time, until aborted. */
function startLoad(port: number, seed: number, chaos: Chaos[]) {
  const controller = new AbortController();
  let acks = 0;
  const load = simulate({
    url: `http://127.0.0.1:${port}/webhook`,
    calls: 10_000,
    rate: 50,
    seed,
    chaos,
    concurrency: 32,
    signal: controller.signal,
    onResult: (r) => void (r.status === 200 && acks++),
  });
  return { controller, load, acks: () => acks };
}

interface Acked {
  id: string;
  key: string;
}

function acknowledged(results: DeliveryResult[]): Acked[] {
  const out: Acked[] = [];
  for (const r of results) {
    if (r.status !== 200 && r.status !== 202) continue;
    const ack = JSON.parse(r.body) as { id: string };
    const parsed = parseWebhook({ body: r.delivery.payload });
    assert.ok(parsed.ok);
    out.push({ id: ack.id, key: dedupKey(parsed.event) });
  }
  return out;
}

/** Every acknowledged event is in the database under the id it was acknowledged with, once. */
async function assertAllStored(target: Target, acked: Acked[]): Promise<void> {
  const rows = await storedEvents(target);
  {
    const byId = new Map(rows.map((r) => [r.id, r.dedup_key]));
    const byKey = new Map<string, number>();
    for (const r of rows) byKey.set(r.dedup_key, (byKey.get(r.dedup_key) ?? 0) + 1);
    for (const a of acked) {
      assert.equal(byId.get(a.id), a.key, `acknowledged event ${a.id} is stored under its key`);
      assert.equal(byKey.get(a.key), 1, `event ${a.key} is stored once`);
    }
    const distinctAcked = new Set(acked.map((a) => a.key));
    const idsPerKey = new Map<string, Set<string>>();
    for (const a of acked) idsPerKey.set(a.key, (idsPerKey.get(a.key) ?? new Set()).add(a.id));
    for (const [key, ids] of idsPerKey) assert.equal(ids.size, 1, `every delivery of ${key} was acknowledged with one id`);
    assert.ok(rows.length >= distinctAcked.size);
  }
}

for (const dialect of DIALECTS) {
describe(`durability (${dialect})`, () => {
  let temp: ReturnType<typeof tempDir>;
  const databases: TestDatabase[] = [];
  before(() => {
    temp = tempDir('callhook-durability-');
  });
  after(async () => {
    temp.remove();
    for (const d of databases) await d.drop();
  });
  const target = async (name: string): Promise<Target> => {
    const database = dialect === 'postgres' ? await freshDatabase() : null;
    if (database) databases.push(database);
    return { dataDir: join(temp.dir, name), databaseUrl: database?.url ?? '' };
  };

  it('kill -9 under load loses no acknowledged event and doubles none', async () => {
    const where = await target('crash');
    const port = await freePort();
    let child = await serveChild(where, port);
    const { controller, load, acks } = startLoad(port, 11, ['dup', 'reorder']);
    await waitUntil(() => acks() >= 3000, () => `only ${acks()} acknowledged; server output:\n${child.output()}`);
    child.proc.kill('SIGKILL');
    await child.exited;
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    const report = await load;
    const failed = report.results.filter((r) => r.status === 0).length;
    assert.ok(failed > 0, 'the kill happened while requests were in flight');
    const acked = acknowledged(report.results);
    assert.ok(acked.length >= 3000);
    assert.ok(acked.length < report.deliveries.length, 'the load was cut short by the kill');

    child = await serveChild(where, port);
    try {
      await assertAllStored(where, acked);
      // after the restart, a redelivery of an event acknowledged before the crash is a duplicate
      const before = report.results.find((r) => r.status === 200)!;
      const again = await fetch(`http://127.0.0.1:${port}/webhook/cdr`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(before.delivery.payload) });
      assert.equal(again.status, 200);
      const ack = (await again.json()) as { id: string; duplicate: boolean };
      assert.equal(ack.duplicate, true);
      assert.equal(ack.id, (JSON.parse(before.body) as { id: string }).id);
    } finally {
      await stop(child);
    }
  });

  it('SIGTERM during load finishes in-flight requests and loses nothing acknowledged', async () => {
    const where = await target('term');
    const port = await freePort();
    const child = await serveChild(where, port);
    const { controller, load, acks } = startLoad(port, 12, ['dup']);
    await waitUntil(() => acks() >= 2000, () => `only ${acks()} acknowledged; server output:\n${child.output()}`);
    child.proc.kill('SIGTERM');
    const code = await child.exited;
    controller.abort();
    const report = await load;
    assert.equal(code, 0, `clean exit; output:\n${child.output()}`);
    assert.match(child.output(), /SIGTERM: finishing in-flight requests/);
    for (const r of report.results) assert.ok([0, 200, 202, 503].includes(r.status), `unexpected status ${r.status}: ${r.body}`);
    const acked = acknowledged(report.results);
    assert.ok(acked.length >= 2000);
    await assertAllStored(where, acked);
  });
});
}

describe('logs', () => {
  it('never contain a webhook token or the API token', async () => {
    const temp = tempDir();
    const port = await freePort();
    const secret = 'webhook-secret-7f3a9c';
    const child = await serveChild({ dataDir: temp.dir, databaseUrl: '' }, port, { CALLHOOK_WEBHOOK_TOKEN: secret, CALLHOOK_LOG_LEVEL: 'trace' });
    try {
      const url = `http://127.0.0.1:${port}`;
      await fetch(`${url}/webhook/cdr?token=${secret}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"cdr","direction":"inbound","status":"missed","cmiuuid":"log-1"}' });
      await fetch(`${url}/webhook/cdr?source=crm&token=${secret}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{broken' });
      await fetch(`${url}/webhook/cdr?token=wrong`, { method: 'POST', body: '{}' });
      await fetch(`${url}/api/events?cursor=bad`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
      await fetch(`${url}/api/nothing-here?token=${secret}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    } finally {
      await stop(child);
      temp.remove();
    }
    const logLines = child.output().split('\n').filter((l) => l.startsWith('{'));
    const rejected = logLines.find((l) => l.includes('rejected and kept for inspection'));
    assert.ok(rejected, 'the rejected request was logged');
    assert.match(rejected, /"path":"\/webhook\/cdr","query":"source=crm","code":"invalid_json"/);
    assert.ok(logLines.some((l) => l.includes('without a valid token was refused')));
    for (const line of logLines) {
      assert.ok(!line.includes(secret), `a log line shows the webhook token: ${line}`);
      assert.ok(!line.includes(API_TOKEN), `a log line shows the API token: ${line}`);
    }
  });
});
