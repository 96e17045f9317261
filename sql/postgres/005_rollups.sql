-- Statistics rollups (src/stats/rollup.ts): per 15-minute bucket of epoch seconds (every time
-- zone's offset and transition is a multiple of 15 minutes, so a bucket lies in one local hour),
-- per dimension (all, team, agent, ivr, direction) and value.
-- stats_buckets: the additive figures and callbacks of the calls that started in the bucket.
-- stats_concurrency: the starts and ends that fall in the bucket (a call ends at ended_s, at most a
-- day after it started): delta = starts - ends, peak = the highest running sum within the bucket.
CREATE TABLE stats_buckets (
  bucket BIGINT NOT NULL,
  dim TEXT NOT NULL,
  value TEXT,
  offered BIGINT NOT NULL, answered BIGINT NOT NULL, missed BIGINT NOT NULL,
  abandoned BIGINT NOT NULL, short_abandoned BIGINT NOT NULL,
  answered_wait_n BIGINT NOT NULL, answered_wait_sum BIGINT NOT NULL,
  offered_wait_n BIGINT NOT NULL, offered_wait_sum BIGINT NOT NULL, longest_wait BIGINT,
  sl_within BIGINT NOT NULL, sl_base BIGINT NOT NULL, talk_n BIGINT NOT NULL, talk_sum BIGINT NOT NULL,
  voicemails BIGINT NOT NULL, outbound_attempts BIGINT NOT NULL, outbound_answered BIGINT NOT NULL,
  billed BIGINT NOT NULL, cost_micros BIGINT NOT NULL,
  queued BIGINT NOT NULL, called_back BIGINT NOT NULL, callback_n BIGINT NOT NULL, callback_sum BIGINT NOT NULL
);
CREATE INDEX stats_buckets_dim ON stats_buckets (dim, bucket);
CREATE TABLE stats_concurrency (
  bucket BIGINT NOT NULL,
  dim TEXT NOT NULL,
  value TEXT,
  delta BIGINT NOT NULL,
  peak BIGINT NOT NULL
);
CREATE INDEX stats_concurrency_dim ON stats_concurrency (dim, bucket);

-- Buckets whose calls changed since they were rolled up, marked by the triggers below in the
-- transaction that changes the calls, so a rollup is never read stale. Rows are only appended
-- (no unique key): concurrent ingest transactions never wait on each other's marks. stats_claim
-- holds the buckets one refresh recomputes, under an advisory lock.
CREATE TABLE stats_dirty (bucket BIGINT NOT NULL);
CREATE TABLE stats_claim (bucket BIGINT PRIMARY KEY);
-- Repeat callers: per dimension and value, each offered call that follows another offered call
-- from the same number (prev_s), with the one before that (prev2_s). A number has two or more
-- offered calls in [S, U) exactly when one of its calls has prev_s >= S, prev2_s < S (or none)
-- and started_s < U: one such row per number. Recomputed per caller number, marked dirty below when an inbound call changes.
CREATE TABLE stats_repeats (
  dim TEXT NOT NULL,
  value TEXT,
  number TEXT NOT NULL,
  started_s BIGINT NOT NULL,
  prev_s BIGINT NOT NULL,
  prev2_s BIGINT
);
CREATE INDEX stats_repeats_range ON stats_repeats (dim, prev_s) INCLUDE (started_s, prev2_s, value, number);
CREATE INDEX stats_repeats_number ON stats_repeats (number);
CREATE TABLE stats_dirty_numbers (number TEXT NOT NULL);
CREATE TABLE stats_claim_numbers (number TEXT PRIMARY KEY);
-- The settings the rollups were computed with (service level, short abandon, rate unit).
CREATE TABLE stats_params (id INTEGER PRIMARY KEY CHECK (id = 1), params TEXT NOT NULL);

CREATE FUNCTION callhook_call_end_s(started_s BIGINT, ended_s BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS
  'SELECT CASE WHEN ended_s IS NULL OR ended_s > started_s + 86400 THEN started_s + 86400 WHEN ended_s < started_s THEN started_s ELSE ended_s END';

CREATE FUNCTION callhook_stats_dirty_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO stats_dirty (bucket)
      SELECT started_s / 900 FROM new_rows WHERE started_s IS NOT NULL
      UNION SELECT callhook_call_end_s(started_s, ended_s) / 900 FROM new_rows WHERE started_s IS NOT NULL;
    INSERT INTO stats_dirty_numbers (number) SELECT DISTINCT from_number FROM new_rows WHERE from_number IS NOT NULL AND direction = 'inbound';
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO stats_dirty (bucket)
      SELECT started_s / 900 FROM old_rows WHERE started_s IS NOT NULL
      UNION SELECT callhook_call_end_s(started_s, ended_s) / 900 FROM old_rows WHERE started_s IS NOT NULL;
    INSERT INTO stats_dirty_numbers (number) SELECT DISTINCT from_number FROM old_rows WHERE from_number IS NOT NULL AND direction = 'inbound';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER calls_stats_insert AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callhook_stats_dirty_calls();
CREATE TRIGGER calls_stats_update AFTER UPDATE ON calls REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callhook_stats_dirty_calls();
CREATE TRIGGER calls_stats_delete AFTER DELETE ON calls REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION callhook_stats_dirty_calls();

-- The callback queue's membership counts in the bucket of the missed call. The queue is rewritten
-- by deleting and inserting its rows, and a call leaves it only when the call itself changes, so
-- marking inserts is enough. The calls are looked up one by one: a transition table has no
-- statistics, and a join could be planned as a scan of every call.
CREATE FUNCTION callhook_stats_dirty_missed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirty (bucket) SELECT DISTINCT b FROM (SELECT (SELECT c.started_s FROM calls c WHERE c.id = m.call_id) / 900 AS b FROM new_rows m) x WHERE b IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER missed_calls_stats AFTER INSERT ON missed_calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callhook_stats_dirty_missed();

INSERT INTO stats_dirty (bucket)
  SELECT started_s / 900 FROM calls WHERE started_s IS NOT NULL
  UNION SELECT callhook_call_end_s(started_s, ended_s) / 900 FROM calls WHERE started_s IS NOT NULL;

INSERT INTO stats_dirty_numbers (number) SELECT DISTINCT from_number FROM calls WHERE from_number IS NOT NULL AND direction = 'inbound';
