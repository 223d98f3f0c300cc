-- 31-cache-after-recreate.sql (issue 10, break-kernel): src/master_cache.c learns
-- the OIDs of erp.item, erp.item_component, erp.node and erp.channel once per
-- backend (LearnRelids: only while item_relid is unset) and drops a cache only on
-- a relcache invalidation of one of those OIDs.  After DROP EXTENSION and CREATE
-- EXTENSION in the same session (what every pg_regress scenario does first, and a
-- pooled connection sees after a reinstall), the tables have new OIDs: no change
-- of erp.item ever drops the cache again, and a renamed item's old sku keeps
-- being ordered.  The kernel's own caches (slot_rows.c, journal.c) forget their
-- OIDs on the invalidation; the master cache must too.
BEGIN;
SELECT plan(4);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP31-TEE', 5, 20);
INSERT INTO erp.channel (code) VALUES ('TAP31-WEB');
CREATE FUNCTION pg_temp.cap(ref text, sku text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE id bigint;
BEGIN
    id := erp.capture_order('TAP31-WEB', ref, jsonb_build_array(jsonb_build_object('sku', sku, 'qty', 1)), NULL, 0);
    RETURN (SELECT 'ok ' || i.sku || ' ' || l.unit_price FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE l.order_id = id);
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT is(pg_temp.cap('TAP31-1', 'TAP31-TEE'), 'ok TAP31-TEE 20.00', '(the session has learnt the tables)');

SET LOCAL client_min_messages = warning;
DROP EXTENSION inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP31-TEE', 5, 20);
INSERT INTO erp.channel (code) VALUES ('TAP31-WEB');
SELECT is(pg_temp.cap('TAP31-2', 'TAP31-TEE'), 'ok TAP31-TEE 20.00', '(reinstalled: the item is cached again)');

UPDATE erp.item SET sku = 'TAP31-TEE-V2', unit_price = 25 WHERE sku = 'TAP31-TEE';
SELECT is(pg_temp.cap('TAP31-3', 'TAP31-TEE'), 'IE003',
    'after DROP/CREATE EXTENSION in the session, a renamed item''s old sku is unknown (IE003), not served from the cache');
SELECT is((SELECT count(*)::int FROM erp.sales_order WHERE external_ref = 'TAP31-3'), 0, 'and no order was written');

SELECT * FROM finish();
ROLLBACK;
