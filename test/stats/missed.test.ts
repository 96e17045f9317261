import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { MissedItem } from '../../src/calls/missed.js';
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
