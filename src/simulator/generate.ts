/**
 * Generates realistic call flows as the platform delivers them, in the exact shapes of the catalog
 * (../shared/vendor-docs/README.md §1). Pure and deterministic: the same options give the same
 * deliveries, byte for byte.
 */

export type Chaos = 'dup' | 'reorder' | 'drop-cdr';
export const CHAOS_KINDS: readonly Chaos[] = ['dup', 'reorder', 'drop-cdr'];

export interface GenerateOptions {
  /** How many calls; default 20. */
  calls?: number;
  /** Mean call arrivals per second of the timeline (Poisson); default 0.2. */
  rate?: number;
  /** Default 1. */
  seed?: number;
  chaos?: readonly Chaos[];
  /** Epoch ms of the first arrival; default 2026-01-05T09:00:00Z. */
  start?: number;
  /** Chance that a call's customer is one seen before (callbacks, repeat callers); default 0. */
  returning?: number;
}

export type Flow = 'telecmi.inbound' | 'telecmi.outbound' | 'piopiy.inbound' | 'piopiy.outbound';

/** What really happened in one call: the ground truth tests compare callhook's view with. */
export interface SimCall {
  index: number;
  flow: Flow;
  platform: 'telecmi' | 'piopiy';
  direction: 'inbound' | 'outbound';
  conversation_uuid: string;
  answered: boolean;
  from: string;
  to: string;
  agent: string | null;
  team: string | null;
  ivr_name: string | null;
  arrived_at: number;
  answered_at: number | null;
  ended_at: number;
  wait_sec: number | null;
  talk_sec: number;
  hangup_reason: string | null;
  voicemail: string | null;
  recording: string | null;
  agents_tried: number;
  call_rate: string | null;
  cdr_dropped: boolean;
}

export interface Delivery {
  /** Position in sending order. */
  seq: number;
  /** Epoch ms when the platform sends it. */
  at: number;
  call: number;
  method: 'POST' | 'GET';
  path: string;
  /** The notification; sent as a JSON body (POST) or a query string (GET). */
  payload: Record<string, unknown>;
  /** A resend of an earlier delivery (same dedup key). */
  redelivery: boolean;
}

export interface Generated {
  calls: SimCall[];
  deliveries: Delivery[];
}

const DEFAULT_START = Date.UTC(2026, 0, 5, 9, 0, 0);
const TELECMI_APP = 2222223;
const PIOPIY_APP = 2222222;
const TEAMS = [
  { name: 'Sales', ivr: 'salesivr', agents: ['201', '202', '203'] },
  { name: 'Support', ivr: 'supportivr', agents: ['204', '205', '206', '207'] },
  { name: 'Billing', ivr: 'billingivr', agents: ['208', '209'] },
];
const TELECMI_VN = '440000000000';
const TOKEN_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const PIOPIY_VN = '440000000100';

/** mulberry32: small, fast and good enough for simulated traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateDeliveries(options: GenerateOptions = {}): Generated {
  const rand = prng(options.seed ?? 1);
  const count = options.calls ?? 20;
  const rate = options.rate ?? 0.2;
  const chaos = new Set(options.chaos ?? []);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const uuid = () => {
    const part = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
    return `${part(8)}-${part(4)}-4${part(3)}-${pick(['8', '9', 'a', 'b'])}${part(3)}-${part(12)}`;
  };
  // PIOPIY request ids are 43-character tokens, not UUIDs (vendor-docs §5.8)
  const token = () => Array.from({ length: 43 }, () => pick(TOKEN_CHARS)).join('');
  const returning = options.returning ?? 0;
  const seen: string[] = [];
  const customer = () => {
    if (returning > 0 && seen.length > 0 && rand() < returning) return pick(seen);
    const number = `44${7000000000 + between(0, 999_999_999)}`;
    if (returning > 0) seen.push(number);
    return number;
  };

  const calls: SimCall[] = [];
  const out: Omit<Delivery, 'seq'>[] = [];
  let clock = options.start ?? DEFAULT_START;
  const account = { balanceMicros: 900_000_000 };

  for (let index = 0; index < count; index++) {
    clock += Math.round((-Math.log(1 - rand()) / rate) * 1000);
    const r = rand();
    const flow: Flow = r < 0.45 ? 'telecmi.inbound' : r < 0.65 ? 'telecmi.outbound' : r < 0.85 ? 'piopiy.inbound' : 'piopiy.outbound';
    const dropCdr = chaos.has('drop-cdr') && rand() < 0.15;
    const ctx: FlowContext = { index, start: clock, rand, between, pick, uuid, token, customer, emit: [], dropCdr, account };
    const call =
      flow === 'telecmi.inbound' ? telecmiInbound(ctx) : flow === 'telecmi.outbound' ? telecmiOutbound(ctx) : flow === 'piopiy.inbound' ? piopiyInbound(ctx) : piopiyOutbound(ctx);
    calls.push(call);
    for (const d of ctx.emit) {
      out.push(d);
      const isCdr = d.payload['type'] === 'cdr';
      if (chaos.has('dup') && isCdr) {
        // PIOPIY documents a resend immediately, then after 5, 10 and 15 minutes (vendor-docs §2)
        for (const delay of [1_000, 300_000, 600_000, 900_000]) if (rand() < 0.5) out.push({ ...d, at: d.at + delay, redelivery: true });
      } else if (chaos.has('dup') && rand() < 0.1) {
        out.push({ ...d, at: d.at + between(50, 2_000), redelivery: true });
      }
    }
  }
  if (chaos.has('reorder')) for (const d of out) d.at += between(0, 30_000);
  const deliveries = out
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.at - b.d.at || a.i - b.i)
    .map(({ d }, seq) => ({ seq, ...d }));
  return { calls, deliveries };
}

interface FlowContext {
  index: number;
  start: number;
  rand: () => number;
  between: (lo: number, hi: number) => number;
  pick: <T>(items: readonly T[]) => T;
  uuid: () => string;
  token: () => string;
  customer: () => string;
  emit: Omit<Delivery, 'seq'>[];
  dropCdr: boolean;
  /** The PIOPIY balance, in millionths, that each billed call lowers. */
  account: { balanceMicros: number };
}

function send(ctx: FlowContext, at: number, payload: Record<string, unknown>, method: 'POST' | 'GET' = 'POST'): void {
  if (ctx.dropCdr && payload['type'] === 'cdr') return;
  const path = payload['type'] === 'cdr' ? '/webhook/cdr' : '/webhook/events';
  ctx.emit.push({ at, call: ctx.index, method, path, payload, redelivery: false });
}

function telecmiInbound(ctx: FlowContext): SimCall {
  const { start, between, pick, rand } = ctx;
  const team = pick(TEAMS);
  const conv = ctx.uuid();
  const from = ctx.customer();
  const method = rand() < 0.2 ? 'GET' : 'POST';
  const teamId = `${team.name}_${TELECMI_APP}`;
  const live = { type: 'event', direction: 'inbound', conversation_uuid: conv, cmiuuid: conv, from, app_id: TELECMI_APP, to: TELECMI_VN, custom: '{"crm":"true"}' };
  send(ctx, start, { ...live, time: start, status: 'waiting' }, method);

  const answered = rand() < 0.72;
  const tries = answered ? between(1, 3) : between(0, 2);
  let t = start + between(3, 15) * 1000;
  let agent: string | null = null;
  for (let i = 0; i < tries; i++) {
    const ext = pick(team.agents);
    const user = `${ext}_${TELECMI_APP}`;
    const legB = { leg: 'b', type: 'event', team: teamId, user, conversation_uuid: conv, cmiuuid: ctx.uuid(), direction: 'outbound', from, app_id: TELECMI_APP, custom: '{"crm":"true"}' };
    send(ctx, t, { ...legB, time: t, status: 'started' }, method);
    const last = answered && i === tries - 1;
    if (last) {
      agent = user;
      t += between(2, 12) * 1000;
      send(ctx, t, { ...legB, time: t, status: 'answered' }, method);
      send(ctx, t, { ...live, time: t, status: 'answered' }, method);
      break;
    }
    t += between(10, 20) * 1000;
    send(ctx, t, { ...legB, time: t, status: 'hangup' }, method);
    send(ctx, t + 500, {
      custom: '{"crm":"true"}', appid: TELECMI_APP, type: 'cdr', direction: 'inbound', leg: 'b', cmiuuid: legB.cmiuuid, user, status: 'missed',
      to: Number(`4470${ext}00000`), from: Number(from), time: t, team: teamId, hangup_reason: 'recv_cancel',
    }, method);
  }

  const waitSec = Math.round((answered ? t - start : t - start + between(5, 60) * 1000) / 1000);
  const answeredAt = answered ? t : null;
  const talk = answered ? between(20, 600) : 0;
  const end = answered ? t + talk * 1000 : start + waitSec * 1000;
  const voicemail = !answered && rand() < 0.3 ? `${end}${between(100000, 999999)}_${TELECMI_APP}.mp3` : null;
  const hangup = answered ? pick(['sent_bye', 'recv_bye']) : voicemail ? 'recv_bye' : pick(['recv_bye', 'recv_bye', 'recv_cancel']);
  const recording = answered ? `${answeredAt}_${agent}.mp3` : null;
  send(ctx, end, { ...live, time: end, status: 'hangup' }, method);
  const cdrBase = { appid: TELECMI_APP, type: 'cdr', direction: 'inbound', cmiuuid: conv, conversation_uuid: conv, from: Number(from), time: end, team: teamId, ivr_name: team.ivr, hangup_reason: hangup, virtual_number: Number(TELECMI_VN), custom: '{"crm":"true"}' };
  if (answered) {
    send(ctx, end + 1000, { ...cdrBase, user: agent, status: 'answered', to: Number(TELECMI_VN), answeredsec: talk, record: true, filename: recording }, method);
  } else {
    send(ctx, end + 1000, { ...cdrBase, status: 'missed', waitedsec: waitSec, ...(voicemail ? { voicemail: true, voicename: voicemail } : {}) }, method);
  }
  return {
    index: ctx.index, flow: 'telecmi.inbound', platform: 'telecmi', direction: 'inbound', conversation_uuid: conv, answered, from, to: TELECMI_VN,
    agent, team: team.name, ivr_name: team.ivr, arrived_at: start, answered_at: answeredAt, ended_at: end, wait_sec: waitSec, talk_sec: talk,
    hangup_reason: hangup, voicemail, recording, agents_tried: tries, call_rate: null, cdr_dropped: ctx.dropCdr,
  };
}

function telecmiOutbound(ctx: FlowContext): SimCall {
  const { start, between, pick, rand } = ctx;
  const team = pick(TEAMS);
  const ext = pick(team.agents);
  const user = `${ext}_${TELECMI_APP}`;
  const conv = ctx.uuid();
  const legBId = ctx.uuid();
  const to = ctx.customer();
  const callId = ctx.uuid();
  const requestId = ctx.token();
  const base = { call_id: callId, type: 'event', user, direction: 'outbound', callerid: TELECMI_VN, app_id: TELECMI_APP, custom: '{"crm":"true"}', extra_params: '{"click2call":"true"}', request_id: requestId, to, conversation_uuid: conv };
  send(ctx, start, { ...base, leg: 'a', cmiuuid: conv, time: start, status: 'started' });
  const answered = rand() < 0.6;
  let t = start + between(5, 25) * 1000;
  const talk = answered ? between(15, 400) : 0;
  if (answered) {
    send(ctx, t, { ...base, leg: 'a', cmiuuid: conv, time: t, status: 'answered' });
    t += talk * 1000;
  }
  const end = t;
  send(ctx, end, { ...base, leg: 'a', cmiuuid: conv, time: end, status: 'hangup' });
  send(ctx, end, { ...base, leg: 'b', cmiuuid: legBId, time: end, status: 'hangup' });
  const recording = answered ? `${end}_${user}.wav` : null;
  const cdr = { virtual_number: TELECMI_VN, call_id: callId, custom: '{"crm":"true"}', type: 'cdr', appid: TELECMI_APP, to: Number(to), user, time: end, direction: 'outbound', request_id: requestId, extra_params: '{"click2call":"true"}' };
  const legAReason = answered ? pick(['sent_bye', 'recv_bye']) : 'recv_cancel';
  if (answered) {
    send(ctx, end + 1000, { ...cdr, leg: 'a', cmiuuid: conv, status: 'answered', answeredsec: talk, hangup_reason: legAReason });
    send(ctx, end + 1200, { ...cdr, leg: 'b', cmiuuid: legBId, status: 'answered', answeredsec: talk, hangup_reason: legAReason, record: true, filename: recording });
  } else {
    send(ctx, end + 1000, { ...cdr, leg: 'a', cmiuuid: conv, status: 'missed', hangup_reason: 'recv_cancel' });
    send(ctx, end + 1200, { ...cdr, leg: 'b', cmiuuid: legBId, status: 'missed', hangup_reason: 'sent_reject' });
  }
  return {
    index: ctx.index, flow: 'telecmi.outbound', platform: 'telecmi', direction: 'outbound', conversation_uuid: conv, answered, from: TELECMI_VN, to,
    agent: user, team: null, ivr_name: null, arrived_at: start, answered_at: answered ? end - talk * 1000 : null, ended_at: end, wait_sec: null,
    talk_sec: talk, hangup_reason: legAReason, voicemail: null, recording, agents_tried: 1, call_rate: null, cdr_dropped: ctx.dropCdr,
  };
}

/** Billing per started minute; a missed call sends call_rate 0 as a number (vendor-docs §1d P1). */
function billing(ctx: FlowContext, talk: number, rate: string): { call_rate: string | number; balance: string } {
  ctx.account.balanceMicros -= Math.ceil(talk / 60) * Math.round(Number(rate) * 1_000_000);
  return { call_rate: talk > 0 ? rate : 0, balance: (ctx.account.balanceMicros / 1_000_000).toFixed(6) };
}

function piopiyInbound(ctx: FlowContext): SimCall {
  const { start, between, rand } = ctx;
  const conv = ctx.uuid();
  const from = ctx.customer();
  const answered = rand() < 0.7;
  const s = Math.floor(start / 1000);
  const answerAt = s + between(3, 20);
  const talk = answered ? between(10, 500) : 0;
  const end = answered ? answerAt + talk : answerAt + between(5, 30);
  const extra = "{ 'Name': 'Akil', 'ID':8915726 }";
  if (answered) {
    send(ctx, answerAt * 1000, { appid: PIOPIY_APP, conversation_uuid: conv, direction: 'inbound', from: Number(from), leg: 'a', time: answerAt * 1000, to: Number(PIOPIY_VN), cmiuuid: conv, extra_params: '{key: value}', status: 'in_answered' });
  }
  send(ctx, end * 1000, { extra_params: '{key: value}', type: 'event', leg: 'a', conversation_uuid: conv, time: end * 1000, to: PIOPIY_VN, from, cmiuuid: conv, direction: 'inbound', appid: PIOPIY_APP, status: 'hangup' });
  const rate = '0.450000';
  const bill = billing(ctx, talk, rate);
  // duration is talk time: in the vendor's sample it equals end_time - answer_time
  send(ctx, end * 1000 + 1000, {
    to: Number(PIOPIY_VN), appid: PIOPIY_APP, time: s * 1000, start_time: s, end_time: end, from: Number(from), direction: 'inbound', duration: talk,
    extra_params: extra, cmiuuid: conv, ...bill, conversation_uuid: conv, answer_time: answerAt, leg: 'a', status: answered ? 'answered' : 'missed', type: 'cdr',
  });
  return {
    index: ctx.index, flow: 'piopiy.inbound', platform: 'piopiy', direction: 'inbound', conversation_uuid: conv, answered, from, to: PIOPIY_VN,
    agent: null, team: null, ivr_name: null, arrived_at: s * 1000, answered_at: answered ? answerAt * 1000 : null, ended_at: end * 1000,
    // a missed caller waited from start to end; an answered call's wait is not reported
    wait_sec: answered ? null : end - s,
    talk_sec: talk, hangup_reason: null, voicemail: null, recording: null, agents_tried: 0, call_rate: answered ? rate : '0', cdr_dropped: ctx.dropCdr,
  };
}

function piopiyOutbound(ctx: FlowContext): SimCall {
  const { start, between, rand } = ctx;
  const request = ctx.token();
  const legA = ctx.uuid();
  const legB = ctx.uuid();
  const to = ctx.customer();
  const s = Math.floor(start / 1000);
  const answered = rand() < 0.65;
  const answerAt = s + between(5, 25);
  const talk = answered ? between(10, 300) : 0;
  const end = answered ? answerAt + talk : answerAt;
  const live = { appid: PIOPIY_APP, callerid: Number(PIOPIY_VN), conversation_uuid: request, direction: 'outbound', extra_params: '{"order":"A-1001"}', from: Number(PIOPIY_VN), request_id: request, to: Number(to), vn: Number(PIOPIY_VN) };
  send(ctx, s * 1000, { ...live, leg: 'a', time: s * 1000, cmiuuid: legA, status: 'out_started' });
  send(ctx, s * 1000 + 500, { ...live, leg: 'b', time: s * 1000 + 500, cmiuuid: legB, status: 'out_started' });
  if (answered) {
    send(ctx, answerAt * 1000, { ...live, leg: 'a', time: answerAt * 1000, cmiuuid: legA, status: 'out_answered' });
    send(ctx, answerAt * 1000, { ...live, leg: 'b', time: answerAt * 1000, cmiuuid: legB, status: 'out_bridged' });
  }
  const rate = '0.600000';
  const bill = billing(ctx, talk, rate);
  const cdr = {
    to: Number(to), appid: PIOPIY_APP, time: s * 1000, start_time: s, end_time: end, from: Number(PIOPIY_VN), direction: 'outbound', duration: talk,
    extra_params: '{"order":"A-1001"}', ...bill, conversation_uuid: request, request_id: request, callerid: Number(PIOPIY_VN), out: true, api_init: true,
    answer_time: answered ? answerAt : s, status: answered ? 'answered' : 'missed', type: 'cdr',
  };
  send(ctx, end * 1000 + 1000, { ...cdr, leg: 'a', cmiuuid: legA });
  send(ctx, end * 1000 + 1100, { ...cdr, leg: 'b', cmiuuid: legB });
  return {
    index: ctx.index, flow: 'piopiy.outbound', platform: 'piopiy', direction: 'outbound', conversation_uuid: request, answered, from: PIOPIY_VN, to,
    agent: null, team: null, ivr_name: null, arrived_at: s * 1000, answered_at: answered ? answerAt * 1000 : null, ended_at: end * 1000, wait_sec: null,
    talk_sec: talk, hangup_reason: null, voicemail: null, recording: null, agents_tried: 0, call_rate: answered ? rate : '0', cdr_dropped: ctx.dropCdr,
  };
}
