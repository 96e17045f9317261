-- Statistics rollups (src/stats/rollup.ts): per 15-minute bucket of epoch seconds (every time
-- zone's offset and transition is a multiple of 15 minutes, so a bucket lies in one local hour),
-- per dimension (all, team, agent, ivr, direction) and value.
-- stats_buckets: the additive figures and callbacks of the calls that started in the bucket.
-- stats_concurrency: the starts and ends that fall in the bucket (a call ends at ended_s, at most a
-- day after it started): delta = starts - ends, peak = the highest running sum within the bucket.
CREATE TABLE stats_buckets (
  bucket INTEGER NOT NULL,
  dim TEXT NOT NULL,
  value TEXT,
  offered INTEGER NOT NULL, answered INTEGER NOT NULL, missed INTEGER NOT NULL,
  abandoned INTEGER NOT NULL, short_abandoned INTEGER NOT NULL,
  answered_wait_n INTEGER NOT NULL, answered_wait_sum INTEGER NOT NULL,
  offered_wait_n INTEGER NOT NULL, offered_wait_sum INTEGER NOT NULL, longest_wait INTEGER,
  sl_within INTEGER NOT NULL, sl_base INTEGER NOT NULL, talk_n INTEGER NOT NULL, talk_sum INTEGER NOT NULL,
  voicemails INTEGER NOT NULL, outbound_attempts INTEGER NOT NULL, outbound_answered INTEGER NOT NULL,
  billed INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
  queued INTEGER NOT NULL, called_back INTEGER NOT NULL, callback_n INTEGER NOT NULL, callback_sum INTEGER NOT NULL
) STRICT;
CREATE INDEX stats_buckets_dim ON stats_buckets (dim, bucket);
CREATE TABLE stats_concurrency (
  bucket INTEGER NOT NULL,
  dim TEXT NOT NULL,
  value TEXT,
  delta INTEGER NOT NULL,
  peak INTEGER NOT NULL
) STRICT;
CREATE INDEX stats_concurrency_dim ON stats_concurrency (dim, bucket);

-- Buckets whose calls changed since they were rolled up; the triggers below mark them in the
-- transaction that changes the calls, so a rollup is never read stale. (They use ON CONFLICT DO
-- NOTHING, not OR IGNORE: a trigger takes the conflict policy of the statement that fired it.) stats_claim holds the
-- buckets one refresh recomputes.
CREATE TABLE stats_dirty (bucket INTEGER PRIMARY KEY) STRICT;
CREATE TABLE stats_claim (bucket INTEGER PRIMARY KEY) STRICT;
-- Repeat callers: per dimension and value, each offered call that follows another offered call
-- from the same number (prev_s), with the one before that (prev2_s). A number has two or more
-- offered calls in [S, U) exactly when one of its calls has prev_s >= S, prev2_s < S (or none)
-- and started_s < U: one such row per number. Recomputed per caller number, marked dirty below when an inbound call changes.
CREATE TABLE stats_repeats (
  dim TEXT NOT NULL,
  value TEXT,
  number TEXT NOT NULL,
  started_s INTEGER NOT NULL,
  prev_s INTEGER NOT NULL,
  prev2_s INTEGER
) STRICT;
CREATE INDEX stats_repeats_range ON stats_repeats (dim, prev_s, started_s, prev2_s, value, number);
CREATE INDEX stats_repeats_number ON stats_repeats (number);
CREATE TABLE stats_dirty_numbers (number TEXT PRIMARY KEY) STRICT;
CREATE TABLE stats_claim_numbers (number TEXT PRIMARY KEY) STRICT;
-- The settings the rollups were computed with (service level, short abandon, rate unit).
CREATE TABLE stats_params (id INTEGER PRIMARY KEY CHECK (id = 1), params TEXT NOT NULL) STRICT;

-- A call marks the buckets of its start and its end, before and after a change, and its number
-- when it is inbound.
CREATE TRIGGER calls_stats_insert AFTER INSERT ON calls BEGIN
  INSERT INTO stats_dirty (bucket) SELECT NEW.started_s / 900 WHERE NEW.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty (bucket) SELECT (CASE WHEN NEW.ended_s IS NULL OR NEW.ended_s > NEW.started_s + 86400 THEN NEW.started_s + 86400 WHEN NEW.ended_s < NEW.started_s THEN NEW.started_s ELSE NEW.ended_s END) / 900 WHERE NEW.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty_numbers (number) SELECT NEW.from_number WHERE NEW.from_number IS NOT NULL AND NEW.direction = 'inbound' ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER calls_stats_update AFTER UPDATE ON calls BEGIN
  INSERT INTO stats_dirty (bucket) SELECT NEW.started_s / 900 WHERE NEW.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty (bucket) SELECT (CASE WHEN NEW.ended_s IS NULL OR NEW.ended_s > NEW.started_s + 86400 THEN NEW.started_s + 86400 WHEN NEW.ended_s < NEW.started_s THEN NEW.started_s ELSE NEW.ended_s END) / 900 WHERE NEW.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty (bucket) SELECT OLD.started_s / 900 WHERE OLD.started_s IS NOT NEW.started_s AND OLD.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty (bucket) SELECT (CASE WHEN OLD.ended_s IS NULL OR OLD.ended_s > OLD.started_s + 86400 THEN OLD.started_s + 86400 WHEN OLD.ended_s < OLD.started_s THEN OLD.started_s ELSE OLD.ended_s END) / 900
    WHERE (OLD.started_s IS NOT NEW.started_s OR OLD.ended_s IS NOT NEW.ended_s) AND OLD.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty_numbers (number) SELECT NEW.from_number WHERE NEW.from_number IS NOT NULL AND NEW.direction = 'inbound' ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty_numbers (number) SELECT OLD.from_number
    WHERE OLD.from_number IS NOT NULL AND OLD.direction = 'inbound' AND (OLD.from_number IS NOT NEW.from_number OR NEW.direction IS NOT 'inbound') ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER calls_stats_delete AFTER DELETE ON calls BEGIN
  INSERT INTO stats_dirty (bucket) SELECT OLD.started_s / 900 WHERE OLD.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty (bucket) SELECT (CASE WHEN OLD.ended_s IS NULL OR OLD.ended_s > OLD.started_s + 86400 THEN OLD.started_s + 86400 WHEN OLD.ended_s < OLD.started_s THEN OLD.started_s ELSE OLD.ended_s END) / 900 WHERE OLD.started_s IS NOT NULL ON CONFLICT DO NOTHING;
  INSERT INTO stats_dirty_numbers (number) SELECT OLD.from_number WHERE OLD.from_number IS NOT NULL AND OLD.direction = 'inbound' ON CONFLICT DO NOTHING;
END;
-- The callback queue's membership counts in the bucket of the missed call. The queue is rewritten
-- by deleting and inserting its rows, and a call leaves it only when the call itself changes, so
-- marking inserts is enough.
CREATE TRIGGER missed_calls_stats AFTER INSERT ON missed_calls BEGIN
  INSERT INTO stats_dirty (bucket) SELECT c.started_s / 900 FROM calls c WHERE c.id = NEW.call_id AND c.started_s IS NOT NULL ON CONFLICT DO NOTHING;
END;

INSERT OR IGNORE INTO stats_dirty (bucket) SELECT started_s / 900 FROM calls WHERE started_s IS NOT NULL;
INSERT OR IGNORE INTO stats_dirty (bucket)
  SELECT (CASE WHEN ended_s IS NULL OR ended_s > started_s + 86400 THEN started_s + 86400 WHEN ended_s < started_s THEN started_s ELSE ended_s END) / 900 FROM calls WHERE started_s IS NOT NULL;

INSERT OR IGNORE INTO stats_dirty_numbers (number) SELECT from_number FROM calls WHERE from_number IS NOT NULL AND direction = 'inbound';
