import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Governor } from '../../src/forward/governor.js';
import { eventOrderKey, filtersMatch, kindMatches, outboxStatements } from '../../src/forward/routing.js';
import { durationMs, nextStep, retryAfterMs, shareOut } from '../../src/forward/worker.js';
import { newSigningSecret, webhookSignature } from '../../src/secrets.js';

describe('forwarding rules', () => {
  it('matches kinds exactly, by prefix wildcard, or all', () => {
    assert.equal(kindMatches(['cdr.*'], 'cdr.inbound.missed'), true);
    assert.equal(kindMatches(['cdr.*'], 'event.inbound.waiting'), false);
    assert.equal(kindMatches(['event.inbound.*'], 'event.outbound.started'), false);
    assert.equal(kindMatches(['call.updated'], 'call.updated'), true);
    assert.equal(kindMatches(['alert.*'], 'alert.low_balance'), true);
    assert.equal(kindMatches(['cdr.inbound'], 'cdr.inbound.missed'), false, 'no implicit prefix');
    assert.equal(kindMatches(['*'], 'unknown'), true);
  });

  it('holds every filter, by equality or prefix, on scalar fields only', () => {
    const data = { team: 'Sales', agent: '103_1111113', talk_sec: 40, custom: { team: 'Sales' }, ivr_name: null };
    assert.equal(filtersMatch([{ field: 'team', op: 'eq', value: 'Sales' }], data), true);
    assert.equal(filtersMatch([{ field: 'team', op: 'eq', value: 'Sal' }], data), false);
    assert.equal(filtersMatch([{ field: 'agent', op: 'prefix', value: '103_' }, { field: 'team', op: 'eq', value: 'Sales' }], data), true);
    assert.equal(filtersMatch([{ field: 'agent', op: 'prefix', value: '103_' }, { field: 'team', op: 'eq', value: 'Support' }], data), false);
    assert.equal(filtersMatch([{ field: 'talk_sec', op: 'eq', value: '40' }], data), true);
    assert.equal(filtersMatch([{ field: 'custom', op: 'eq', value: '[object Object]' }], data), false);
    assert.equal(filtersMatch([{ field: 'ivr_name', op: 'prefix', value: '' }], data), false, 'a null field matches nothing');
  });

  it('orders a call\'s events by their conversation, a leg without one by its leg, anything else alone', () => {
    const e = { kind: 'cdr.inbound.missed', platform: 'telecmi', type: 'cdr', call_uuid: 'leg', conversation_uuid: 'conv' };
    assert.equal(eventOrderKey(e, '7'), 'telecmi:conv');
    assert.equal(eventOrderKey({ ...e, conversation_uuid: null }, '7'), 'telecmi:leg');
    assert.equal(eventOrderKey({ ...e, type: 'callback', kind: 'callback.inbound.http_flow' }, '7'), 'event:7');
    assert.equal(eventOrderKey({ ...e, kind: 'unknown' }, '7'), 'event:7');
  });

  it('queues one row per destination that takes an item', () => {
    const routes = [
      { id: '1', kinds: ['cdr.*'], filters: [] },
      { id: '2', kinds: ['*'], filters: [{ field: 'team', op: 'eq' as const, value: 'Sales' }] },
    ];
    const item = (kind: string, team: string) => ({ kind, order_key: 'k', message_id: 'm', message_at: 't', event_id: '9', fields: { team } });
    const [insert, ...more] = outboxStatements(routes, [item('cdr.inbound.missed', 'Sales'), item('event.inbound.waiting', 'Support'), item('cdr.inbound.answered', 'Support')], 1000);
    assert.equal(more.length, 0);
    const rows = (insert?.params.length ?? 0) / 12;
    assert.equal(rows, 3, 'Sales CDR to both, Support CDR to the first, the Support live event to neither');
    assert.equal(outboxStatements(routes, [], 1000).length, 0);
  });
});

describe('retries', () => {
  const schedule = ['5s', '30s', '2m'].map(durationMs);
  const at = 1_000_000;
  const attempt = (outcome: 'succeeded' | 'failed' | 'timeout' | 'network_error' | 'gone', status: number | null, retry: number | null = null) => ({ outcome, status, retryAfterMs: retry, at });

  it('follows the schedule on timeouts, network errors, 429 and 5xx, then dead-letters', () => {
    assert.deepEqual(nextStep(attempt('timeout', null), 0, schedule), { state: 'pending', step: 1, next: at + 5000 });
    assert.deepEqual(nextStep(attempt('network_error', null), 1, schedule), { state: 'pending', step: 2, next: at + 30_000 });
    assert.deepEqual(nextStep(attempt('failed', 503), 2, schedule), { state: 'pending', step: 3, next: at + 120_000 });
    assert.deepEqual(nextStep(attempt('failed', 503), 3, schedule), { state: 'dead', step: 3, next: at });
    assert.equal(nextStep(attempt('failed', 429), 0, schedule).state, 'pending');
  });

  it('honours Retry-After, fails other answers at once, holds on 410, ends on 2xx', () => {
    assert.deepEqual(nextStep(attempt('failed', 429, 90_000), 0, schedule), { state: 'pending', step: 1, next: at + 90_000 });
    assert.equal(nextStep(attempt('failed', 400), 0, schedule).state, 'dead');
    assert.equal(nextStep(attempt('failed', 404), 0, schedule).state, 'dead');
    assert.equal(nextStep(attempt('failed', 302), 0, schedule).state, 'dead');
    assert.deepEqual(nextStep(attempt('gone', 410), 2, schedule), { state: 'pending', step: 2, next: at });
    assert.equal(nextStep(attempt('succeeded', 204), 0, schedule).state, 'succeeded');
  });

  it('reads Retry-After as seconds or an HTTP date, bounded', () => {
    const now = Date.parse('2026-11-21T10:00:00Z');
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs('Sat, 21 Nov 2026 10:01:00 GMT', now), 60_000);
    assert.equal(retryAfterMs('Sat, 21 Nov 2026 09:00:00 GMT', now), 0, 'a date in the past: now');
    assert.equal(retryAfterMs('9999999', now), 24 * 3600_000);
    assert.equal(retryAfterMs('soon', now), null);
    assert.equal(retryAfterMs(null, now), null);
  });
});

describe('signatures', () => {
  it('verify with the Standard Webhooks library, with either secret during a rotation', () => {
    const [a, b] = [newSigningSecret(), newSigningSecret()];
    const body = JSON.stringify({ type: 'cdr.inbound.missed', timestamp: '2026-11-21T10:00:00.000Z', data: { team: 'Sales' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': webhookSignature([a, b], 'evt_1', ts, body) };
    assert.deepEqual(new Webhook(a).verify(body, headers), JSON.parse(body));
    assert.deepEqual(new Webhook(b).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(newSigningSecret()).verify(body, headers));
    assert.throws(() => new Webhook(a).verify(body.replace('Sales', 'Support'), headers), 'a changed body fails');
  });
});

describe('forwarding gives way to ingest', () => {
  const window = { seconds: 0.25, busy: 0.2, ingested: 40, commits: 40, started: 100 };

  it('paces nothing under ordinary traffic, nor while it is busy sending with no webhook arriving', () => {
    const g = new Governor(50);
    assert.equal(g.update(window), null);
    assert.equal(g.update({ ...window, busy: 1, ingested: 0, commits: 0 }), null, 'a backlog drains at full speed');
  });

  it('halves the pace from what was sent while webhooks saturate the process, down to the floor', () => {
    const g = new Governor(50);
    assert.equal(g.update({ ...window, busy: 0.95, started: 500 }), 1000, '500 in a quarter second is 2,000/s, halved');
    assert.equal(g.update({ ...window, busy: 0.95 }), 500);
    for (let i = 0; i < 10; i++) g.update({ ...window, busy: 0.95 });
    assert.equal(g.pace, 50, 'never below the floor: forwarding slows down but does not stop');
  });

  it('counts webhooks queueing for the database as saturation, whatever the event loop does', () => {
    const g = new Governor(50);
    assert.equal(g.update({ ...window, busy: 0.3, ingested: 400, commits: 40 }), 200);
    assert.equal(new Governor(50).update({ ...window, busy: 0.3, ingested: 120, commits: 40 }), null, 'three per commit is not queueing');
  });

  it('doubles the pace back once ingest no longer saturates, and lifts it past the ceiling', () => {
    const g = new Governor(50);
    g.update({ ...window, busy: 1, started: 0 });
    assert.equal(g.pace, 50);
    const paces: (number | null)[] = [];
    for (let i = 0; i < 12; i++) paces.push(g.update(window));
    assert.deepEqual(paces.slice(0, 3), [100, 200, 400]);
    assert.equal(paces.at(-1), null);
    assert.equal(paces.indexOf(null), 8, 'the ninth doubling of 50 passes 20,000/s');
  });

  it('splits a paced budget evenly between destinations, the odd units taking turns', () => {
    assert.deepEqual(shareOut(12, 2, 0), [6, 6]);
    assert.deepEqual(shareOut(7, 3, 0), [3, 2, 2]);
    assert.deepEqual(shareOut(7, 3, 1), [2, 3, 2]);
    assert.deepEqual(shareOut(7, 3, 5), [2, 2, 3]);
    // one unit for two destinations: each gets it every other pass
    assert.deepEqual([0, 1, 2, 3].map((turn) => shareOut(1, 2, turn)), [[1, 0], [0, 1], [1, 0], [0, 1]]);
    assert.deepEqual(shareOut(Infinity, 2, 0), [Infinity, Infinity], 'unpaced: no destination is held back');
    assert.deepEqual(shareOut(5, 0, 3), []);
  });
});
