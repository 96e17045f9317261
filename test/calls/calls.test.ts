import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Call } from '../../src/calls/call-schema.js';
import { generateDeliveries, type SimCall } from '../../src/simulator/index.js';
import { CALL_TABLE_COLUMNS, callColumns } from '../../src/store/rows.js';
import { DIALECTS } from '../helpers/dialects.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { postJson, runSql, startTestServer, type TestServer } from '../helpers/server.js';
import { sendAll } from '../helpers/simulate.js';

const fixtures = loadFixtures();
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

async function allCalls(srv: TestServer, query = ''): Promise<Call[]> {
  const out: Call[] = [];
  let cursor: string | null = null;
  do {
    const res = await srv.api(`/api/calls?limit=37${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { items: Call[]; next_cursor: string | null };
    out.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor);
  return out;
}

/** A deterministic shuffle (Fisher–Yates with a small LCG). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const byId = (a: Call, b: Call) => (a.id < b.id ? -1 : 1);

for (const dialect of DIALECTS) {
  describe(`calls (${dialect})`, () => {
    const start = Date.now() - 20 * 60_000;
    const generated = generateDeliveries({ calls: 120, rate: 0.5, seed: 41, chaos: ['dup', 'reorder', 'drop-cdr'], start });
    let inOrder: TestServer;
    let shuffledSrv: TestServer;
    before(async () => {
      [inOrder, shuffledSrv] = await Promise.all([startTestServer(dialect), startTestServer(dialect)]);
      await sendAll(inOrder, generated.deliveries);
      await sendAll(shuffledSrv, shuffled(generated.deliveries, 7));
    });
    after(async () => {
      await Promise.all([inOrder?.close(), shuffledSrv?.close()]);
    });

    it('stitches the same calls whatever order the deliveries arrive in', async () => {
      const a = (await allCalls(inOrder)).sort(byId);
      const b = (await allCalls(shuffledSrv)).sort(byId);
      assert.equal(a.length, generated.calls.length);
      assert.deepEqual(a, b);
    });

    it('matches what happened in each simulated call', async () => {
      const calls = new Map((await allCalls(inOrder)).map((c) => [c.id, c]));
      for (const truth of generated.calls) {
        const call = calls.get(`${truth.platform}:${truth.conversation_uuid}`);
        assert.ok(call, `call ${truth.index} (${truth.flow}) was stitched`);
        const where = `call ${truth.index} (${truth.flow}, ${truth.answered ? 'answered' : 'missed'}${truth.cdr_dropped ? ', CDR lost' : ''})`;
        assert.equal(call.direction, truth.direction, where);
        assert.equal(call.from, truth.from, `${where} from`);
        assert.equal(call.to, truth.to, `${where} to`);
        if (truth.cdr_dropped) {
          assert.equal(call.provisional, true, where);
          assert.ok(!['answered', 'missed'].includes(call.status), `${where}: ${call.status}`);
          continue;
        }
        assert.equal(call.provisional, false, where);
        assert.equal(call.status, truth.answered ? 'answered' : 'missed', where);
        assert.equal(call.talk_sec, truth.talk_sec, `${where} talk`);
        assertTruth(call, truth, where);
      }
    });

    it('keeps every column of a call, indexed or not, equal to the call it stores, however often it changed', async () => {
      // a call is updated with each of its events, on SQLite setting only the indexed columns that changed
      for (const srv of [inOrder, shuffledSrv]) {
        const rows = await runSql(srv.config, 'SELECT * FROM calls');
        assert.ok(rows.length >= generated.calls.length);
        for (const row of rows) {
          const expected = callColumns(JSON.parse(String(row['data'])) as Call, (b) => b) as Record<string, unknown>;
          for (const [name] of CALL_TABLE_COLUMNS) {
            const norm = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'boolean' ? String(Number(v)) : String(v));
            assert.equal(norm(row[name]), norm(expected[name]), `${String(row['id'])}: ${name}`);
          }
        }
      }
    });

    it('rebuilds every call from the events and gets the same calls', async () => {
      const before = (await allCalls(shuffledSrv)).sort(byId);
      const env = { ...process.env, CALLHOOK_DATA_DIR: shuffledSrv.config.dataDir, DATABASE_URL: shuffledSrv.config.databaseUrl ?? '' };
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'rebuild'], { env });
      assert.match(stdout, new RegExp(`${generated.calls.length} calls rebuilt`));
      assert.deepEqual((await allCalls(shuffledSrv)).sort(byId), before);
    });

    it('filters calls as the API says, and pages through them', async () => {
      const all = await allCalls(inOrder);
      const first = all.find((c) => c.agent !== null && c.team !== null && c.from !== null) as Call;
      const cases: [string, (c: Call) => boolean][] = [
        ['&direction=outbound', (c) => c.direction === 'outbound'],
        ['&status=missed', (c) => c.status === 'missed'],
        [`&agent=${first.agent}`, (c) => c.agent === first.agent],
        [`&team=${first.team}`, (c) => c.team === first.team],
        [`&number=${(first.from as string).slice(0, 6)}`, (c) => [c.from, c.to].some((n) => n?.startsWith((first.from as string).slice(0, 6)))],
        ['&has_recording=true', (c) => c.recording !== null],
        ['&voicemail=true', (c) => c.voicemail !== null],
        ['&min_wait=30&max_wait=60', (c) => c.wait_sec !== null && c.wait_sec >= 30 && c.wait_sec <= 60],
        [`&since=${new Date(start + 60_000).toISOString()}&until=${new Date(start + 120_000).toISOString()}`, (c) => c.started_at !== null && c.started_at >= new Date(start + 60_000).toISOString() && c.started_at < new Date(start + 120_000).toISOString()],
      ];
      for (const [query, keep] of cases) {
        const expected = all.filter(keep).map((c) => c.id).sort();
        assert.ok(expected.length > 0, `${query} selects something`);
        assert.deepEqual((await allCalls(inOrder, query)).map((c) => c.id).sort(), expected, query);
      }
      const newestFirst = all.map((c) => c.started_at ?? '');
      assert.deepEqual(newestFirst, [...newestFirst].sort().reverse());
    });

    it('shows a call with its legs and its events, each with its raw payload', async () => {
      const [call] = await allCalls(inOrder, '&status=answered&direction=inbound');
      const res = await inOrder.api(`/api/calls/${encodeURIComponent((call as Call).id)}`);
      assert.equal(res.status, 200);
      const detail = (await res.json()) as Call & { events: { call_uuid: string; raw: Record<string, unknown> }[] };
      assert.equal(detail.events.length, detail.event_count);
      assert.ok(detail.legs.length >= 2);
      for (const e of detail.events) assert.equal(e.raw['cmiuuid'], e.call_uuid);
      assert.equal((await inOrder.api('/api/calls/telecmi:nope')).status, 404);
    });
  });

  describe(`a call over time (${dialect})`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => srv?.close());

    it('is not set back by a late live event once its CDR is here', async () => {
      const cdr = fixtures.find((f) => f.name === 'telecmi/cdr-inbound-missed')!.payload;
      const uuid = 'late-live-event-0001';
      const time = Date.now() - 60_000;
      await postJson(`${srv.url}/webhook`, { ...cdr, cmiuuid: uuid, conversation_uuid: uuid, time });
      await postJson(`${srv.url}/webhook`, { type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: uuid, conversation_uuid: uuid, app_id: 2222223, time: time + 5000 });
      await srv.settle();
      const call = (await (await srv.api(`/api/calls/telecmi:${uuid}`)).json()) as Call;
      assert.equal(call.status, 'missed');
      assert.equal(call.provisional, false);
      assert.equal(call.event_count, 2);
    });

    it('is live while waiting, and closed as stale when nothing is heard of it', async () => {
      const uuid = 'stale-call-0001';
      const time = Date.now() - 3 * 3600_000;
      await postJson(`${srv.url}/webhook`, { type: 'event', direction: 'inbound', status: 'waiting', cmiuuid: uuid, conversation_uuid: uuid, app_id: 2222223, from: '447700900001', time });
      await srv.settle();
      let live = (await (await srv.api('/api/live')).json()) as { waiting: Call[]; longest_wait_sec: number };
      assert.ok(live.waiting.some((c) => c.id === `telecmi:${uuid}`));
      assert.ok(live.longest_wait_sec >= 3 * 3600 - 5);
      await srv.running.projector.closeStale();
      const call = (await (await srv.api(`/api/calls/telecmi:${uuid}`)).json()) as Call;
      assert.deepEqual([call.status, call.stale], ['ended', true]);
      live = (await (await srv.api('/api/live')).json()) as { waiting: Call[]; longest_wait_sec: number };
      assert.ok(!live.waiting.some((c) => c.id === `telecmi:${uuid}`));
    });

    it('keeps SQL-looking filters and HTML in payload fields inert', async () => {
      const cdr = fixtures.find((f) => f.name === 'telecmi/cdr-inbound-answered')!.payload;
      const html = '<script>alert(1)</script><img src=x onerror=alert(2)>';
      await postJson(`${srv.url}/webhook`, { ...cdr, cmiuuid: 'html-0001', team: html, user: `${html}_1`, custom: `{"x":"${'<b>'}"}` });
      await srv.settle();
      const call = (await (await srv.api('/api/calls/telecmi:html-0001')).json()) as Call;
      assert.equal(call.team, html);
      for (const q of [`agent=${encodeURIComponent("' OR 1=1 --")}`, `team=${encodeURIComponent('x"; DROP TABLE calls; --')}`]) {
        const res = await srv.api(`/api/calls?${q}`);
        assert.equal(res.status, 200, q);
        assert.deepEqual(((await res.json()) as { items: unknown[] }).items, [], q);
      }
      for (const q of ['number=%25', 'number=_', 'number=*', `number=${encodeURIComponent("1' OR '1'='1")}`]) assert.equal((await srv.api(`/api/calls?${q}`)).status, 400, q);
      assert.ok((await allCalls(srv)).length >= 3, 'the calls table is still there');
      assert.equal((await srv.api('/api/calls?cursor=bm90LWpzb24')).status, 400);
    });
  });
}

/** What the CDR says of each flow. */
function assertTruth(call: Call, truth: SimCall, where: string): void {
  if (truth.flow === 'telecmi.inbound') {
    assert.equal(call.team, truth.team, `${where} team`);
    assert.equal(call.ivr_name, truth.ivr_name, `${where} ivr`);
    assert.equal(call.hangup_reason, truth.hangup_reason, `${where} hangup reason`);
    assert.equal(call.voicemail, truth.voicemail, `${where} voicemail`);
    if (truth.answered) assert.equal(call.agent, truth.agent, `${where} agent`);
    if (!truth.answered) assert.equal(call.wait_sec, truth.wait_sec, `${where} wait`);
    if (truth.answered) assert.equal(call.recording, truth.recording, `${where} recording`);
  }
  if (truth.platform === 'piopiy') assert.equal(call.call_rate, truth.answered ? truth.call_rate : '0', `${where} rate`);
}
