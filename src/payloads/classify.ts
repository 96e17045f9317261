import { text } from './coerce.js';
import { CDR_STATUSES, EVENT_STATUSES, isEventKind, type EventKind, type Platform } from './kinds.js';

export interface Classification {
  platform: Platform;
  kind: EventKind;
  type: string | null;
  direction: string | null;
  status: string | null;
  unknownReason: string | null;
}

/** `in_answered` -> `answered`, `out_bridged` -> `bridged`, `STREAM_DISCONNECTED` -> `stream_disconnected`. */
export function normalizeStatus(value: unknown): string | null {
  const raw = text(value);
  if (raw === null) return null;
  return raw
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
    .replace(/^(in|out)_/, '');
}

// Fields only one platform sends (vendor-docs §1, §5.1). TeleCMI live events say app_id,
// PIOPIY's say appid; TeleCMI CDRs say appid too, so appid counts only on live events.
const PIOPIY_FIELDS = ['call_rate', 'balance', 'start_time', 'end_time', 'answer_time', 'duration', 'vn', 'out', 'api_init', 'ws_status', 'cmuuid', 'action'];
const TELECMI_FIELDS = ['user', 'team', 'answeredsec', 'waitedsec', 'custom', 'virtual_number', 'record', 'filename', 'voicemail', 'voicename', 'ivr_name', 'call_id', 'app_id', 'hangup_reason', 'click_to_call'];
const PIOPIY_STATUS = /^(in_|out_|stream_)/i;
/** Fields that only a CDR carries, for payloads that leave out `type` (some PIOPIY versions). */
const CDR_FIELDS = ['answeredsec', 'waitedsec', 'duration', 'call_rate', 'balance', 'end_time', 'filename', 'voicename', 'hangup_reason'];

export function inferPlatform(payload: Record<string, unknown>): Platform {
  let piopiy = 0;
  let telecmi = 0;
  for (const f of PIOPIY_FIELDS) if (Object.hasOwn(payload, f)) piopiy++;
  for (const f of TELECMI_FIELDS) if (Object.hasOwn(payload, f)) telecmi++;
  const status = text(payload['status']);
  if (status !== null && PIOPIY_STATUS.test(status)) piopiy += 2;
  const type = text(payload['type']);
  if (Object.hasOwn(payload, 'appid') && type !== 'cdr' && !Object.hasOwn(payload, 'app_id')) piopiy++;
  return piopiy > telecmi ? 'piopiy' : 'telecmi';
}

export function classify(payload: Record<string, unknown>, platformOverride?: Platform): Classification {
  const status = normalizeStatus(payload['status']);
  const typeRaw = text(payload['type'])?.toLowerCase() ?? null;
  const direction = text(payload['direction'])?.toLowerCase() ?? null;
  const inferred = platformOverride ?? inferPlatform(payload);

  const unknown = (reason: string, type: string | null = typeRaw): Classification => ({
    platform: inferred,
    kind: 'unknown',
    type,
    direction,
    status,
    unknownReason: reason,
  });

  if (typeRaw === null && status === null) return classifyCallback(payload, platformOverride) ?? unknown('it has neither type nor status, and is not a documented callback');

  const type = typeRaw ?? (status === 'missed' || CDR_FIELDS.some((f) => Object.hasOwn(payload, f)) ? 'cdr' : 'event');
  if (type !== 'cdr' && type !== 'event') return unknown(`type "${typeRaw}" is neither cdr nor event`);
  if (status === null) return unknown(`${type} without a status`, type);
  if (direction !== 'inbound' && direction !== 'outbound') {
    return unknown(direction === null ? `${type} without a direction` : `direction "${direction}" is neither inbound nor outbound`, type);
  }
  const statuses: readonly string[] = type === 'cdr' ? CDR_STATUSES : EVENT_STATUSES;
  if (!statuses.includes(status)) return unknown(`status "${status}" is not a documented ${type} status`, type);
  const kind = `${type}.${direction}.${status}`;
  if (!isEventKind(kind)) return unknown(`${kind} is not a documented kind`, type);
  return { platform: inferred, kind, type, direction, status, unknownReason: null };
}

/** vendor-docs §1c and §1f: requests that ask for a call flow and carry no type or status. */
function classifyCallback(payload: Record<string, unknown>, platformOverride?: Platform): Classification | null {
  const has = (f: string) => Object.hasOwn(payload, f);
  const base = { type: 'callback', unknownReason: null };
  if (has('dtmf') && (has('cmuuid') || has('cmiuuid'))) {
    return { ...base, platform: platformOverride ?? 'piopiy', kind: 'callback.none.dtmf', direction: null, status: 'dtmf' };
  }
  if (!(has('from') && has('to') && (has('cmiuuid') || has('cmiuid')))) return null;
  const action = text(payload['action'])?.toLowerCase() ?? null;
  if (action === 'inbound' || (!has('appid') && !has('app_id') && has('time'))) {
    return { ...base, platform: platformOverride ?? 'piopiy', kind: 'callback.inbound.answer_url', direction: 'inbound', status: 'answer_url' };
  }
  if (has('appid') || has('app_id')) {
    return { ...base, platform: platformOverride ?? 'telecmi', kind: 'callback.inbound.http_flow', direction: 'inbound', status: 'http_flow' };
  }
  return null;
}
