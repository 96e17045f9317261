-- Statistics read plain columns of the calls table (seconds since the epoch for time-zone
-- arithmetic, talk time, hangup reason, IVR, PIOPIY rate and balance in millionths).
ALTER TABLE calls ADD COLUMN started_s INTEGER;
ALTER TABLE calls ADD COLUMN ended_s INTEGER;
ALTER TABLE calls ADD COLUMN talk_sec INTEGER;
ALTER TABLE calls ADD COLUMN hangup_reason TEXT;
ALTER TABLE calls ADD COLUMN ivr_name TEXT;
ALTER TABLE calls ADD COLUMN rate_micros INTEGER;
ALTER TABLE calls ADD COLUMN balance_micros INTEGER;
UPDATE calls SET
  started_s = unixepoch(nullif(started_at, '')),
  ended_s = unixepoch(json_extract(data, '$.ended_at')),
  talk_sec = json_extract(data, '$.talk_sec'),
  hangup_reason = json_extract(data, '$.hangup_reason'),
  ivr_name = json_extract(data, '$.ivr_name'),
  rate_micros = CAST(round(json_extract(data, '$.call_rate') * 1000000) AS INTEGER),
  balance_micros = CAST(round(json_extract(data, '$.balance') * 1000000) AS INTEGER);
CREATE INDEX calls_balance ON calls (ended_s) WHERE balance_micros IS NOT NULL;

-- The missed-call callback queue, derived per caller number from its calls and its manual
-- resolutions (src/calls/missed.ts). An item's id is the id of its first missed call.
CREATE TABLE missed_items (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL,
  first_missed_at TEXT NOT NULL,
  last_missed_at TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  voicemail TEXT,
  team TEXT,
  ivr_name TEXT,
  state TEXT NOT NULL,
  resolved_at TEXT,
  resolved_by TEXT,
  note TEXT,
  time_to_callback_sec INTEGER,
  call_ids TEXT NOT NULL
) STRICT;
CREATE INDEX missed_urgent ON missed_items (state, attempts DESC, first_missed_at, id);
CREATE INDEX missed_number ON missed_items (number, first_missed_at);
CREATE TABLE missed_calls (
  call_id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL,
  number TEXT NOT NULL,
  callback_sec INTEGER
) STRICT;
CREATE INDEX missed_calls_item ON missed_calls (item_id);
CREATE TABLE missed_resolutions (
  number TEXT NOT NULL,
  resolved_at TEXT NOT NULL,
  note TEXT,
  PRIMARY KEY (number, resolved_at)
) STRICT;

-- Alerts: one row per firing; cleared_at is set when it clears. At most one firing row per rule
-- and subject, so that several instances never fire the same alert twice.
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  fired_at TEXT NOT NULL,
  cleared_at TEXT,
  value TEXT,
  threshold TEXT,
  message TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX alerts_firing ON alerts (rule, subject) WHERE cleared_at IS NULL;
