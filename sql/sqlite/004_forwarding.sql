-- Forwarding (src/forward): destinations, the outbox of deliveries and every attempt. Times the
-- worker compares are epoch milliseconds; an outbox row is written in the transaction that stores
-- what it delivers.
CREATE TABLE destinations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  description TEXT,
  kinds TEXT NOT NULL,
  filters TEXT NOT NULL,
  headers TEXT NOT NULL,
  rate_limit REAL,
  max_in_flight INTEGER,
  state TEXT NOT NULL,
  disabled_reason TEXT,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until_ms INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- AUTOINCREMENT: a delivery id is never used twice, even after its destination is removed.
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  order_key TEXT NOT NULL,
  message_id TEXT,
  message_at TEXT NOT NULL,
  event_id INTEGER,
  alert_id INTEGER,
  alert_state TEXT,
  payload TEXT,
  replay INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  step INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  lease_until_ms INTEGER,
  lease_owner TEXT,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_status INTEGER,
  last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries (destination_id, replay, next_attempt_ms, id) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (destination_id, order_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_list ON deliveries (destination_id, id);

CREATE TABLE delivery_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL,
  attempted_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER,
  response_body TEXT,
  latency_ms INTEGER,
  error TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
