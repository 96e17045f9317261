import type { StoredEvent } from '../store/port.js';
import type { Call, CallStatus, Leg } from './call-schema.js';

/** The fields of a stored event that stitching reads. */
export type CallEvent = Omit<StoredEvent, 'received_at' | 'redeliveries'>;

/** The events that take part in calls: CDRs and live events with a leg id. */
export function isCallEvent(e: Pick<CallEvent, 'type' | 'kind' | 'call_uuid'>): boolean {
  return e.kind !== 'unknown' && (e.type === 'cdr' || e.type === 'event') && e.call_uuid !== null;
}

/** `<platform>:<conversation>`: the key that groups the legs of one call. */
export function callKey(platform: string, conversation: string): string {
  return `${platform}:${conversation}`;
}

/**
 * The call key of every call event among `events`: its conversation_uuid, else the conversation of
 * another event of the same leg (TeleCMI's per-agent missed CDR carries only the leg id), else its
 * own leg id. It depends on the set of events only, never on the order they arrived in.
 */
export function resolveKeys(events: readonly CallEvent[]): Map<string, string> {
  const conversationOfLeg = new Map<string, string>();
  for (const e of events) {
    if (!isCallEvent(e) || e.conversation_uuid === null) continue;
    const leg = `${e.platform}:${e.call_uuid}`;
    // several events of a leg name the same conversation; the smallest keeps it deterministic
    const known = conversationOfLeg.get(leg);
    if (known === undefined || e.conversation_uuid < known) conversationOfLeg.set(leg, e.conversation_uuid);
  }
  const keys = new Map<string, string>();
  for (const e of events) {
    if (!isCallEvent(e)) continue;
    const conversation = e.conversation_uuid ?? conversationOfLeg.get(`${e.platform}:${e.call_uuid}`) ?? (e.call_uuid as string);
    keys.set(e.id, callKey(e.platform, conversation));
  }
  return keys;
}

const STATUS_RANK: Record<string, number> = { waiting: 0, ringing: 1, started: 2, answered: 3, bridged: 4, stream_connected: 5, stream_disconnected: 6, hangup: 7, missed: 8 };

/** By the event's own time, then by what it says, never by when it arrived. */
function compareEvents(a: CallEvent, b: CallEvent): number {
  const ta = a.occurred_at ?? '\uffff';
  const tb = b.occurred_at ?? '\uffff';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ra = (a.type === 'cdr' ? 10 : 0) + (STATUS_RANK[a.status ?? ''] ?? 9);
  const rb = (b.type === 'cdr' ? 10 : 0) + (STATUS_RANK[b.status ?? ''] ?? 9);
  if (ra !== rb) return ra - rb;
  const ka = `${a.leg ?? ''}:${a.call_uuid ?? ''}`;
  const kb = `${b.leg ?? ''}:${b.call_uuid ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const seconds = (from: string | null, to: string | null): number | null =>
  from !== null && to !== null ? Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000)) : null;

const first = <T>(...values: (T | null | undefined)[]): T | null => {
  for (const v of values) if (v !== null && v !== undefined) return v;
  return null;
};

/**
 * One call from all the events of its legs. Pure: the same events give the same call in any
 * order, so late, repeated and reordered deliveries never move a call backwards: a call with its
 * CDR is answered or missed whatever live event comes after.
 */
export function deriveCall(id: string, unsorted: readonly CallEvent[]): Call {
  const events = [...unsorted].sort(compareEvents);
  const conversation = id.slice(id.indexOf(':') + 1);
  const isLegA = (e: CallEvent) => e.leg === 'a' || (e.leg === null && (e.call_uuid === conversation || e.conversation_uuid === null || e.call_uuid === e.conversation_uuid));
  const legA = events.filter(isLegA);
  const cdrs = events.filter((e) => e.type === 'cdr');
  const live = events.filter((e) => e.type === 'event');
  // The call's own CDR is leg a's; TeleCMI's per-agent missed CDRs are leg b's. One of those alone
  // (its leg's live events never came) still says how that call ended: it is not a live call.
  const cdr = cdrs.find(isLegA) ?? (live.length === 0 ? (cdrs[0] ?? null) : null);
  const lastOf = (list: CallEvent[], statuses: string[]) => [...list].reverse().find((e) => statuses.includes(e.status ?? '')) ?? null;
  const firstOf = (list: CallEvent[], statuses: string[]) => list.find((e) => statuses.includes(e.status ?? '')) ?? null;

  const waiting = firstOf(live, ['waiting']);
  const answeredEvent = firstOf(live, ['answered', 'bridged']);
  const legAHangup = lastOf(live.filter(isLegA), ['hangup']);
  const head = events[0] as CallEvent;

  let status: CallStatus;
  if (cdr) status = cdr.status === 'answered' ? 'answered' : 'missed';
  else if (legAHangup) status = 'ended';
  else if (answeredEvent) status = 'in_progress';
  else if (firstOf(live, ['started', 'ringing'])) status = 'ringing';
  else status = 'waiting';

  const direction = first(legA.find((e) => e.direction !== null)?.direction, head.direction);
  const answeredAt = status === 'missed' ? null : first(cdr?.answered_at, answeredEvent?.occurred_at);
  const endedAt = first(cdr?.ended_at, legAHangup?.occurred_at, cdr?.occurred_at);
  const startedAt = first(
    cdr?.started_at,
    live.length > 0 ? live[0]?.occurred_at : null,
    cdr && cdr.occurred_at !== null && cdr.waited_sec !== null ? new Date(Date.parse(cdr.occurred_at) - cdr.waited_sec * 1000).toISOString() : null,
    head.occurred_at,
  );
  const talk = status === 'missed' ? 0 : first(cdr?.answered_sec, cdr?.platform === 'piopiy' ? cdr.duration_sec : null, status === 'answered' ? seconds(answeredAt, endedAt) : null);
  let wait: number | null = null;
  if (status === 'missed') wait = first(cdr?.waited_sec, seconds(startedAt, endedAt));
  else if (waiting && answeredEvent) wait = seconds(waiting.occurred_at, answeredEvent.occurred_at);
  const inbound = direction === 'inbound';
  const answeringAgent = lastOf(live.filter((e) => !isLegA(e)), ['answered', 'bridged'])?.agent;

  const legs = new Map<string, CallEvent[]>();
  for (const e of events) legs.set(e.call_uuid as string, [...(legs.get(e.call_uuid as string) ?? []), e]);

  return {
    id,
    platform: head.platform,
    direction,
    status,
    provisional: cdr === null,
    from: inbound ? first(cdr?.from, ...legA.map((e) => e.from), head.from) : first(...legA.map((e) => e.caller_id), cdr?.virtual_number, cdr?.from, head.from),
    to: inbound ? first(cdr?.virtual_number, ...legA.map((e) => e.virtual_number ?? e.to), head.to) : first(cdr?.to, ...legA.map((e) => e.to), head.to),
    agent: inbound ? first(cdr?.agent, answeringAgent) : first(cdr?.agent, ...legA.map((e) => e.agent), ...events.map((e) => e.agent)),
    team: first(cdr?.team, ...events.map((e) => e.team)),
    ivr_name: first(cdr?.ivr_name, ...events.map((e) => e.ivr_name)),
    started_at: startedAt,
    answered_at: answeredAt,
    ended_at: endedAt,
    wait_sec: wait,
    talk_sec: talk,
    hangup_reason: first(cdr?.hangup_reason, ...cdrs.map((e) => e.hangup_reason)),
    recording: first(...cdrs.map((e) => e.recording)),
    voicemail: first(cdr?.voicemail, ...cdrs.map((e) => e.voicemail)),
    call_rate: cdr?.call_rate ?? null,
    balance: cdr?.balance ?? null,
    legs: [...legs.entries()].map(([uuid, list]) => deriveLeg(uuid, list, isLegA(list[0] as CallEvent))),
    event_count: events.length,
    last_event_at: first(...[...events].reverse().map((e) => e.occurred_at)),
    stale: false,
  };
}

function deriveLeg(uuid: string, events: CallEvent[], isA: boolean): Leg {
  const last = events[events.length - 1] as CallEvent;
  return {
    leg: first(events.find((e) => e.leg !== null)?.leg, isA ? 'a' : 'b'),
    call_uuid: uuid,
    direction: first(...events.map((e) => e.direction)),
    status: last.status ?? 'unknown',
    agent: first(...events.map((e) => e.agent)),
    started_at: events[0]?.occurred_at ?? null,
    ended_at: events.find((e) => e.status === 'hangup')?.occurred_at ?? (last.type === 'cdr' ? first(last.ended_at, last.occurred_at) : null),
  };
}
