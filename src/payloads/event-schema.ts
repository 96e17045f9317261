import Type, { type Static } from 'typebox';
import { EVENT_KINDS, PLATFORMS } from './kinds.js';

const Str = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
const Int = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const Bool = (description: string) => Type.Union([Type.Boolean(), Type.Null()], { description });
const Loose = (description: string) =>
  Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String(), Type.Null()], { description });

/**
 * One normalized notification. Every field is documented here, and this schema is the source of
 * the `Event` type, of API validation and of the OpenAPI document.
 */
export const EventSchema = Type.Object(
  {
    platform: Type.Enum([...PLATFORMS], { description: 'telecmi or piopiy: inferred from the fields, or set by the caller (the webhook path).' }),
    kind: Type.Enum([...EVENT_KINDS], { description: '<type>.<direction>.<status>, or unknown when the object matches no documented kind.' }),
    type: Str('cdr (sent when a call ends), event (sent while it runs) or callback (asks for a call flow); null when neither the payload nor its fields say.'),
    direction: Str('inbound or outbound, as the payload says it (leg-b events of an inbound call say outbound).'),
    status: Str('The status, lower-case, without the in_/out_ prefix: in_answered -> answered, out_bridged -> bridged.'),
    leg: Str('a or b; null when the payload has no leg.'),
    app_id: Str('The account id, from appid or app_id, as a string.'),
    call_uuid: Str('This leg\'s id: cmiuuid, or cmiuid / cmuuid in older or other payloads.'),
    conversation_uuid: Str('The id shared by every leg of one call (for PIOPIY outbound calls, the request_id).'),
    call_id: Str('TeleCMI outbound call id.'),
    request_id: Str('Click-to-call request id.'),
    from: Str('Calling number: a string of digits as sent.'),
    to: Str('Called number: a string of digits as sent.'),
    caller_id: Str('The caller id shown (callerid).'),
    virtual_number: Str('The business number (virtual_number, or vn on PIOPIY).'),
    agent: Str('The user id as sent, e.g. 103_1111113.'),
    agent_ext: Str('The extension part of the user id, e.g. 103.'),
    team: Str('The team display name, e.g. Support (team without its _<app id> suffix).'),
    team_id: Str('The team as sent, e.g. Support_1111113.'),
    occurred_at: Str('When it happened, ISO 8601 UTC, from time (ms; seconds are recognised and scaled).'),
    started_at: Str('PIOPIY start_time (seconds) as ISO 8601 UTC.'),
    answered_at: Str('PIOPIY answer_time (seconds) as ISO 8601 UTC; null on a missed call, where the platform still sends one.'),
    ended_at: Str('PIOPIY end_time (seconds) as ISO 8601 UTC.'),
    answered_sec: Int('Talk time in seconds (answeredsec).'),
    waited_sec: Int('Caller wait in seconds (waitedsec).'),
    duration_sec: Int('Call duration in seconds (PIOPIY duration).'),
    hangup_reason: Str('sent_bye, recv_bye, recv_cancel, sent_reject, or what the platform sent.'),
    ivr_name: Str('The last IVR stage the caller reached.'),
    recording: Str('The recording file name (filename), or null.'),
    voicemail: Str('The voicemail file name (voicename), or null.'),
    has_recording: Bool('record as a boolean ("true" and true alike), or true when a file name is present.'),
    has_voicemail: Bool('voicemail as a boolean, or true when a voicemail file name is present.'),
    click_to_call: Bool('click_to_call or api_init as a boolean: the call was started through the API.'),
    custom: Loose('custom as an object when it is JSON, Python-dict or bare-key style; the raw string otherwise.'),
    extra_params: Loose('extra_params, decoded like custom.'),
    call_rate: Str('PIOPIY billed rate as an exact decimal string, e.g. 0.450000.'),
    balance: Str('PIOPIY balance after the call as an exact decimal string.'),
    unknown_reason: Str('Why the object matched no documented kind; null for known kinds.'),
    raw: Type.Record(Type.String(), Type.Unknown(), { description: 'The payload as decoded, unchanged.' }),
  },
  { additionalProperties: false },
);

export type Event = Static<typeof EventSchema>;
