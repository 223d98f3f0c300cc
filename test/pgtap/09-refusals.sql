-- Refusals not covered elsewhere, each with its SQLSTATE and a check that the
-- books did not change.
BEGIN;
SELECT plan(14);

INSERT INTO erp.item (sku, lot_tracked) VALUES ('TAP09-TEE', false), ('TAP09-CREAM', true), ('TAP09-OLD', false);
INSERT INTO erp.node (code) VALUES ('TAP09-DC'), ('TAP09-ST');
INSERT INTO erp.channel (code) VALUES ('TAP09-WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE c.code = 'TAP09-WEB' AND n.code = 'TAP09-DC';
SELECT erp.receive('TAP09-TEE', 'TAP09-DC', 5), erp.receive('TAP09-CREAM', 'TAP09-DC', 5, 'L1', '2031-01-01');
UPDATE erp.item SET active = false WHERE sku = 'TAP09-OLD';
CREATE TEMP TABLE tap09 AS SELECT erp.capture_order('TAP09-WEB', 'TAP09-1', '[{"sku": "TAP09-TEE", "qty": 2}]') AS o;
SELECT count(*) FROM tap09, LATERAL erp.allocate(o);
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT sum(qty) FROM erp.stock_balance) || '/' ||
           (SELECT count(*) FROM erp.item) || '/' || (SELECT count(*) FROM erp.node) || '/' ||
           (SELECT count(*) FROM erp.sales_order) || '/' || (SELECT string_agg(lot_code || expires_on, ',') FROM erp.lot)
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.books() AS b;

SELECT throws_ok($$SELECT erp.move('TAP09-TEE', 'TAP09-DC', 1, NULL, 'available', 'receive', to_node => 'TAP09-ST')$$,
    'IE002', 'to_node "TAP09-ST" applies only to moves between two nodes',
    'a receipt from outside with a to_node is refused, or the units would land somewhere else than the node named');
SELECT throws_ok($$SELECT erp.move('TAP09-TEE', 'TAP09-DC', 1, 'available', 'in_transit', 'transfer_out', to_node => 'TAP09-DC')$$,
    'IE002', 'event "transfer_out" needs a destination node other than "TAP09-DC"',
    'a transfer to its own node is refused, or units would sit in transit at the node that sent them');
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP09-TEE'$$, 'IE010', NULL,
    'an item with history cannot be deleted, or the ledger would point at nothing');
SELECT throws_ok($$DELETE FROM erp.node WHERE code = 'TAP09-DC'$$, 'IE010', NULL,
    'a node with history cannot be deleted');
SELECT throws_ok($$DELETE FROM erp.channel WHERE code = 'TAP09-WEB'$$, 'IE010', NULL,
    'a channel with orders cannot be deleted, or its orders would lose their channel');
SELECT throws_ok($$DELETE FROM erp.sales_order$$, 'IE005', NULL, 'orders are cancelled, never deleted');
SELECT throws_ok($$SELECT erp.capture_order('TAP09-WEB', 'TAP09-2', '[{"sku": "TAP09-OLD", "qty": 1}]')$$,
    'IE010', 'sku "TAP09-OLD" is retired and takes no new orders', 'a retired item takes no new orders');
SELECT throws_ok($$SELECT erp.receive('TAP09-CREAM', 'TAP09-DC', 1, 'L1', '2032-01-01')$$,
    'IE010', 'lot "L1" of sku "TAP09-CREAM" already exists with expiry 2031-01-01',
    'a receipt naming another expiry for an existing lot is refused: one lot, one expiry');
SELECT throws_ok(format('SELECT erp.short_pick(%s, %L, 3)', o, 'TAP09-TEE'),
    'IE004', format('cannot short-pick 3 of sku "TAP09-TEE" for order %s: 2 reserved and not picked', o),
    'more units reported missing than the order holds is refused') FROM tap09;
SELECT throws_ok(format('SELECT erp.short_pick(%s, %L, 0)', o, 'TAP09-TEE'), 'IE004', NULL,
    'a short pick of zero units is refused') FROM tap09;
SELECT is(pg_temp.books(), (SELECT b FROM before), 'none of the refused calls changed the books');

-- a retired item keeps its history and can be deleted only when it has none
SELECT lives_ok($$DELETE FROM erp.item WHERE sku = 'TAP09-OLD'$$, 'an item without history can still be deleted');
SELECT lives_ok($$SELECT erp.receive('TAP09-CREAM', 'TAP09-DC', 1, 'L1', '2031-01-01')$$,
    'a receipt naming the lot''s own expiry is fine');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'the books are consistent');

SELECT * FROM finish();
ROLLBACK;
