-- Statistics read plain columns of the calls table (seconds since the epoch for time-zone
-- arithmetic, talk time, hangup reason, IVR, PIOPIY rate and balance in millionths).
ALTER TABLE calls ADD COLUMN started_s BIGINT;
ALTER TABLE calls ADD COLUMN ended_s BIGINT;
ALTER TABLE calls ADD COLUMN talk_sec INTEGER;
ALTER TABLE calls ADD COLUMN hangup_reason TEXT;
ALTER TABLE calls ADD COLUMN ivr_name TEXT;
ALTER TABLE calls ADD COLUMN rate_micros BIGINT;
ALTER TABLE calls ADD COLUMN balance_micros BIGINT;
UPDATE calls SET
  started_s = floor(extract(epoch FROM nullif(started_at, '')::timestamptz))::bigint,
  ended_s = floor(extract(epoch FROM (data::json->>'ended_at')::timestamptz))::bigint,
  talk_sec = (data::json->>'talk_sec')::int,
  hangup_reason = data::json->>'hangup_reason',
  ivr_name = data::json->>'ivr_name',
  rate_micros = round((data::json->>'call_rate')::numeric * 1000000)::bigint,
  balance_micros = round((data::json->>'balance')::numeric * 1000000)::bigint;
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
);
CREATE INDEX missed_urgent ON missed_items (state, attempts DESC, first_missed_at, id);
CREATE INDEX missed_number ON missed_items (number, first_missed_at);
CREATE TABLE missed_calls (
  call_id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL,
  number TEXT NOT NULL,
  callback_sec INTEGER
);
CREATE INDEX missed_calls_item ON missed_calls (item_id);
CREATE TABLE missed_resolutions (
  number TEXT NOT NULL,
  resolved_at TEXT NOT NULL,
  note TEXT,
  PRIMARY KEY (number, resolved_at)
);

-- Alerts: one row per firing; cleared_at is set when it clears. At most one firing row per rule
-- and subject, so that several instances never fire the same alert twice.
CREATE TABLE alerts (
  id BIGINT PRIMARY KEY DEFAULT nextval('callhook_ids'),
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  fired_at TEXT NOT NULL,
  cleared_at TEXT,
  value TEXT,
  threshold TEXT,
  message TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_firing ON alerts (rule, subject) WHERE cleared_at IS NULL;
