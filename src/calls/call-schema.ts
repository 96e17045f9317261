import Type, { type Static } from 'typebox';
import { PLATFORMS } from '../payloads/kinds.js';

const Str = (description: string) => Type.Union([Type.String(), Type.Null()], { description });
const Int = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

export const CALL_STATUSES = ['waiting', 'ringing', 'in_progress', 'answered', 'missed', 'ended'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const LegSchema = Type.Object({
  leg: Str('a or b (a leg without one is a when its id is the conversation\'s, else b).'),
  call_uuid: Type.String({ description: "This leg's own id (cmiuuid)." }),
  direction: Str('As this leg\'s events say it.'),
  status: Type.String({ description: 'The status of its latest event, by event time.' }),
  agent: Str('The user on this leg.'),
  started_at: Str('Its first event.'),
  ended_at: Str('Its hangup, if any.'),
});

/** One call, stitched from the events of all its legs. Derived: `callhook rebuild` makes it again. */
export const CallSchema = Type.Object(
  {
    id: Type.String({ description: '<platform>:<conversation_uuid>, or the leg id when the call has no conversation id.' }),
    platform: Type.Enum([...PLATFORMS]),
    direction: Str("The call's direction: leg a's (the leg-b events of an inbound call say outbound)."),
    status: Type.Enum([...CALL_STATUSES], {
      description: 'waiting, ringing (an agent is being called), in_progress, ended (hung up, no CDR yet), then answered or missed from the CDR.',
    }),
    provisional: Type.Boolean({ description: 'True until the CDR arrives.' }),
    from: Str('Calling number.'),
    to: Str('Called number.'),
    agent: Str('The agent who answered (inbound) or placed the call (outbound).'),
    team: Str('Team display name.'),
    ivr_name: Str('The last IVR stage the caller reached.'),
    started_at: Str('When the call started: its first event, ISO 8601 UTC.'),
    answered_at: Str('When it was answered.'),
    ended_at: Str('When it ended.'),
    wait_sec: Int('Missed: waitedsec from the CDR. Answered: from the waiting event to the answered event when both exist; else null.'),
    talk_sec: Int('Seconds talked (answeredsec, or PIOPIY duration).'),
    hangup_reason: Str('From the CDR.'),
    recording: Str('Recording file name.'),
    voicemail: Str('Voicemail file name.'),
    call_rate: Str('PIOPIY billed rate, exact decimal.'),
    balance: Str('PIOPIY balance after the call, exact decimal.'),
    legs: Type.Array(LegSchema),
    event_count: Type.Integer({ description: 'Events stitched into this call (redeliveries not counted).' }),
    last_event_at: Str('Time of its latest event.'),
    stale: Type.Boolean({ description: 'Closed because nothing was heard of it for CALLHOOK_STALE_AFTER_MIN while live.' }),
  },
  { additionalProperties: false },
);

export type Call = Static<typeof CallSchema>;
export type Leg = Static<typeof LegSchema>;

export const LIVE_STATUSES: readonly CallStatus[] = ['waiting', 'ringing', 'in_progress'];
