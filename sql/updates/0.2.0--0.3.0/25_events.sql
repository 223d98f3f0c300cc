
-- 25: events.  The NOTIFY trigger function gets a fixed search_path like every
-- trigger function, and the comments say that a notification carries the event
-- id only (pick exceptions that wait for a worker slot need no SQL change).
ALTER FUNCTION erp.event_notify() SET search_path = pg_catalog, pg_temp;
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...); read it from the last event_id you processed, and LISTEN erp_event to be woken (the notification carries the event id only)';
COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with the new event id (and nothing else), delivered when the transaction that wrote the event commits';
