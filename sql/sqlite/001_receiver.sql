-- Requests and events are kept apart: every request with its outcome, and one event per dedup key.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  dedup_key TEXT NOT NULL UNIQUE,
  received_at TEXT NOT NULL,
  platform TEXT NOT NULL,
  kind TEXT NOT NULL,
  call_uuid TEXT,
  conversation_uuid TEXT,
  occurred_at TEXT,
  redeliveries INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL,
  raw TEXT NOT NULL
) STRICT;
CREATE INDEX events_kind ON events (kind, id);
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_conversation ON events (conversation_uuid);

CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  received_at TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  content_type TEXT,
  body BLOB,
  remote_addr TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  error_code TEXT,
  error_message TEXT,
  event_id TEXT,
  kind TEXT
) STRICT;
CREATE INDEX requests_outcome ON requests (outcome, id);
CREATE INDEX requests_received ON requests (received_at);
