-- demo/clock.sql: the demo runs a day in minutes.  After each hour, the documents
-- written during it (orders, shipments, returns, events, counts) are moved onto
-- that trading hour, keeping their order and spacing, so that ages, cycle times
-- and latencies read like a real day.  The ledger keeps its real times: it is
-- append-only.  Variables: hour, mark (when the hour started, real time).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TEMP TABLE c AS
SELECT :'mark'::timestamptz AS mark,
       (SELECT t0 FROM demo_clock) + (:hour - 8) * interval '1 hour' AS sim,
       3600 / greatest(extract(epoch FROM clock_timestamp() - :'mark'::timestamptz), 1) AS k;
CREATE FUNCTION pg_temp.sim(ts timestamptz) RETURNS timestamptz LANGUAGE sql STABLE AS
$$ SELECT CASE WHEN ts >= c.mark THEN c.sim + (ts - c.mark) * c.k ELSE ts END FROM c $$;
UPDATE erp.sales_order SET created_at = pg_temp.sim(created_at), updated_at = pg_temp.sim(updated_at)
 WHERE updated_at >= (SELECT mark FROM c);
UPDATE erp.shipment SET shipped_at = pg_temp.sim(shipped_at) WHERE shipped_at >= (SELECT mark FROM c);
UPDATE erp.rma SET authorized_at = pg_temp.sim(authorized_at), expires_at = pg_temp.sim(authorized_at) + interval '30 days'
 WHERE authorized_at >= (SELECT mark FROM c);
UPDATE erp.rma_line SET received_at = pg_temp.sim(received_at), inspected_at = pg_temp.sim(inspected_at),
       available_at = pg_temp.sim(available_at), refunded_at = pg_temp.sim(refunded_at)
 WHERE greatest(received_at, inspected_at, available_at, refunded_at) >= (SELECT mark FROM c);
UPDATE erp.event SET at = pg_temp.sim(at) WHERE at >= (SELECT mark FROM c);
UPDATE erp.cycle_count SET counted_at = pg_temp.sim(counted_at) WHERE counted_at >= (SELECT mark FROM c);
UPDATE erp.adjustment SET created_at = pg_temp.sim(created_at), decided_at = pg_temp.sim(decided_at)
 WHERE created_at >= (SELECT mark FROM c);
UPDATE erp.purchase_order SET created_at = pg_temp.sim(created_at) WHERE created_at >= (SELECT mark FROM c);
