import { errorBody, type ErrorBody } from '../errors.js';
import { classify } from './classify.js';
import { bool, integer, isoFromEpoch, money, phone, text } from './coerce.js';
import { decodePayload, type WebhookInput } from './decode.js';
import type { Event } from './event-schema.js';
import { decodeLooseObject } from './loose-object.js';

export type ParseResult = { ok: true; event: Event } | { ok: false; error: ErrorBody };

/**
 * Decodes, classifies and normalizes one notification. Total: it returns an error result for bad
 * input and never throws.
 *
 * @example
 * const result = parseWebhook({ rawBody: '{"type":"cdr","direction":"inbound","status":"missed",…}', contentType: 'application/json' });
 * if (result.ok) console.log(result.event.kind); // 'cdr.inbound.missed'
 */
export function parseWebhook(input: WebhookInput): ParseResult {
  try {
    const decoded = decodePayload(input);
    if (!decoded.ok) return decoded;
    return { ok: true, event: normalizePayload(decoded.payload, input.platform) };
  } catch (err) {
    return { ok: false, error: errorBody('unparseable', err instanceof Error ? err.message : String(err)) };
  }
}

/** Normalizes an already decoded payload object into an Event. */
export function normalizePayload(payload: Record<string, unknown>, platform?: WebhookInput['platform']): Event {
  const c = classify(payload, platform);
  const appId = text(payload['appid'] ?? payload['app_id']);
  const agent = text(payload['user']);
  const teamId = text(payload['team']);
  const missed = c.status === 'missed';
  const recording = text(payload['filename']);
  const voicemail = text(payload['voicename']);
  const recordFlag = bool(payload['record']);
  const voicemailFlag = bool(payload['voicemail']);
  return {
    platform: c.platform,
    kind: c.kind,
    type: c.type,
    direction: c.direction,
    status: c.status,
    leg: text(payload['leg'])?.toLowerCase() ?? null,
    app_id: appId,
    call_uuid: text(payload['cmiuuid'] ?? payload['cmiuid'] ?? payload['cmuuid']),
    conversation_uuid: text(payload['conversation_uuid']),
    call_id: text(payload['call_id']),
    request_id: text(payload['request_id']),
    from: phone(payload['from']),
    to: phone(payload['to']),
    caller_id: phone(payload['callerid'] ?? payload['caller_id']),
    virtual_number: phone(payload['virtual_number'] ?? payload['vn']),
    agent,
    agent_ext: agent !== null && agent.includes('_') ? (agent.split('_')[0] ?? null) : null,
    team: teamId === null ? null : teamDisplayName(teamId, appId),
    team_id: teamId,
    occurred_at: isoFromEpoch(payload['time']),
    started_at: isoFromEpoch(payload['start_time']),
    // PIOPIY sends answer_time on missed CDRs too (vendor-docs §1d P1); a missed call was not answered.
    answered_at: missed ? null : isoFromEpoch(payload['answer_time']),
    ended_at: isoFromEpoch(payload['end_time']),
    answered_sec: integer(payload['answeredsec']),
    waited_sec: integer(payload['waitedsec']),
    duration_sec: integer(payload['duration']),
    hangup_reason: text(payload['hangup_reason'])?.toLowerCase() ?? null,
    ivr_name: text(payload['ivr_name']),
    recording: recordFlag === false ? null : recording,
    voicemail: voicemailFlag === false ? null : voicemail,
    has_recording: recordFlag ?? (recording !== null ? true : null),
    has_voicemail: voicemailFlag ?? (voicemail !== null ? true : null),
    click_to_call: bool(payload['click_to_call']) ?? bool(payload['api_init']),
    custom: decodeLooseObject(payload['custom']),
    extra_params: decodeLooseObject(payload['extra_params']),
    call_rate: money(payload['call_rate'] ?? payload['rate']),
    balance: money(payload['balance']),
    unknown_reason: c.unknownReason,
    raw: payload,
  };
}

/**
 * Teams arrive as `<Name>_<app id>` (vendor-docs §5.10). The suffix is removed when it is the app
 * id, or, with no app id to compare, when it is a run of six or more digits (app ids have seven);
 * a team called `Level_2` keeps its name.
 */
function teamDisplayName(team: string, appId: string | null): string {
  if (appId !== null && team.endsWith(`_${appId}`) && team.length > appId.length + 1) {
    return team.slice(0, -(appId.length + 1));
  }
  const m = /^(.+)_\d{6,}$/.exec(team);
  return m?.[1] ?? team;
}
