import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateDeliveries, type SimCall } from '../../src/simulator/index.js';
import { DIALECTS } from '../helpers/dialects.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sendAll } from '../helpers/simulate.js';

// US daylight saving ends on 2026-11-01 at 06:00 UTC: the calls span it, so one local hour occurs twice
const TZ = 'America/New_York';
const START = Date.parse('2026-10-31T18:00:00Z');
const SL = 20;
const SHORT = 30;

interface Tally {
  offered: number; answered: number; missed: number; abandoned: number; short: number;
  ansWaitN: number; ansWaitSum: number; offWaitN: number; offWaitSum: number; longest: number | null;
  slWithin: number; slBase: number; talkN: number; talkSum: number; voicemails: number;
  outAttempts: number; outAnswered: number; costMicros: number;
  callers: Map<string, number>; spans: [number, number][];
  queued: number; calledBack: number; callbackSum: number;
}

const tally = (): Tally => ({
  offered: 0, answered: 0, missed: 0, abandoned: 0, short: 0, ansWaitN: 0, ansWaitSum: 0, offWaitN: 0, offWaitSum: 0, longest: null,
  slWithin: 0, slBase: 0, talkN: 0, talkSum: 0, voicemails: 0, outAttempts: 0, outAnswered: 0, costMicros: 0, callers: new Map(), spans: [], queued: 0, calledBack: 0, callbackSum: 0,
});

/** The callback each missed call got, from the generated calls alone: per customer, in time order. */
function callbacks(calls: readonly SimCall[]): Map<number, number | null> {
  const byNumber = new Map<string, { t: number; miss: boolean; call: SimCall }[]>();
  for (const c of calls) {
    const number = c.direction === 'inbound' ? c.from : c.to;
    const steps = byNumber.get(number) ?? [];
    if (c.direction === 'inbound' && !c.answered) steps.push({ t: c.arrived_at, miss: true, call: c });
    if (c.answered) steps.push({ t: c.answered_at as number, miss: false, call: c });
    byNumber.set(number, steps);
  }
  const out = new Map<number, number | null>();
  for (const steps of byNumber.values()) {
    steps.sort((a, b) => a.t - b.t || (a.miss ? -1 : 1));
    let open: SimCall[] = [];
    for (const s of steps) {
      if (s.miss) open.push(s.call);
      else {
        for (const m of open) out.set(m.index, Math.round((s.t - m.arrived_at) / 1000));
        open = [];
      }
    }
    for (const m of open) out.set(m.index, null);
  }
  return out;
}

function add(t: Tally, c: SimCall, callback: number | null | undefined): void {
  const wait = c.wait_sec;
  if (c.direction === 'inbound') {
    t.offered++;
    t.callers.set(c.from, (t.callers.get(c.from) ?? 0) + 1);
    if (wait !== null) {
      t.offWaitN++;
      t.offWaitSum += wait;
      t.longest = Math.max(t.longest ?? 0, wait);
    }
    if (c.answered) {
      t.answered++;
      if (wait !== null) {
        t.ansWaitN++;
        t.ansWaitSum += wait;
        t.slBase++;
        if (wait <= SL) t.slWithin++;
      }
    } else {
      t.missed++;
      t.slBase++;
      if (c.voicemail) t.voicemails++;
      if (c.hangup_reason === 'recv_bye') {
        if (wait !== null && wait < SHORT) t.short++;
        else t.abandoned++;
      }
      t.queued++;
      if (callback !== null && callback !== undefined) {
        t.calledBack++;
        t.callbackSum += callback;
      }
    }
  } else {
    t.outAttempts++;
    if (c.answered) t.outAnswered++;
  }
  if (c.answered) {
    t.talkN++;
    t.talkSum += c.talk_sec;
  }
  if (c.answered && c.call_rate !== null) t.costMicros += Math.round(Number(c.call_rate) * 1e6) * Math.ceil(c.talk_sec / 60);
  t.spans.push([Math.floor(c.arrived_at / 1000), Math.floor(c.ended_at / 1000)]);
}

function peak(spans: [number, number][]): number {
  const points = spans.flatMap(([s, e]) => [[s, 1], [e, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (n += d));
  return max;
}

/**
 * The peak per local hour or day: the most calls in progress at a moment within it, counting the
 * calls carried into it, over the moments of the hours (days) that have a start or an end.
 */
function timePeaks(calls: readonly SimCall[], key: (ms: number) => number | string, instance: (ms: number) => string): Map<number | string, number> {
  const points = calls
    .flatMap((c) => {
      const s = Math.floor(c.arrived_at / 1000);
      return [[s, 1], [Math.min(Math.floor(c.ended_at / 1000), s + 86_400), -1]] as [number, number][];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const peaks = new Map<number | string, number>();
  const note = (k: number | string, n: number) => peaks.set(k, Math.max(peaks.get(k) ?? 0, n));
  let n = 0;
  let current = '';
  for (const [t, d] of points) {
    const k = key(t * 1000);
    if (instance(t * 1000) !== current) {
      current = instance(t * 1000);
      note(k, n);
    }
    note(k, (n += d));
  }
  return peaks;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** The API's figures, as the definitions describe them, from a tally of generated calls. */
function expected(t: Tally): Record<string, number | string | null> {
  return {
    offered: t.offered, answered: t.answered, missed: t.missed, answer_rate: ratio(t.answered, t.offered), missed_rate: ratio(t.missed, t.offered),
    abandoned: t.abandoned, short_abandoned: t.short, abandon_rate: ratio(t.abandoned, t.offered - t.short),
    avg_speed_of_answer_sec: ratio(t.ansWaitSum, t.ansWaitN), answered_with_known_wait: t.ansWaitN, avg_wait_sec: ratio(t.offWaitSum, t.offWaitN),
    offered_with_known_wait: t.offWaitN, longest_wait_sec: t.longest, service_level: ratio(t.slWithin, t.slBase),
    avg_talk_sec: ratio(t.talkSum, t.talkN), total_talk_sec: t.talkSum, voicemails: t.voicemails, outbound_attempts: t.outAttempts,
    outbound_answered: t.outAnswered, outbound_answer_rate: ratio(t.outAnswered, t.outAttempts),
    repeat_callers: [...t.callers.values()].filter((n) => n > 1).length, peak_concurrent: peak(t.spans),
    cost: (t.costMicros / 1e6).toFixed(6), callback_rate: ratio(t.calledBack, t.queued), avg_time_to_callback_sec: ratio(t.callbackSum, t.calledBack),
  };
}

function assertFigures(actual: Record<string, unknown>, want: Record<string, number | string | null>, where: string): void {
  for (const [k, v] of Object.entries(want)) {
    const got = actual[k];
    if (typeof v === 'number' && !Number.isInteger(v)) {
      // rates are given to 4 places, averages to 2
      assert.ok(typeof got === 'number' && Math.abs(got - v) <= 0.005 + 1e-9, `${where} ${k}: got ${String(got)}, want ${v}`);
    } else {
      assert.equal(got, v, `${where} ${k}`);
    }
  }
}

const hourIn = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hour: 'numeric', hourCycle: 'h23' });
const dayIn = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
const weekdayIn = new Intl.DateTimeFormat('en-US', { timeZone: TZ, weekday: 'short' });
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

for (const dialect of DIALECTS) {
  describe(`statistics (${dialect})`, () => {
    // a third of the customers call or are called again: callbacks and repeat callers
    const generated = generateDeliveries({ calls: 400, rate: 400 / (30 * 3600), seed: 2026, chaos: ['dup', 'reorder'], start: START, returning: 0.35 });
    const cb = callbacks(generated.calls);
    const since = new Date(START - 3600_000).toISOString();
    const until = new Date(START + 3 * 86_400_000).toISOString();
    let srv: TestServer;
    let early: number;
    before(async () => {
      srv = await startTestServer(dialect, { CALLHOOK_TZ: TZ, CALLHOOK_SL_SEC: String(SL), CALLHOOK_SHORT_ABANDON_SEC: String(SHORT) });
      // statistics read once midway roll up the buckets so far; the rest of the events change them
      const cut = Math.floor(generated.deliveries.length * 0.6);
      await sendAll(srv, generated.deliveries.slice(0, cut));
      early = (await get(`/api/stats?since=${since}&until=${until}&group_by=team`)).totals['offered'] as number;
      await sendAll(srv, generated.deliveries.slice(cut));
    });
    after(() => srv.close());

    async function get(path: string) {
      const res = await srv.api(path);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { totals: Record<string, unknown>; groups: ({ key: unknown } & Record<string, unknown>)[]; definitions: Record<string, string>; tz: string };
    }

    const grouped = (key: (c: SimCall) => string | number | null) => {
      const groups = new Map<string | number | null, Tally>();
      for (const c of generated.calls) {
        const k = key(c);
        const t = groups.get(k) ?? tally();
        add(t, c, cb.get(c.index));
        groups.set(k, t);
      }
      return groups;
    };

    it('gives every figure in total as computed from the generated calls, each call once despite redeliveries', async () => {
      assert.ok(generated.deliveries.some((d) => d.redelivery), 'the run includes redeliveries');
      const body = await get(`/api/stats?since=${since}&until=${until}`);
      assert.equal(body.tz, TZ, 'CALLHOOK_TZ is the default zone');
      const all = tally();
      for (const c of generated.calls) add(all, c, cb.get(c.index));
      assert.ok(all.calledBack > 5 && all.queued > all.calledBack, 'some missed callers were called back, some not');
      assert.ok(expected(all)['repeat_callers'] as number > 5, 'some callers called more than once');
      assert.ok(all.short > 0 && all.abandoned > 0, 'short abandons and abandons both occur');
      assertFigures(body.totals, expected(all), 'total');
      assert.ok(early > 0 && early < all.offered, `statistics read midway (${early} offered) were rolled up before the rest of the calls came`);
      for (const k of Object.keys(expected(all))) assert.ok((body.definitions[k] ?? '').length > 10, `${k} is defined`);
    });

    it('groups by team, with the same totals as without groups', async () => {
      const body = await get(`/api/stats?since=${since}&until=${until}&group_by=team`);
      assert.deepEqual(body.totals, (await get(`/api/stats?since=${since}&until=${until}`)).totals);
      const want = grouped((c) => c.team);
      assert.deepEqual(body.groups.map((g) => g.key).sort(), [...want.keys()].map((k) => k).sort());
      for (const g of body.groups) assertFigures(g, expected(want.get(g.key as string | null) as Tally), `team ${String(g.key)}`);
    });

    it('groups by local hour, day and weekday across a daylight-saving change', async () => {
      const hours = await get(`/api/stats?since=${since}&until=${until}&group_by=hour`);
      const wantHours = grouped((c) => Number(hourIn.format(c.arrived_at)));
      const hourPeaks = timePeaks(generated.calls, (ms) => Number(hourIn.format(ms)), (ms) => `${dayIn.format(ms)} ${hourIn.format(ms)}`);
      assert.deepEqual(hours.groups.map((g) => g.key), [...wantHours.keys()].sort((a, b) => (a as number) - (b as number)));
      for (const g of hours.groups) assertFigures(g, { ...expected(wantHours.get(g.key as number) as Tally), peak_concurrent: hourPeaks.get(g.key as number) ?? 0 }, `hour ${String(g.key)}`);
      const days = await get(`/api/stats?since=${since}&until=${until}&group_by=day`);
      const wantDays = grouped((c) => dayIn.format(c.arrived_at));
      assert.ok(wantDays.has('2026-11-01'), 'the calls reach the day of the change');
      assert.deepEqual(days.groups.map((g) => g.key), [...wantDays.keys()].sort());
      const dayPeaks = timePeaks(generated.calls, (ms) => dayIn.format(ms), (ms) => dayIn.format(ms));
      for (const g of days.groups) assertFigures(g, { ...expected(wantDays.get(g.key as string) as Tally), peak_concurrent: dayPeaks.get(g.key as string) ?? 0 }, `day ${String(g.key)}`);
      const weekdays = await get(`/api/stats?since=${since}&until=${until}&group_by=weekday&tz=Asia/Kolkata`);
      const kolkata = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kolkata', weekday: 'short' });
      const kolkataDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kolkata', year: 'numeric', month: '2-digit', day: '2-digit' });
      const wantWeekdays = grouped((c) => WEEKDAYS.indexOf(kolkata.format(c.arrived_at)));
      const weekdayPeaks = timePeaks(generated.calls, (ms) => WEEKDAYS.indexOf(kolkata.format(ms)), (ms) => kolkataDay.format(ms));
      assert.deepEqual(weekdays.groups.map((g) => g.key), [...wantWeekdays.keys()].sort((a, b) => (a as number) - (b as number)));
      for (const g of weekdays.groups) assertFigures(g, { ...expected(wantWeekdays.get(g.key as number) as Tally), peak_concurrent: weekdayPeaks.get(g.key as number) ?? 0 }, `weekday ${String(g.key)} in Kolkata`);
    });

    it('reads a range that starts and ends inside 15-minute buckets, in total and per team and hour', async () => {
      // starting a minute after a call that goes on into the next bucket (it is not in the range,
      // but its end falls in a bucket the range reads whole), to 3 min 7 s past an hour, in the
      // Kathmandu zone (UTC+5:45)
      const across = generated.calls.find((c) => c.arrived_at > START + 3600_000 && Math.floor((c.arrived_at + 61_000) / 900_000) < Math.floor(c.ended_at / 900_000));
      assert.ok(across, 'a call crosses a bucket boundary');
      const from = Math.floor((across.arrived_at + 61_000) / 1000) * 1000;
      const to = START + 20 * 3600_000 + 3 * 60_000 + 7_000;
      const inRange = generated.calls.filter((c) => c.arrived_at >= from && c.arrived_at < to);
      assert.ok(inRange.length > 100 && inRange.length < generated.calls.length - 50, 'the range cuts through the calls');
      const q = `since=${new Date(from).toISOString()}&until=${new Date(to).toISOString()}&tz=Asia/Kathmandu`;
      const all = tally();
      for (const c of inRange) add(all, c, cb.get(c.index));
      assertFigures((await get(`/api/stats?${q}`)).totals, expected(all), 'total');
      const teams = await get(`/api/stats?${q}&group_by=team`);
      const byTeam = new Map<string | null, Tally>();
      for (const c of inRange) {
        const t = byTeam.get(c.team) ?? tally();
        add(t, c, cb.get(c.index));
        byTeam.set(c.team, t);
      }
      for (const g of teams.groups) assertFigures(g, expected(byTeam.get(g.key as string | null) as Tally), `team ${String(g.key)}`);
      const hourInKathmandu = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kathmandu', hour: 'numeric', hourCycle: 'h23' });
      const dayInKathmandu = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kathmandu', year: 'numeric', month: '2-digit', day: '2-digit' });
      const hours = await get(`/api/stats?${q}&group_by=hour`);
      const byHour = new Map<number, Tally>();
      for (const c of inRange) {
        const k = Number(hourInKathmandu.format(c.arrived_at));
        const t = byHour.get(k) ?? tally();
        add(t, c, cb.get(c.index));
        byHour.set(k, t);
      }
      const peaks = timePeaks(inRange, (ms) => Number(hourInKathmandu.format(ms)), (ms) => `${dayInKathmandu.format(ms)} ${hourInKathmandu.format(ms)}`);
      assert.deepEqual(hours.groups.map((g) => g.key), [...byHour.keys()].sort((a, b) => a - b));
      for (const g of hours.groups) assertFigures(g, { ...expected(byHour.get(g.key as number) as Tally), peak_concurrent: peaks.get(g.key as number) ?? 0 }, `hour ${String(g.key)} in Kathmandu`);
    });

    it('gives the weekday-by-hour heatmap in the time zone', async () => {
      const res = await srv.api(`/api/stats/heatmap?since=${since}&until=${until}`);
      const body = (await res.json()) as { cells: { weekday: number; hour: number; offered: number; missed: number }[] };
      assert.equal(body.cells.length, 7 * 24);
      const want = new Map<string, [number, number]>();
      for (const c of generated.calls.filter((x) => x.direction === 'inbound')) {
        const k = `${WEEKDAYS.indexOf(weekdayIn.format(c.arrived_at))}:${Number(hourIn.format(c.arrived_at))}`;
        const [o, m] = want.get(k) ?? [0, 0];
        want.set(k, [o + 1, m + (c.answered ? 0 : 1)]);
      }
      for (const cell of body.cells) assert.deepEqual([cell.offered, cell.missed], want.get(`${cell.weekday}:${cell.hour}`) ?? [0, 0], `cell ${cell.weekday}:${cell.hour}`);
    });

    it('gives spend, the latest balance and the days it lasts', async () => {
      const res = await srv.api(`/api/spend?since=${since}&until=${until}&group_by=day`);
      const body = (await res.json()) as { totals: { spend: string; billed_calls: number }; groups: { key: string; spend: string }[]; balance: string; avg_daily_spend: string; days_of_balance_left: number };
      const all = tally();
      for (const c of generated.calls) add(all, c, null);
      assert.equal(body.totals.spend, (all.costMicros / 1e6).toFixed(6));
      assert.equal(body.totals.billed_calls, generated.calls.filter((c) => c.platform === 'piopiy' && c.answered).length);
      // the balance the call that ended last reported
      const cdrs = generated.deliveries.filter((d) => d.payload['type'] === 'cdr' && typeof d.payload['balance'] === 'string');
      const last = cdrs.reduce((a, b) => (Number(b.payload['end_time']) > Number(a.payload['end_time']) ? b : a));
      assert.equal(body.balance, last.payload['balance']);
      const days = (Date.parse(until) - Date.parse(since)) / 86_400_000;
      assert.ok(Math.abs(Number(body.avg_daily_spend) - all.costMicros / 1e6 / days) < 1e-5);
      assert.ok(Math.abs(body.days_of_balance_left - Number(body.balance) / Number(body.avg_daily_spend)) < 0.1);
      const perDay = new Map<string, number>();
      for (const c of generated.calls) if (c.answered && c.call_rate) perDay.set(dayIn.format(c.arrived_at), (perDay.get(dayIn.format(c.arrived_at)) ?? 0) + Math.round(Number(c.call_rate) * 1e6) * Math.ceil(c.talk_sec / 60));
      for (const g of body.groups) assert.equal(g.spend, ((perDay.get(g.key) ?? 0) / 1e6).toFixed(6), `spend on ${g.key}`);
    });

    it('refuses an unknown time zone and an empty range with clear errors', async () => {
      let res = await srv.api('/api/stats?tz=Mars/Olympus');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_time_zone');
      res = await srv.api(`/api/stats?since=${until}&until=${since}`);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_range');
      res = await srv.api('/api/stats?group_by=planet');
      assert.equal(res.status, 400);
    });
  });
}
