-- Requests and events are kept apart: every request with its outcome, and one event per dedup key.
-- One sequence numbers both tables; several instances share it, so ids follow the order in which
-- they were taken, close to the order of arrival.
CREATE SEQUENCE callhook_ids;

CREATE TABLE events (
  id BIGINT PRIMARY KEY,
  dedup_key TEXT NOT NULL UNIQUE,
  received_at TIMESTAMPTZ NOT NULL,
  platform TEXT NOT NULL,
  kind TEXT NOT NULL,
  redeliveries INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL,
  raw TEXT NOT NULL
);
CREATE INDEX events_kind ON events (kind, id);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE requests (
  id BIGINT PRIMARY KEY,
  received_at TIMESTAMPTZ NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  content_type TEXT,
  body BYTEA,
  remote_addr TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  error_code TEXT,
  error_message TEXT,
  event_id BIGINT,
  kind TEXT
);
CREATE INDEX requests_received ON requests (received_at);
-- most requests are accepted: only the others are indexed by outcome
CREATE INDEX requests_outcome ON requests (outcome, id) WHERE outcome <> 'accepted';
