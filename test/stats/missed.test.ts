import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { syncQueue, type MissedItem } from '../../src/calls/missed.js';
import type { Call } from '../../src/calls/call-schema.js';
import type { Row, Sql } from '../../src/store/port.js';
import { DIALECTS } from '../helpers/dialects.js';
import { postJson, startTestServer, type TestServer } from '../helpers/server.js';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const T = Date.now() - 3 * 3600_000;
const MIN = 60_000;

/** TeleCMI CDRs in the catalog's shapes, for one customer number. */
const cdr = {
  missed: (number: string, at: number) => {
    const id = randomUUID();
    return { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, status: 'missed', from: Number(number), virtual_number: 440000000000, time: at, waitedsec: 30, hangup_reason: 'recv_bye', team: 'Sales_2222223', ivr_name: 'salesivr' };
  },
  inboundAnswered: (number: string, at: number) => {
    const id = randomUUID();
    return { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, user: '201_2222223', status: 'answered', to: 440000000000, from: Number(number), time: at, answeredsec: 60, team: 'Sales_2222223' };
  },
  outboundAnswered: (number: string, at: number) => ({
    appid: 2222223, type: 'cdr', direction: 'outbound', leg: 'a', cmiuuid: randomUUID(), user: '202_2222223', status: 'answered', to: Number(number), virtual_number: '440000000000', time: at, answeredsec: 45, hangup_reason: 'sent_bye',
  }),
};

/** Runs the queue's generator against canned rows, one answer per read; gives the reads it made and its writes. */
function driveQueue(change: Parameters<typeof syncQueue>[0], answers: Row[][]): { reads: Sql[]; writes: Sql[] } {
  const gen = syncQueue(change);
  const reads: Sql[] = [];
  let step = gen.next([]);
  while (!step.done) {
    reads.push(step.value);
    step = gen.next(answers[reads.length - 1] ?? []);
  }
  return { reads, writes: step.value };
}

describe('callback queue: joining an open item', () => {
  const at = (min: number) => new Date(T + min * MIN).toISOString();
  const miss = (id: string, min: number, fields: Partial<Call> = {}) => ({ id, platform: 'telecmi', direction: 'inbound', status: 'missed', from: '447000000900', to: '440000000000', started_at: at(min), answered_at: null, voicemail: null, team: 'Sales', ivr_name: null, ...fields }) as unknown as Call;
  const history = Array.from({ length: 500 }, (_, i) => `telecmi:old-${i}`);
  const open = { id: history[0], number: '447000000900', first_missed_at: at(-500), last_missed_at: at(-1), attempts: 500, voicemail: 'vm-1.wav', team: 'Sales', ivr_name: null, state: 'open', resolved_at: null, resolved_by: null, note: null, time_to_callback_sec: null, call_ids: JSON.stringify(history) };

  it('adds a later miss to the open item without reading the calls since its first miss', () => {
    const { reads, writes } = driveQueue({ changed: [miss('telecmi:new', 0, { ivr_name: 'salesivr' })] }, [[], [open]]);
    assert.equal(reads.length, 2, 'the memberships and the items; no calls');
    assert.equal(writes.length, 2);
    const [update, member] = writes as [Sql, Sql];
    assert.match(update.sql, /^UPDATE missed_items/);
    assert.deepEqual(update.params.slice(0, 5), [at(0), 501, 'vm-1.wav', 'Sales', 'salesivr']);
    assert.deepEqual(JSON.parse(String(update.params[5])), [...history, 'telecmi:new']);
    assert.match(member.sql, /^INSERT INTO missed_calls/);
    assert.deepEqual(member.params, ['telecmi:new', history[0], '447000000900']);
  });

  it('gives the latest call a field it lacked, and derives the number again when one is lost or a miss lands earlier', () => {
    const latest = { call_id: history.at(-1), number: '447000000900', item_id: history[0], first_missed_at: open.first_missed_at };
    const gained = driveQueue({ changed: [miss(history.at(-1) as string, -1, { voicemail: 'vm-2.wav' })] }, [[latest], [open]]);
    assert.equal(gained.reads.length, 2);
    assert.deepEqual(gained.writes.map((w) => w.params.slice(0, 3)), [[at(-1), 500, 'vm-2.wav']]);
    // a miss before the latest one, or the latest losing its voicemail: the calls since the first miss are read
    const earlier = driveQueue({ changed: [miss('telecmi:late', -2)] }, [[], [open]]);
    const lost = driveQueue({ changed: [miss(history.at(-1) as string, -1, { team: null })] }, [[latest], [open]]);
    for (const { reads } of [earlier, lost]) {
      assert.match(reads[2]?.sql ?? '', /FROM calls c/);
      assert.equal(reads[2]?.params[0], new Date(T - 500 * MIN - 6 * 3600_000).toISOString());
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`missed-call callback queue (${dialect})`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(() => srv.close());

    const send = async (...payloads: Record<string, unknown>[]) => {
      for (const p of payloads) assert.equal((await postJson(`${srv.url}/webhook/cdr`, p)).status, 200);
      await srv.settle();
    };
    const items = async (query = '') => {
      const res = await srv.api(`/api/missed?limit=100${query}`);
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { items: MissedItem[] }).items;
    };
    const itemOf = async (number: string) => (await items()).filter((i) => i.number === number);

    it('resolves an item by an answered outbound call to the number', async () => {
      await send(cdr.missed('447000000001', T), cdr.outboundAnswered('447000000001', T + 10 * MIN));
      const [item, ...rest] = await itemOf('447000000001');
      assert.equal(rest.length, 0);
      assert.equal(item?.state, 'resolved');
      assert.equal(item?.resolved_by, 'outbound_answered');
      assert.equal(item?.resolved_at, new Date(T + 10 * MIN).toISOString());
      // the missed call started when the caller began waiting: 30 s before the CDR's time
      assert.equal(item?.time_to_callback_sec, 10 * 60 + 30);
      assert.equal(item?.team, 'Sales');
    });

    it('resolves an item by a later answered inbound call from the number', async () => {
      await send(cdr.missed('447000000002', T), cdr.inboundAnswered('447000000002', T + 5 * MIN));
      const [item] = await itemOf('447000000002');
      assert.equal(item?.state, 'resolved');
      assert.equal(item?.resolved_by, 'inbound_answered');
    });

    it('stays open when the next call is missed again, counting the attempts', async () => {
      await send(cdr.missed('447000000003', T), cdr.missed('447000000003', T + 3 * MIN));
      const [item, ...rest] = await itemOf('447000000003');
      assert.equal(rest.length, 0, 'one item, joined');
      assert.equal(item?.state, 'open');
      assert.equal(item?.attempts, 2);
      assert.equal(item?.call_ids.length, 2);
      assert.equal(item?.last_missed_at, new Date(T + 3 * MIN - 30_000).toISOString());
      const open = await items('&state=open');
      assert.equal(open[0]?.number, '447000000003', 'most attempts first');
      for (let i = 1; i < open.length; i++) assert.ok((open[i - 1] as MissedItem).attempts > (open[i] as MissedItem).attempts || (open[i - 1] as MissedItem).first_missed_at <= (open[i] as MissedItem).first_missed_at, 'then oldest first');
    });

    it('does not let an answered call before the miss resolve it', async () => {
      await send(cdr.inboundAnswered('447000000004', T - 10 * MIN), cdr.missed('447000000004', T));
      const [item] = await itemOf('447000000004');
      assert.equal(item?.state, 'open');
    });

    it('resolves by event time when the callback arrives before the missed call', async () => {
      await send(cdr.outboundAnswered('447000000005', T + 20 * MIN));
      await send(cdr.missed('447000000005', T));
      const [item] = await itemOf('447000000005');
      assert.equal(item?.state, 'resolved');
      assert.equal(item?.resolved_by, 'outbound_answered');
    });

    it('resolves by hand with a note, refuses a second resolution, and opens a new item on a new miss', async () => {
      await send(cdr.missed('447000000006', T));
      const [item] = await itemOf('447000000006');
      assert.ok(item);
      let res = await srv.api(`/api/missed/${encodeURIComponent(item.id)}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: 'called from a mobile' }) });
      assert.equal(res.status, 200, await res.clone().text());
      const resolved = (await res.json()) as MissedItem;
      assert.equal(resolved.state, 'resolved');
      assert.equal(resolved.resolved_by, 'manual');
      assert.equal(resolved.note, 'called from a mobile');
      res = await srv.api(`/api/missed/${encodeURIComponent(item.id)}/resolve`, { method: 'POST' });
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'already_resolved');
      assert.equal((await srv.api('/api/missed/telecmi:nope/resolve', { method: 'POST' })).status, 404);

      await send(cdr.missed('447000000006', Date.now() + 60_000));
      const both = await itemOf('447000000006');
      assert.deepEqual(both.map((i) => i.state).sort(), ['open', 'resolved']);
      assert.equal(both.find((i) => i.state === 'open')?.attempts, 1);
    });

    it('keeps a number that misses again and again in one item, late arrivals included', async () => {
      const number = '447000000007';
      const calls = Array.from({ length: 30 }, (_, i) => cdr.missed(number, T + i * MIN));
      const late = cdr.missed(number, T + 14 * MIN + 30_000);
      await send(...calls, late, cdr.missed(number, T + 40 * MIN));
      const [item, ...rest] = await itemOf(number);
      assert.equal(rest.length, 0, 'one item');
      assert.equal(item?.state, 'open');
      assert.equal(item?.attempts, 32);
      assert.equal(item?.last_missed_at, new Date(T + 40 * MIN - 30_000).toISOString());
      const ids = item?.call_ids ?? [];
      assert.equal(ids[15], `telecmi:${String(late.conversation_uuid)}`, 'the late miss in its place by time');
      assert.deepEqual(ids.slice(0, 15), calls.slice(0, 15).map((c) => `telecmi:${String(c.conversation_uuid)}`));
    });

    it('gives the same queue, manual resolutions included, after callhook rebuild', async () => {
      const before = (await items()).sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.ok(before.some((i) => i.resolved_by === 'manual'));
      const env = { ...process.env, CALLHOOK_DATA_DIR: srv.config.dataDir, DATABASE_URL: srv.config.databaseUrl ?? '' };
      await promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'rebuild'], { env });
      assert.deepEqual((await items()).sort((a, b) => (a.id < b.id ? -1 : 1)), before);
    });

    it('counts callbacks in the statistics', async () => {
      const res = await srv.api(`/api/stats?since=${new Date(T - 3600_000).toISOString()}&until=${new Date(Date.now() + 3600_000).toISOString()}`);
      const { totals } = (await res.json()) as { totals: { missed: number; callback_rate: number; avg_time_to_callback_sec: number } };
      const all = await items();
      const missedCalls = all.reduce((n, i) => n + i.attempts, 0);
      const calledBack = all.filter((i) => i.state === 'resolved').reduce((n, i) => n + i.attempts, 0);
      assert.equal(totals.missed, missedCalls);
      assert.equal(totals.callback_rate, Math.round((calledBack / missedCalls) * 1e4) / 1e4);
    });
  });
}
