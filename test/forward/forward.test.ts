import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Delivery, Destination, ReplayResult } from '../../src/forward/destinations.js';
import { generateDeliveries } from '../../src/simulator/index.js';
import { DIALECTS } from '../helpers/dialects.js';
import { startReceiver, verify, type Receiver, type Received } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/serve-child.js';
import { postJson, runSql, startTestServer, type TestServer } from '../helpers/server.js';
import { sendAll } from '../helpers/simulate.js';

/** Retries come quickly in tests; the schedule is long enough that nothing dead-letters by accident. */
const FAST = { CALLHOOK_FORWARD_SCHEDULE: '50ms,50ms,100ms,100ms,200ms', CALLHOOK_FORWARD_POLL_MS: '50', CALLHOOK_FORWARD_TIMEOUT_MS: '1000' };

/** The call a message belongs to, from what it carries: a call's id, or an event's conversation (else its leg). */
function callOf(r: Received): string | null {
  if (r.type === 'call.updated') return String(r.data['id']);
  const d = r.data;
  if ((d['type'] !== 'cdr' && d['type'] !== 'event') || d['call_uuid'] === null || d['kind'] === 'unknown') return null;
  return `${String(d['platform'])}:${String(d['conversation_uuid'] ?? d['call_uuid'])}`;
}

/**
 * Within each call, no delivery was tried before the one queued before it (lower id) had
 * succeeded. Returns how many calls the receiver heard of.
 */
function assertPerCallOrder(list: readonly Delivery[], received: readonly Received[]): number {
  const deliveryOf = new Map(list.map((d) => [d.message_id, Number(d.id)]));
  const byCall = new Map<string, Received[]>();
  for (const r of received) {
    const call = callOf(r);
    if (call) byCall.set(call, [...(byCall.get(call) ?? []), r]);
  }
  for (const [call, requests] of byCall) {
    const order = [...new Set(requests.map((r) => r.id))];
    const ids = order.map((m) => deliveryOf.get(m) as number);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `call ${call}: first tried in queue order`);
    for (let i = 1; i < order.length; i++) {
      const firstTry = requests.find((r) => r.id === order[i])?.seq as number;
      const prevOk = requests.find((r) => r.id === order[i - 1] && r.status === 200)?.seq as number;
      assert.ok(prevOk < firstTry, `call ${call}: ${order[i]} waited for ${order[i - 1]}`);
    }
  }
  return byCall.size;
}

for (const dialect of DIALECTS) {
  describe(`forwarding (${dialect})`, () => {
    let srv: TestServer;
    let receivers: Receiver[] = [];
    before(async () => {
      srv = await startTestServer(dialect, FAST);
    });
    after(() => srv.close());
    afterEach(async () => {
      // each test's destinations go, so the next test's counts are its own
      for (const d of (await (await srv.api('/api/destinations')).json() as { items: Destination[] }).items) await srv.api(`/api/destinations/${d.id}`, { method: 'DELETE' });
      for (const r of receivers) await r.close();
      receivers = [];
    });

    const receiver = async (...args: Parameters<typeof startReceiver>) => {
      const r = await startReceiver(...args);
      receivers.push(r);
      return r;
    };
    const addDestination = async (body: Record<string, unknown>) => {
      const res = await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { destination: Destination; secret: string };
    };
    const deliveries = async (query: string) => {
      const out: Delivery[] = [];
      let before = '';
      for (;;) {
        const res = await srv.api(`/api/deliveries?limit=200${query}${before}`);
        assert.equal(res.status, 200, await res.clone().text());
        const page = (await res.json()) as { items: Delivery[]; next: string | null };
        out.push(...page.items);
        if (!page.next) return out;
        before = `&before=${page.next}`;
      }
    };
    const settled = async (destination: string) => {
      await waitUntil(async () => (await deliveries(`&destination=${destination}&status=pending`)).length === 0, () => `deliveries of ${destination} still pending`, 30_000);
      return deliveries(`&destination=${destination}`);
    };

    it('signs every delivery as Standard Webhooks, sends each event once, and its call as call.updated', async () => {
      const rx = await receiver();
      const { destination, secret } = await addDestination({ url: rx.url, kinds: ['cdr.*', 'event.*', 'call.updated'] });
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
      assert.equal((await (await srv.api(`/api/destinations/${destination.id}`)).text()).includes(secret), false, 'the secret is shown once');
      const sim = generateDeliveries({ calls: 12, seed: 7, chaos: ['dup'], start: Date.now() - 3600_000 });
      await sendAll(srv, sim.deliveries);
      const list = await settled(destination.id);

      const events = (await (await srv.api('/api/events?limit=500')).json()) as { items: { id: string; kind: string }[] };
      const callEvents = events.items.filter((e) => e.kind.startsWith('cdr.') || e.kind.startsWith('event.'));
      assert.equal(list.filter((d) => d.kind !== 'call.updated').length, callEvents.length, 'one delivery per stored event, none per redelivery');
      assert.ok(list.every((d) => d.state === 'succeeded'));
      assert.equal(rx.received.length, list.length, 'one request per delivery');
      for (const r of rx.received) {
        const payload = verify(secret, r) as { type: string; timestamp: string; data: Record<string, unknown> };
        assert.equal(payload.type, r.type);
        assert.ok(!Number.isNaN(Date.parse(payload.timestamp)));
      }
      for (const e of callEvents) {
        const got = rx.received.filter((r) => r.id === `evt_${e.id}`);
        assert.equal(got.length, 1, `event ${e.id} is delivered once`);
        assert.equal(got[0]?.type, e.kind);
        assert.equal(got[0]?.data['id'], e.id);
        assert.equal(typeof got[0]?.data['raw'], 'object', 'the body carries the raw payload');
      }
      const calls = rx.received.filter((r) => r.type === 'call.updated');
      assert.deepEqual(new Set(calls.map((r) => r.data['id'])).size, sim.calls.length, 'every call is sent as call.updated');
      // a call's latest call.updated is the call as the API shows it now
      const last = new Map(calls.map((r) => [String(r.data['id']), r.data]));
      for (const [id, data] of last) {
        const now = (await (await srv.api(`/api/calls/${encodeURIComponent(id)}`)).json()) as Record<string, unknown>;
        assert.equal(data['status'], now['status'], `call ${id}`);
      }
    });

    it('delivers every event exactly once and in per-call order to a receiver that fails twice before it succeeds', async () => {
      // each message: 503, then 429 (Retry-After: 0), then 200
      const rx = await receiver((_id, seen) => (seen === 1 ? { status: 503, body: 'busy' } : seen === 2 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200, body: 'ok' }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['*'] });
      const sim = generateDeliveries({ calls: 10, seed: 11, chaos: ['dup', 'reorder'], start: Date.now() - 3600_000 });
      await sendAll(srv, sim.deliveries, 1);
      const list = await settled(destination.id);
      assert.ok(list.length > sim.calls.length);
      assert.ok(list.every((d) => d.state === 'succeeded' && d.attempts === 3), 'three attempts each');
      for (const [id, n] of rx.accepted()) assert.equal(n, 1, `${id} accepted once`);
      assert.equal(rx.accepted().size, list.length);

      assert.ok(assertPerCallOrder(list, rx.received) >= sim.calls.length);
      // every attempt is listed with its outcome, status, answer and latency
      const sample = list[0] as Delivery;
      assert.deepEqual(sample.attempt_log.map((a) => [a.outcome, a.status_code]), [['failed', 503], ['failed', 429], ['succeeded', 200]]);
      assert.equal(sample.attempt_log[0]?.response_body, 'busy');
      assert.ok(sample.attempt_log.every((a) => a.latency_ms >= 0));
    });

    it('keeps each call in order with more deliveries queued than a claim reads, calls interleaved, each tried twice', async () => {
      // each event a leg of its own in one of three conversations (the order key), so none is a
      // redelivery; fails each message once: every call's first delivery is retrying (held) while the rest of
      // its deliveries wait among the fresh ones, far more of them than a claim reads at a time
      const rx = await receiver((_id, seen) => (seen === 1 ? { status: 503 } : { status: 200 }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['event.*'], state: 'paused' });
      const calls = ['f-many-a', 'f-many-b', 'f-many-c'];
      const start = Date.now() - 600_000;
      const bodies = Array.from({ length: 300 }, (_, i) => {
        const id = calls[i % calls.length] as string;
        return { appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: `${id}-${i}`, conversation_uuid: id, from: 447000000200 + (i % calls.length), time: start + i * 1000 };
      });
      for (const b of bodies) assert.equal((await postJson(`${srv.url}/webhook/events`, b)).status, 200);
      const resumed = await srv.api(`/api/destinations/${destination.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'active' }) });
      assert.equal(resumed.status, 200);
      const list = await settled(destination.id);
      assert.equal(list.length, 300);
      assert.ok(list.every((d) => d.state === 'succeeded' && d.attempts === 2), 'two attempts each');
      assert.equal(assertPerCallOrder(list, rx.received), calls.length);
    });

    it('holds a live delivery back while a later one of its call is in flight elsewhere, as when ingest commits out of id order', async () => {
      // On PostgreSQL two ingest transactions can commit out of id order: a call's later delivery is
      // claimed (here: leased by another instance) before its earlier one becomes visible. The earlier
      // one must wait for it, not go out beside it.
      const rx = await receiver();
      const { destination } = await addDestination({ url: rx.url, kinds: ['event.*'], state: 'paused' });
      const event = (id: string, leg: string, at: number) => ({ appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: leg, conversation_uuid: id, from: 447000000600, time: at });
      const post = async (body: Record<string, unknown>) => {
        const res = await postJson(`${srv.url}/webhook/events`, body);
        assert.equal(res.status, 200);
        return `evt_${((await res.json()) as { id: string }).id}`;
      };
      const start = Date.now() - 60_000;
      const [first, second] = [await post(event('f-gap', 'f-gap-1', start)), await post(event('f-gap', 'f-gap-2', start + 1000))];
      const queued = await deliveries(`&destination=${destination.id}`);
      const idOf = (message: string) => queued.find((d) => d.message_id === message)?.id as string;
      assert.ok(Number(idOf(first)) < Number(idOf(second)));
      await runSql(srv.config, 'UPDATE deliveries SET lease_until_ms = ?, lease_owner = ? WHERE id = ?', [Date.now() + 3600_000, 'another-instance', Number(idOf(second))]);
      const other = await post(event('f-gap-other', 'f-gap-other-1', start + 2000));
      const resumed = await srv.api(`/api/destinations/${destination.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'active' }) });
      assert.equal(resumed.status, 200);
      // the other call's delivery, queued after the held-back one, is claimed and sent: the claims ran past it
      await waitUntil(() => rx.accepted().has(other), () => 'the other call was not delivered');
      assert.equal(rx.received.filter((r) => r.id === first).length, 0, 'the earlier delivery went out while the later one of its call was in flight');
      // the other instance finishes; the earlier delivery goes now
      await runSql(srv.config, "UPDATE deliveries SET state = 'succeeded', attempts = 1, lease_until_ms = NULL, lease_owner = NULL WHERE id = ?", [Number(idOf(second))]);
      await waitUntil(() => rx.accepted().has(first), () => 'the earlier delivery was not sent after the later one finished');
      assert.equal(rx.received.filter((r) => r.id === second).length, 0);
    });

    it('sends kinds and field filters it is told, and holds deliveries while paused', async () => {
      const rx = await receiver();
      const { destination } = await addDestination({ url: rx.url, kinds: ['cdr.*'], filters: [{ field: 'team', op: 'eq', value: 'Sales' }], state: 'paused' });
      const base = { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', from: 447000000123, virtual_number: 440000000000, time: Date.now() - 60_000, waitedsec: 10 };
      const sales = { ...base, cmiuuid: 'f-sales', conversation_uuid: 'f-sales', team: 'Sales_2222223' };
      const support = { ...base, cmiuuid: 'f-support', conversation_uuid: 'f-support', team: 'Support_2222223' };
      const live = { appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: 'f-live', conversation_uuid: 'f-live', from: 447000000124, time: Date.now(), team: 'Sales_2222223' };
      for (const p of [sales, support, live]) assert.equal((await postJson(`${srv.url}/webhook/cdr`, p)).status, 200);
      await srv.settle();
      const held = await deliveries(`&destination=${destination.id}`);
      assert.deepEqual(held.map((d) => [d.kind, d.state]), [['cdr.inbound.missed', 'pending']], 'only the Sales CDR is queued, and held');
      assert.equal(rx.received.length, 0);

      const resumed = await srv.api(`/api/destinations/${destination.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'active' }) });
      assert.equal(resumed.status, 200);
      await settled(destination.id);
      assert.deepEqual(rx.received.map((r) => [r.type, r.data['team']]), [['cdr.inbound.missed', 'Sales']]);
    });

    it('dead-letters at once on a 4xx, disables the destination on 410, retries by hand', async () => {
      const rx = await receiver(() => ({ status: 400, body: 'bad' }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['cdr.*'] });
      const cdr = { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: 'f-dead', conversation_uuid: 'f-dead', from: 447000000125, time: Date.now(), waitedsec: 3 };
      assert.equal((await postJson(`${srv.url}/webhook/cdr`, cdr)).status, 200);
      const [dead] = await settled(destination.id);
      assert.equal(dead?.state, 'dead');
      assert.equal(dead?.attempts, 1);
      assert.equal(dead?.last_status, 400);

      rx.respond = () => ({ status: 410 });
      const retried = await srv.api(`/api/deliveries/${dead?.id}/retry`, { method: 'POST' });
      assert.equal(retried.status, 200);
      await waitUntil(async () => ((await (await srv.api(`/api/destinations/${destination.id}`)).json()) as Destination).state === 'disabled', () => 'a 410 disables the destination');
      const after410 = (await deliveries(`&destination=${destination.id}`))[0];
      assert.equal(after410?.state, 'pending', 'held while the destination is disabled');
      assert.equal(after410?.attempt_log.at(-1)?.outcome, 'gone');

      rx.respond = () => ({ status: 204 });
      await srv.api(`/api/destinations/${destination.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'active' }) });
      const [done] = await settled(destination.id);
      assert.equal(done?.state, 'succeeded');
      assert.deepEqual(done?.attempt_log.map((a) => a.status_code), [400, 410, 204]);
      assert.equal((await srv.api('/api/deliveries/999999/retry', { method: 'POST' })).status, 404);
    });

    it('signs with both secrets while a rotation overlaps, then with the new one alone', async () => {
      const rx = await receiver();
      const { destination, secret: old } = await addDestination({ url: rx.url, kinds: ['cdr.*'] });
      const rotated = await srv.api(`/api/destinations/${destination.id}/rotate-secret`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ overlap_sec: 3600 }) });
      assert.equal(rotated.status, 200);
      const { secret: fresh } = (await rotated.json()) as { secret: string };
      assert.notEqual(fresh, old);
      const send = async (id: string) => {
        assert.equal((await postJson(`${srv.url}/webhook/cdr`, { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: id, conversation_uuid: id, from: 447000000126, time: Date.now(), waitedsec: 3 })).status, 200);
        await settled(destination.id);
        return rx.received.at(-1) as Received;
      };
      const during = await send('f-rot-1');
      assert.doesNotThrow(() => verify(old, during));
      assert.doesNotThrow(() => verify(fresh, during));
      // no overlap: the old secret stops signing at once
      await srv.api(`/api/destinations/${destination.id}/rotate-secret`, { method: 'POST' }).then(async (r) => {
        assert.equal(r.status, 200);
        const { secret: third } = (await r.json()) as { secret: string };
        await srv.api(`/api/destinations/${destination.id}/rotate-secret`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ overlap_sec: 0 }) }).then(async (r2) => {
          const { secret: fourth } = (await r2.json()) as { secret: string };
          const afterwards = await send('f-rot-2');
          assert.doesNotThrow(() => verify(fourth, afterwards));
          assert.throws(() => verify(third, afterwards));
          assert.throws(() => verify(old, afterwards));
        });
      });
    });

    it('replays a range: a dry run queues and sends nothing; a replay re-sends with the same ids and fresh signatures', async () => {
      const rx = await receiver();
      const { destination, secret } = await addDestination({ url: rx.url, kinds: ['cdr.*'] });
      const since = new Date().toISOString();
      for (const id of ['f-rep-1', 'f-rep-2', 'f-rep-3']) {
        assert.equal((await postJson(`${srv.url}/webhook/cdr`, { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: id, conversation_uuid: id, from: 447000000127, time: Date.now(), waitedsec: 3 })).status, 200);
      }
      const first = await settled(destination.id);
      assert.equal(first.length, 3);
      const sent = rx.received.length;

      const replay = (body: Record<string, unknown>) => srv.api(`/api/destinations/${destination.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const dry = await replay({ since, dry_run: true });
      assert.equal(dry.status, 200);
      const plan = (await dry.json()) as ReplayResult;
      assert.equal(plan.count, 3);
      assert.deepEqual(plan.kinds, { 'cdr.inbound.missed': 3 });
      assert.deepEqual(new Set(plan.sample.map((s) => s.message_id)), new Set(first.map((d) => d.message_id)));
      assert.equal((await deliveries(`&destination=${destination.id}`)).length, 3, 'a dry run queues nothing');
      srv.running.forwarder?.kick();
      await srv.running.forwarder?.idle();
      assert.equal(rx.received.length, sent, 'and sends nothing');

      const real = await replay({ since });
      assert.equal(real.status, 202);
      assert.equal(((await real.json()) as ReplayResult).count, 3);
      const all = await settled(destination.id);
      assert.equal(all.filter((d) => d.replay).length, 3);
      const again = rx.received.slice(sent);
      assert.deepEqual(new Set(again.map((r) => r.id)), new Set(first.map((d) => d.message_id)), 'the same webhook-ids');
      for (const r of again) assert.doesNotThrow(() => verify(secret, r));
      assert.equal((await replay({ since: new Date().toISOString(), until: since })).status, 400);
    });

    it('replays each call in order, a replayed delivery waiting for the one before it to succeed', async () => {
      const calls = ['f-rep-order-a', 'f-rep-order-b', 'f-rep-order-c'];
      const since = new Date().toISOString();
      for (let i = 0; i < 24; i++) {
        const id = calls[i % calls.length] as string;
        const body = { appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: `${id}-${i}`, conversation_uuid: id, from: 447000000300 + (i % calls.length), time: Date.now() - 60_000 + i * 1000 };
        assert.equal((await postJson(`${srv.url}/webhook/events`, body)).status, 200);
      }
      // added after the events: only the replay queues them, all at once, each failing once
      const rx = await receiver((_id, seen) => (seen === 1 ? { status: 503 } : { status: 200 }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['event.*'] });
      const res = await srv.api(`/api/destinations/${destination.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ since }) });
      assert.equal(res.status, 202);
      const list = await settled(destination.id);
      assert.equal(list.length, 24);
      assert.ok(list.every((d) => d.replay && d.state === 'succeeded' && d.attempts === 2), 'replayed, two attempts each');
      assert.equal(assertPerCallOrder(list, rx.received), calls.length);
    });

    it('sends a replay of a call after the live delivery of that call queued before it, however far back in the queue', async () => {
      // one call's 150 live deliveries go one at a time, so each claim finds one of them, leaves room
      // for replays, and reads no further than its window: the live delivery of the other call
      // queued after them is out of its sight while the replay of that call is claimable
      const rx = await receiver();
      const { destination } = await addDestination({ url: rx.url, kinds: ['event.*'], state: 'paused' });
      const event = (id: string, leg: string, at: number) => ({ appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: leg, conversation_uuid: id, from: 447000000400, time: at });
      const start = Date.now() - 600_000;
      for (let i = 0; i < 150; i++) assert.equal((await postJson(`${srv.url}/webhook/events`, event('f-long', `f-long-${i}`, start + i * 1000))).status, 200);
      const since = new Date().toISOString();
      assert.equal((await postJson(`${srv.url}/webhook/events`, event('f-late', 'f-late-1', start + 200_000))).status, 200);
      const replayed = await srv.api(`/api/destinations/${destination.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ since }) });
      assert.equal(replayed.status, 202);
      assert.equal(((await replayed.json()) as ReplayResult).count, 1);
      const resumed = await srv.api(`/api/destinations/${destination.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'active' }) });
      assert.equal(resumed.status, 200);
      const list = await settled(destination.id);
      const late = list.filter((d) => d.message_id === list.find((x) => x.replay)?.message_id);
      const [live, replay] = [late.find((d) => !d.replay), late.find((d) => d.replay)];
      assert.ok(live && replay, 'the late call has a live and a replayed delivery');
      assert.ok((live.attempt_log[0]?.attempted_at ?? '') < (replay.attempt_log[0]?.attempted_at ?? ''), `live ${live.attempt_log[0]?.attempted_at} before the replay ${replay.attempt_log[0]?.attempted_at}`);
      assert.equal(assertPerCallOrder(list.filter((d) => !d.replay), rx.received.filter((r) => callOf(r) !== 'piopiy:f-late')), 1);
    });

    it('does not hold a replay back behind another call whose deliveries are retrying', async () => {
      // every message of call f-stuck fails until dead-lettered, and its later deliveries wait
      // behind it; a replay of another call goes meanwhile
      const rx = await receiver((_id, _seen, data) => (data['conversation_uuid'] === 'f-stuck' ? { status: 503 } : { status: 200 }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['event.*'] });
      const event = (id: string, leg: string) => ({ appid: 2222223, type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: leg, conversation_uuid: id, from: 447000000500, time: Date.now() });
      for (let i = 0; i < 3; i++) assert.equal((await postJson(`${srv.url}/webhook/events`, event('f-stuck', `f-stuck-${i}`))).status, 200);
      const since = new Date().toISOString();
      assert.equal((await postJson(`${srv.url}/webhook/events`, event('f-free', 'f-free-1'))).status, 200);
      const res = await srv.api(`/api/destinations/${destination.id}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ since }) });
      assert.equal(res.status, 202);
      const list = await settled(destination.id);
      const replay = list.find((d) => d.replay);
      const stuck = list.filter((d) => !d.replay && d.state === 'dead').sort((a, b) => Number(a.id) - Number(b.id));
      assert.equal(stuck.length, 3, 'the stuck call is dead-lettered, one delivery after another');
      const lastStuck = stuck[2]?.attempt_log[0]?.attempted_at ?? '';
      assert.ok(replay?.state === 'succeeded' && (replay.attempt_log[0]?.attempted_at ?? '') < lastStuck, `the replay (${replay?.attempt_log[0]?.attempted_at}) went before the stuck call's last delivery was first tried (${lastStuck})`);
    });

    it('validates destinations and reports the outbox in metrics', async () => {
      const bad = async (body: Record<string, unknown>, code: string) => {
        const res = await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
      };
      await bad({ url: 'ftp://example.com/', kinds: ['*'] }, 'invalid_destination');
      await bad({ url: 'http://127.0.0.1:9/', kinds: ['cdr.*'], headers: { 'Webhook-Signature': 'x' } }, 'invalid_destination');
      await bad({ url: 'http://127.0.0.1:9/', kinds: ['cdr*'] }, 'invalid_request');
      await bad({ url: 'http://127.0.0.1:9/', kinds: [] }, 'invalid_request');
      const rx = await receiver(() => ({ status: 503 }));
      const { destination } = await addDestination({ url: rx.url, kinds: ['cdr.*'], headers: { Authorization: 'Bearer crm-token' } });
      assert.deepEqual(destination.headers, { Authorization: '[redacted]' });
      assert.equal((await postJson(`${srv.url}/webhook/cdr`, { appid: 2222223, type: 'cdr', direction: 'inbound', status: 'missed', cmiuuid: 'f-met', conversation_uuid: 'f-met', from: 447000000128, time: Date.now(), waitedsec: 3 })).status, 200);
      await waitUntil(() => rx.received.length >= 2, () => 'retried');
      assert.equal(rx.received[0]?.headers['authorization'], 'Bearer crm-token');
      const metrics = await (await srv.api('/metrics')).text();
      assert.match(metrics, new RegExp(`callhook_forward_queue_depth\\{destination="${destination.id}"\\} 1`));
      assert.match(metrics, new RegExp(`callhook_forward_oldest_pending_seconds\\{destination="${destination.id}"\\} \\d`));
      assert.match(metrics, new RegExp(`callhook_forward_attempts_total\\{destination="${destination.id}",outcome="failed"\\} [1-9]`));
    });
  });

  describe(`forwarding alerts (${dialect})`, () => {
    it('sends a firing and its clearing as alert.<rule>, in that order, signed', async () => {
      let now = Date.now();
      const srv = await startTestServer(dialect, { ...FAST, CALLHOOK_ALERT_BALANCE_BELOW: '10', CALLHOOK_ALERT_INTERVAL_MS: '3600000' }, { clock: () => now });
      const rx = await startReceiver();
      try {
        const res = await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, kinds: ['alert.*'] }) });
        const { secret } = (await res.json()) as { secret: string };
        const billed = async (balance: string) => {
          const end = Math.floor(now / 1000);
          const id = `bal-${balance}`;
          const cdr = { to: 440000000000, appid: 2222222, time: (end - 30) * 1000, start_time: end - 30, end_time: end, from: 447500000001, direction: 'inbound', duration: 20, cmiuuid: id, call_rate: '0.450000', balance, conversation_uuid: id, answer_time: end - 20, leg: 'a', status: 'answered', type: 'cdr' };
          assert.equal((await postJson(`${srv.url}/webhook/cdr`, cdr)).status, 200);
          await srv.settle();
          now += 60_000;
          await srv.running.alerts.check();
        };
        await billed('5.000000');
        await waitUntil(() => rx.received.length === 1, () => 'the firing is delivered');
        await billed('7.000000');
        await billed('25.000000');
        await waitUntil(() => rx.received.length === 2, () => 'the clearing is delivered');
        assert.deepEqual(rx.received.map((r) => [r.type, r.data['state'], r.data['value']]), [['alert.low_balance', 'firing', '5.000000'], ['alert.low_balance', 'cleared', '5.000000']]);
        assert.equal(rx.received[0]?.data['cleared_at'], null, 'a firing is sent as it was when it fired');
        assert.notEqual(rx.received[0]?.id, rx.received[1]?.id);
        for (const r of rx.received) assert.doesNotThrow(() => verify(secret, r));
      } finally {
        await srv.close();
        await rx.close();
      }
    });
  });
}

describe('forwarding gives way to saturating ingest', () => {
  it('slows new deliveries to the busy rate while webhooks queue, never stops them, and catches up after', async () => {
    const srv = await startTestServer('sqlite', { ...FAST, CALLHOOK_FORWARD_BUSY_RATE: '4' });
    const rx = await startReceiver();
    const forwarder = srv.running.forwarder;
    assert.ok(forwarder);
    // webhooks queueing 100 to a commit: saturation, whatever this machine's event loop does
    const pressure = setInterval(() => forwarder.ingested(100), 20);
    try {
      await pacedThenDrained();
    } finally {
      clearInterval(pressure);
      await rx.close();
      await srv.close();
    }

    async function pacedThenDrained(): Promise<void> {
      const res = await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, kinds: ['*'] }) });
      assert.equal(res.status, 201);
      // the governor's first windows bring the pace down to the floor before anything is queued
      await new Promise((r) => setTimeout(r, 600));
      const sim = generateDeliveries({ calls: 10, seed: 8, start: Date.now() - 3600_000 });
      await sendAll(srv, sim.deliveries);
      const queued = (await (await srv.api('/api/deliveries?status=pending&limit=200')).json()) as { items: Delivery[] };
      assert.ok(queued.items.length >= 40, `${queued.items.length} deliveries queued`);
      const before = rx.received.length;
      await new Promise((r) => setTimeout(r, 2000));
      const during = rx.received.length - before;
      // 4 a second, plus at most a second saved up, however slow the machine
      assert.ok(during <= 4 * 2 + 4 + 1, `${during} deliveries in 2 s at 4 a second`);
      assert.ok(during > 0, 'paced, not stopped');
      // the pressure is off: the pace doubles back to unlimited and the backlog drains
      clearInterval(pressure);
      await waitUntil(async () => ((await (await srv.api('/api/deliveries?status=pending&limit=1')).json()) as { items: Delivery[] }).items.length === 0, () => 'the backlog never drained', 30_000);
      const ids = new Set(rx.received.map((r) => r.id));
      assert.equal(ids.size, rx.received.length, 'each delivered once');
    }
  });

  it('shares the paced rate between destinations instead of giving it all to the first', async () => {
    const srv = await startTestServer('sqlite', { ...FAST, CALLHOOK_FORWARD_BUSY_RATE: '8' });
    const receivers = [await startReceiver(), await startReceiver()];
    const forwarder = srv.running.forwarder;
    assert.ok(forwarder);
    const pressure = setInterval(() => forwarder.ingested(100), 20);
    try {
      for (const rx of receivers) {
        const res = await srv.api('/api/destinations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: rx.url, kinds: ['*'] }) });
        assert.equal(res.status, 201);
      }
      await new Promise((r) => setTimeout(r, 600));
      await sendAll(srv, generateDeliveries({ calls: 10, seed: 8, start: Date.now() - 3600_000 }).deliveries);
      const before = receivers.map((rx) => rx.received.length);
      await new Promise((r) => setTimeout(r, 2000));
      const during = receivers.map((rx, i) => rx.received.length - (before[i] as number));
      // 8 a second in all, about 4 each; each has far more queued than that
      assert.ok((during[0] as number) + (during[1] as number) <= 8 * 2 + 8 + 2, `${during.join(' + ')} deliveries in 2 s at 8 a second`);
      for (const [i, n] of during.entries()) assert.ok(n >= 3, `destination ${i + 1} got ${n} of ${during.join(' + ')}`);
    } finally {
      clearInterval(pressure);
      for (const rx of receivers) await rx.close();
      await srv.close();
    }
  });
});
