-- The outbox's pending deliveries, in two parts (src/forward/worker.ts, claimStatement):
-- fresh: live deliveries never tried nor leased, found in id order, an index that only grows at
--   its end;
-- held: the rest (leased, retrying, replayed), indexed by call as well, which the order check
--   probes. It stays small: a delivery enters it when it is claimed and leaves when it is done.
-- One index by call over every pending delivery had cost an insert at a random place per new
-- delivery, while webhooks arrive.
DROP INDEX deliveries_due;
DROP INDEX deliveries_order;
CREATE INDEX deliveries_fresh ON deliveries (destination_id, id)
  WHERE state = 'pending' AND replay = 0 AND attempts = 0 AND lease_until_ms IS NULL;
CREATE INDEX deliveries_held ON deliveries (destination_id, order_key, id)
  WHERE state = 'pending' AND (replay = 1 OR attempts > 0 OR lease_until_ms IS NOT NULL);
CREATE INDEX deliveries_held_due ON deliveries (destination_id, replay, next_attempt_ms, id)
  WHERE state = 'pending' AND (replay = 1 OR attempts > 0 OR lease_until_ms IS NOT NULL);
