/**
 * Every notification kind TeleCMI and PIOPIY document, named `<type>.<direction>.<status>`.
 * See ../shared/vendor-docs/README.md §1 for the catalog this list is built from.
 */

export const PLATFORMS = ['telecmi', 'piopiy'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** CDR statuses, after normalization (`in_missed` -> `missed`). */
export const CDR_STATUSES = ['answered', 'missed'] as const;

/**
 * Live-event statuses, after normalization. TeleCMI sends waiting/started/answered/hangup (and
 * ringing in the 2019 draft); PIOPIY sends in_answered, out_started, out_answered, out_bridged,
 * ringing, hangup, stream_connected and STREAM_DISCONNECTED.
 */
export const EVENT_STATUSES = [
  'waiting',
  'ringing',
  'started',
  'answered',
  'bridged',
  'hangup',
  'stream_connected',
  'stream_disconnected',
] as const;

/**
 * Callbacks the platform sends to ask the receiver how to route a call. They expect a call-flow
 * answer, which callhook cannot give; they are recognised and stored so they are never lost.
 * `none` stands in the direction slot where the payload says no direction.
 */
export const CALLBACK_KINDS = ['callback.inbound.http_flow', 'callback.inbound.answer_url', 'callback.none.dtmf'] as const;

type CdrKind = `cdr.${Direction}.${(typeof CDR_STATUSES)[number]}`;
type LiveEventKind = `event.${Direction}.${(typeof EVENT_STATUSES)[number]}`;
export type CallbackKind = (typeof CALLBACK_KINDS)[number];
export type KnownKind = CdrKind | LiveEventKind | CallbackKind;
export type EventKind = KnownKind | 'unknown';

function product<T extends string, D extends string, S extends string>(
  type: T,
  statuses: readonly S[],
): `${T}.${D}.${S}`[] {
  const kinds: string[] = [];
  for (const direction of DIRECTIONS) for (const status of statuses) kinds.push(`${type}.${direction}.${status}`);
  return kinds as `${T}.${D}.${S}`[];
}

export const KNOWN_KINDS: readonly KnownKind[] = [
  ...product<'cdr', Direction, (typeof CDR_STATUSES)[number]>('cdr', CDR_STATUSES),
  ...product<'event', Direction, (typeof EVENT_STATUSES)[number]>('event', EVENT_STATUSES),
  ...CALLBACK_KINDS,
];

export const EVENT_KINDS: readonly EventKind[] = [...KNOWN_KINDS, 'unknown'];

const kindSet: ReadonlySet<string> = new Set(EVENT_KINDS);
export function isEventKind(value: string): value is EventKind {
  return kindSet.has(value);
}
