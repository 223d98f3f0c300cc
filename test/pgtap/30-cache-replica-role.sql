-- 30-cache-replica-role.sql (issue 10, break-kernel): the per-backend caches of
-- items, nodes and channels (src/master_cache.c) are dropped only by the
-- statement triggers item_cached, node_cached, channel_cached
-- (sql/install/87_caches.sql, erp.reload_rules).  Those triggers are ORIGIN
-- triggers: under session_replication_role = replica -- how a logical
-- replication subscriber's apply worker and a data-only restore write -- they do
-- not fire, so no invalidation is sent and every session keeps the old sku, price,
-- active flag and codes for good.  0.2.0 read erp.item per call and saw the change.
-- The next capture must see exactly what is committed (or the session's own change).
BEGIN;
SELECT plan(8);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP30-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('TAP30-DC', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('TAP30-WEB');
CREATE FUNCTION pg_temp.cap(ref text, sku text, channel text DEFAULT 'TAP30-WEB') RETURNS text LANGUAGE plpgsql AS $$
DECLARE id bigint;
BEGIN
    id := erp.capture_order(channel, ref, jsonb_build_array(jsonb_build_object('sku', sku, 'qty', 1)), NULL, 0);
    RETURN (SELECT 'ok ' || i.sku || ' ' || l.unit_price FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE l.order_id = id);
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- the session caches the item and the channel
SELECT is(pg_temp.cap('TAP30-1', 'TAP30-TEE'), 'ok TAP30-TEE 20.00', '(the item is cached at its price)');

-- a replicated change (the subscriber's apply worker runs as replica)
SET LOCAL session_replication_role = replica;
UPDATE erp.item SET sku = 'TAP30-TEE-V2', unit_price = 25 WHERE sku = 'TAP30-TEE';
UPDATE erp.channel SET code = 'TAP30-SHOP' WHERE code = 'TAP30-WEB';
SET LOCAL session_replication_role = origin;

SELECT is(pg_temp.cap('TAP30-2', 'TAP30-TEE'), 'IE003',
    'an item renamed under session_replication_role = replica: the old sku is unknown (IE003), not served from the cache');
SELECT is(pg_temp.cap('TAP30-3', 'TAP30-TEE-V2', 'TAP30-SHOP'), 'ok TAP30-TEE-V2 25.00',
    'the new sku is ordered at the new price');
SELECT is(pg_temp.cap('TAP30-4', 'TAP30-TEE-V2', 'TAP30-WEB'), 'IE003',
    'a channel recoded under replica role: the old code is unknown (IE003)');

-- retired under replica role: a new order is refused (IE010), as for a retirement in origin mode
SET LOCAL session_replication_role = replica;
UPDATE erp.item SET active = false WHERE sku = 'TAP30-TEE-V2';
SET LOCAL session_replication_role = origin;
SELECT is(pg_temp.cap('TAP30-5', 'TAP30-TEE-V2', 'TAP30-SHOP'), 'IE010',
    'an item retired under replica role takes no new order (IE010)');
SELECT is((SELECT count(*)::int FROM erp.sales_order WHERE external_ref IN ('TAP30-2', 'TAP30-4', 'TAP30-5')), 0,
    'the refused captures wrote no order');

-- control: the same retirement in origin mode is refused
UPDATE erp.item SET active = true WHERE sku = 'TAP30-TEE-V2';
SELECT is(pg_temp.cap('TAP30-6', 'TAP30-TEE-V2', 'TAP30-SHOP'), 'ok TAP30-TEE-V2 25.00', '(active again)');
UPDATE erp.item SET active = false WHERE sku = 'TAP30-TEE-V2';
SELECT is(pg_temp.cap('TAP30-7', 'TAP30-TEE-V2', 'TAP30-SHOP'), 'IE010', '(control: retired in origin mode: IE010)');

SELECT * FROM finish();
ROLLBACK;
