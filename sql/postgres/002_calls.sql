-- Calls are derived from events (src/calls/derive.ts): events get the key of their call and their
-- position in the live stream (stream_seq, given in the order events are projected, one projection
-- at a time across instances); calls hold the derived record, with columns for the API's filters.
ALTER TABLE events ADD COLUMN call_uuid TEXT;
ALTER TABLE events ADD COLUMN conversation_uuid TEXT;
ALTER TABLE events ADD COLUMN call_key TEXT;
ALTER TABLE events ADD COLUMN stream_seq BIGINT;
UPDATE events SET call_uuid = data::json->>'call_uuid', conversation_uuid = data::json->>'conversation_uuid';
CREATE INDEX events_call_uuid ON events (call_uuid);
CREATE INDEX events_conversation ON events (conversation_uuid);
CREATE INDEX events_call_key ON events (call_key);
CREATE UNIQUE INDEX events_stream ON events (stream_seq);

CREATE TABLE calls (
  id TEXT PRIMARY KEY,
  platform TEXT NOT NULL,
  direction TEXT,
  status TEXT NOT NULL,
  from_number TEXT,
  to_number TEXT,
  agent TEXT,
  team TEXT,
  started_at TEXT NOT NULL,
  wait_sec INTEGER,
  has_recording BOOLEAN NOT NULL,
  has_voicemail BOOLEAN NOT NULL,
  last_event_at TEXT,
  stale BOOLEAN NOT NULL DEFAULT false,
  data TEXT NOT NULL
);
CREATE INDEX calls_started ON calls (started_at, id);
CREATE INDEX calls_live ON calls (status, started_at) WHERE status IN ('waiting', 'ringing', 'in_progress');
CREATE INDEX calls_from ON calls (from_number text_pattern_ops, started_at);
CREATE INDEX calls_to ON calls (to_number text_pattern_ops, started_at);
CREATE INDEX calls_agent ON calls (agent, started_at);
CREATE INDEX calls_team ON calls (team, started_at);
