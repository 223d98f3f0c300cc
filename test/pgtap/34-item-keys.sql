-- 30-item-keys.sql (issue 10, item 4; SPEC 2): the item-scoped document tables
-- are keyed (item_id, <id>) and the foreign keys that point at them carry
-- item_id, so that they can be distributed by item.  On 0.2.0 the keys were
-- the id alone: a transfer, adjustment, count or RMA line could name a lot of
-- another item.
BEGIN;
SELECT plan(16);

SELECT col_is_pk('erp', 'lot', ARRAY['item_id', 'lot_id'], 'erp.lot is keyed (item_id, lot_id)');
SELECT col_is_pk('erp', 'reservation', ARRAY['item_id', 'reservation_id'], 'erp.reservation is keyed (item_id, reservation_id)');
SELECT col_is_pk('erp', 'transfer', ARRAY['item_id', 'transfer_id'], 'erp.transfer is keyed (item_id, transfer_id)');
SELECT col_is_pk('erp', 'adjustment', ARRAY['item_id', 'adjustment_id'], 'erp.adjustment is keyed (item_id, adjustment_id)');
SELECT col_is_pk('erp', 'cycle_count', ARRAY['item_id', 'cycle_count_id'], 'erp.cycle_count is keyed (item_id, cycle_count_id)');

SELECT fk_ok('erp', 'rma_line', ARRAY['item_id', 'lot_id'], 'erp', 'lot', ARRAY['item_id', 'lot_id'],
             'an RMA line names its lot with its item');
SELECT fk_ok('erp', 'transfer', ARRAY['item_id', 'lot_id'], 'erp', 'lot', ARRAY['item_id', 'lot_id'],
             'a transfer names its lot with its item');
SELECT fk_ok('erp', 'adjustment', ARRAY['item_id', 'lot_id'], 'erp', 'lot', ARRAY['item_id', 'lot_id'],
             'an adjustment names its lot with its item');
SELECT fk_ok('erp', 'cycle_count', ARRAY['item_id', 'lot_id'], 'erp', 'lot', ARRAY['item_id', 'lot_id'],
             'a cycle count names its lot with its item');
SELECT fk_ok('erp', 'cycle_count', ARRAY['item_id', 'adjustment_id'], 'erp', 'adjustment', ARRAY['item_id', 'adjustment_id'],
             'a cycle count names its adjustment with its item');
SELECT is((SELECT (pg_catalog.pg_get_indexdef('erp.reservation_key'::regclass) ~ '\(order_id, line_no, node_id, COALESCE\(lot_id, \(0\)::bigint\), item_id\)$'))::text,
          'true', 'the unique key of a reservation leads with the order and holds item_id, as a unique index of a table distributed by item must');

-- a lot of one item cannot be named with another item
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('RK30-MILK', 1, 2, true), ('RK30-TEA', 1, 2, true);
INSERT INTO erp.node (code, kind) VALUES ('RK30-A', 'warehouse'), ('RK30-B', 'warehouse');
SELECT erp.receive('RK30-MILK', 'RK30-A', 10, 'L1', '2030-01-01');
SELECT throws_ok($$INSERT INTO erp.transfer (item_id, lot_id, from_node_id, to_node_id, qty)
                   SELECT t.item_id, l.lot_id, a.node_id, b.node_id, 1
                     FROM erp.item t, erp.lot l, erp.node a, erp.node b
                    WHERE t.sku = 'RK30-TEA' AND l.lot_code = 'L1' AND a.code = 'RK30-A' AND b.code = 'RK30-B'$$,
                 '23503', NULL, 'a transfer of one item cannot name the lot of another');

-- the documents found by their own id still work: lookup by id, then keyed by (item_id, id)
SELECT erp.transfer('RK30-MILK', 'RK30-A', 'RK30-B', 4, 'L1') AS t \gset
SELECT lives_ok(format('SELECT erp.receive_transfer(%s)', :t), 'erp.receive_transfer finds the transfer by its id');
SELECT is((SELECT status::text FROM erp.transfer WHERE transfer_id = :t), 'received', 'and receives it');
SELECT throws_ok('SELECT erp.receive_transfer(999999999)', 'IE003', 'unknown transfer 999999999',
                 'an unknown transfer is still IE003');
SELECT throws_ok('SELECT erp.approve_adjustment(999999999)', 'IE003', 'unknown adjustment 999999999',
                 'an unknown adjustment is still IE003');

SELECT * FROM finish();
ROLLBACK;
