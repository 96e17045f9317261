-- Forwarding (src/forward): destinations, the outbox of deliveries and every attempt. Times the
-- worker compares are epoch milliseconds; an outbox row is written in the transaction that stores
-- what it delivers.
CREATE TABLE destinations (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  kinds TEXT NOT NULL,
  filters TEXT NOT NULL,
  headers TEXT NOT NULL,
  rate_limit DOUBLE PRECISION,
  max_in_flight INTEGER,
  state TEXT NOT NULL,
  disabled_reason TEXT,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until_ms BIGINT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE deliveries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  destination_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  order_key TEXT NOT NULL,
  message_id TEXT,
  message_at TEXT NOT NULL,
  event_id BIGINT,
  alert_id BIGINT,
  alert_state TEXT,
  payload TEXT,
  replay SMALLINT NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  step INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  lease_until_ms BIGINT,
  lease_owner TEXT,
  created_ms BIGINT NOT NULL,
  finished_ms BIGINT,
  last_status INTEGER,
  last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries (destination_id, replay, next_attempt_ms, id) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (destination_id, order_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_list ON deliveries (destination_id, id);

CREATE TABLE delivery_attempts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id BIGINT NOT NULL,
  attempted_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER,
  response_body TEXT,
  latency_ms BIGINT,
  error TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
