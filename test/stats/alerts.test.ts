import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { inBusinessHours, type Alert } from '../../src/alerts/engine.js';
import type { MissedItem } from '../../src/calls/missed.js';
import { DIALECTS } from '../helpers/dialects.js';
import { API_TOKEN, postJson, startTestServer, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse.js';

const MIN = 60_000;

describe('business hours', () => {
  it('are read in the time zone, daylight saving included', () => {
    // Monday 2026-03-09 13:30 UTC is 09:30 in New York (EDT, after the change on the 8th)
    assert.equal(inBusinessHours('mon-fri 09:00-18:00', 'America/New_York', Date.parse('2026-03-09T13:30:00Z')), true);
    // Monday 2026-03-02 13:30 UTC is 08:30 in New York (EST)
    assert.equal(inBusinessHours('mon-fri 09:00-18:00', 'America/New_York', Date.parse('2026-03-02T13:30:00Z')), false);
    assert.equal(inBusinessHours('mon-fri 09:00-18:00', 'UTC', Date.parse('2026-03-08T12:00:00Z')), false, 'a Sunday');
    assert.equal(inBusinessHours('sat-mon 00:00-24:00', 'UTC', Date.parse('2026-03-08T23:59:00Z')), true, 'a range across the week end');
    assert.equal(inBusinessHours('mon-fri 09:00-18:00', 'Asia/Kolkata', Date.parse('2026-03-09T12:29:00Z')), true, '17:59 in Kolkata');
    assert.equal(inBusinessHours('mon-fri 09:00-18:00', 'Asia/Kolkata', Date.parse('2026-03-09T12:30:00Z')), false, '18:00 in Kolkata');
  });
});

for (const dialect of DIALECTS) {
  describe(`alerts (${dialect})`, () => {
    let srv: TestServer;
    let now = Date.now();
    /** A server with one rule on, checked by the test at the times it sets. */
    const serve = async (env: Record<string, string>) => {
      srv = await startTestServer(dialect, { ...env, CALLHOOK_ALERT_INTERVAL_MS: '3600000' }, { clock: () => now });
    };
    afterEach(() => srv.close());

    const send = async (path: string, ...payloads: Record<string, unknown>[]) => {
      for (const p of payloads) assert.equal((await postJson(`${srv.url}${path}`, p)).status, 200);
      await srv.settle();
    };
    const checkAt = async (at: number) => {
      now = at;
      await srv.running.alerts.check();
    };
    const alerts = async (rule: string) => {
      const res = await srv.api(`/api/alerts?rule=${rule}`);
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { items: Alert[] }).items;
    };

    it('longest wait: fires once above the threshold, clears once when the caller is answered', async () => {
      await serve({ CALLHOOK_ALERT_WAIT_SEC: '60' });
      const start = Date.now();
      const id = randomUUID();
      const live = { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from: '447100000001', app_id: 2222223, to: '440000000000' };
      const stream = await openStream(`${srv.url}/api/stream`, { authorization: `Bearer ${API_TOKEN}` });
      try {
        await send('/webhook/events', { ...live, time: start, status: 'waiting' });
        await checkAt(start + 59_000);
        assert.equal((await alerts('longest_wait')).length, 0, 'not yet');
        await checkAt(start + 61_000);
        await checkAt(start + 90_000);
        let list = await alerts('longest_wait');
        assert.equal(list.length, 1, 'one firing, however often it is checked');
        assert.equal(list[0]?.state, 'firing');
        await stream.waitFor(1);
        const message = stream.messages.find((m) => m.event === 'alert');
        assert.ok(message, 'sent on the live stream');
        assert.equal((JSON.parse(message.data) as { kind: string }).kind, 'alert.longest_wait');

        await send('/webhook/events', { ...live, time: start + 95_000, status: 'answered' });
        await checkAt(start + 100_000);
        await checkAt(start + 110_000);
        list = await alerts('longest_wait');
        assert.equal(list.length, 1);
        assert.equal(list[0]?.state, 'cleared');
        assert.equal(list[0]?.cleared_at, new Date(start + 100_000).toISOString());
      } finally {
        stream.close();
      }
    });

    it('missed call not called back: fires once after N minutes, clears once on the callback', async () => {
      await serve({ CALLHOOK_ALERT_CALLBACK_MIN: '10' });
      const id = randomUUID();
      const missedAt = Date.now() - 5 * MIN;
      await send('/webhook/cdr', { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, status: 'missed', from: 447100000002, time: missedAt, waitedsec: 20, hangup_reason: 'recv_bye' });
      const item = ((await (await srv.api('/api/missed?state=open')).json()) as { items: MissedItem[] }).items.find((i) => i.number === '447100000002');
      assert.ok(item);
      const first = Date.parse(item.first_missed_at);
      await checkAt(first + 9 * MIN);
      assert.equal((await alerts('missed_not_called_back')).length, 0);
      await checkAt(first + 11 * MIN);
      await checkAt(first + 12 * MIN);
      let list = await alerts('missed_not_called_back');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.subject, item.id);
      await send('/webhook/cdr', { appid: 2222223, type: 'cdr', direction: 'outbound', leg: 'a', cmiuuid: randomUUID(), user: '202_2222223', status: 'answered', to: 447100000002, time: missedAt + 13 * MIN, answeredsec: 30 });
      await checkAt(first + 14 * MIN);
      await checkAt(first + 15 * MIN);
      list = await alerts('missed_not_called_back');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.state, 'cleared');
    });

    it('service level of the last hour: fires below the target, clears once back at it', async () => {
      await serve({ CALLHOOK_ALERT_SL_PCT: '80', CALLHOOK_SL_SEC: '20' });
      const base = Date.now() + 10 * MIN;
      let n = 0;
      const answered = async () => {
        const id = randomUUID();
        const t = base + ++n * 1000;
        const live = { type: 'event', direction: 'inbound', conversation_uuid: id, cmiuuid: id, from: `4472000000${n}`, app_id: 2222223, to: '440000000000' };
        await send('/webhook/events', { ...live, time: t, status: 'waiting' }, { ...live, time: t + 5000, status: 'answered' });
        await send('/webhook/cdr', { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, user: '201_2222223', status: 'answered', from: Number(live.from), to: 440000000000, time: t + 60_000, answeredsec: 55 });
      };
      const id = randomUUID();
      await send('/webhook/cdr', { appid: 2222223, type: 'cdr', direction: 'inbound', cmiuuid: id, conversation_uuid: id, status: 'missed', from: 447300000001, time: base + 30_000, waitedsec: 25, hangup_reason: 'recv_cancel' });
      await checkAt(base + 5 * MIN);
      assert.equal((await alerts('service_level'))[0]?.state, 'firing', 'one missed call of one: 0 %');
      for (let i = 0; i < 3; i++) await answered();
      await checkAt(base + 6 * MIN); // 3 of 4: 75 %
      let list = await alerts('service_level');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.state, 'firing');
      await answered();
      await checkAt(base + 7 * MIN); // 4 of 5: 80 %
      await checkAt(base + 8 * MIN);
      list = await alerts('service_level');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.state, 'cleared');
    });

    it('silence within business hours: fires once after N quiet minutes, clears once a webhook arrives', async () => {
      await serve({ CALLHOOK_ALERT_SILENCE_MIN: '5', CALLHOOK_BUSINESS_HOURS: 'mon-sun 00:00-24:00' });
      await send('/webhook/cdr', { appid: 2222223, type: 'event', direction: 'inbound', cmiuuid: randomUUID(), status: 'waiting', from: '447400000001', time: Date.now() });
      const last = Date.now();
      await checkAt(last + 4 * MIN);
      assert.equal((await alerts('silence')).length, 0);
      await checkAt(last + 6 * MIN);
      await checkAt(last + 7 * MIN);
      assert.equal((await alerts('silence')).length, 1);
      await send('/webhook/cdr', { appid: 2222223, type: 'event', direction: 'inbound', cmiuuid: randomUUID(), status: 'waiting', from: '447400000002', time: Date.now() });
      await checkAt(Date.now() + 1000);
      await checkAt(Date.now() + 2000);
      const list = await alerts('silence');
      assert.equal(list.length, 1);
      assert.equal(list[0]?.state, 'cleared');
    });

    it('low balance: fires below the level, holds between the levels, clears at the reset level', async () => {
      await serve({ CALLHOOK_ALERT_BALANCE_BELOW: '100', CALLHOOK_ALERT_BALANCE_RESET: '150' });
      const base = Math.floor(Date.now() / 1000) + 3600;
      let k = 0;
      const billed = (balance: string) => {
        const id = randomUUID();
        const end = base + ++k * 60;
        return { to: 440000000000, appid: 2222222, time: (end - 30) * 1000, start_time: end - 30, end_time: end, from: 447500000001, direction: 'inbound', duration: 20, cmiuuid: id, call_rate: '0.450000', balance, conversation_uuid: id, answer_time: end - 20, leg: 'a', status: 'answered', type: 'cdr' };
      };
      const states = async () => (await alerts('low_balance')).map((a) => a.state);
      await send('/webhook/cdr', billed('120.000000'));
      await checkAt(Date.now());
      assert.deepEqual(await states(), []);
      await send('/webhook/cdr', billed('99.550000'));
      await checkAt(Date.now());
      await send('/webhook/cdr', billed('95.000000'));
      await checkAt(Date.now());
      assert.deepEqual(await states(), ['firing']);
      // above the alert level but below the reset level: no flapping
      await send('/webhook/cdr', billed('130.000000'));
      await checkAt(Date.now());
      assert.deepEqual(await states(), ['firing']);
      await send('/webhook/cdr', billed('160.000000'));
      await checkAt(Date.now());
      await checkAt(Date.now());
      assert.deepEqual(await states(), ['cleared']);
      const [alert] = await alerts('low_balance');
      assert.equal(alert?.value, '99.550000');
    });
  });
}
