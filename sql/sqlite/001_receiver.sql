-- Requests and events are kept apart: every request with its outcome, and one event per dedup key.
-- Ids are time-ordered integers and the tables' rowids (src/store/sqlite/ids.ts): ranges of
-- received time are ranges of ids, so neither table needs an index on its time. Every index costs
-- each webhook a B-tree insert: keep them few.
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  dedup_key TEXT NOT NULL UNIQUE,
  received_at TEXT NOT NULL,
  platform TEXT NOT NULL,
  kind TEXT NOT NULL,
  redeliveries INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL,
  raw TEXT NOT NULL
) STRICT;
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE requests (
  id INTEGER PRIMARY KEY,
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
  event_id INTEGER,
  kind TEXT
) STRICT;
-- most requests are accepted: only the others are indexed by outcome
CREATE INDEX requests_outcome ON requests (outcome, id) WHERE outcome <> 'accepted';
