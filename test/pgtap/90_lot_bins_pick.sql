-- 90_lot_bins_pick.sql: erp.pick_bin with a plain sku scan for an order that holds two
-- lots in different bins (issue 16, doc/warehouse.md "Lots in bins"): each bin gives the
-- order's lots it holds, a lot the bin lacks is passed over; a bin that gives fewer than
-- picked is a short bin (IE007, flagged for a count) and nothing changes.
BEGIN;
SELECT plan(8);

INSERT INTO erp.node (code, kind) VALUES ('TAP90P-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP90P-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP90P-WEB' AND n.code = 'TAP90P-DC';
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked) VALUES
    ('TAP90P-VIT', 'vitamins', 'health', 1, 2, true);
INSERT INTO erp.bin (node_id, code, pick_sequence)
SELECT n.node_id, v.code, v.seq FROM erp.node n, (VALUES ('A', 1), ('B', 2)) AS v(code, seq) WHERE n.code = 'TAP90P-DC';
-- lot L1 (earlier) is in bin B, lot L2 in bin A; L1 has the lower lot id
SELECT erp.receive('TAP90P-VIT', 'TAP90P-DC', 2, lot => 'L1', expires_on => DATE '2099-01-01');
SELECT erp.receive('TAP90P-VIT', 'TAP90P-DC', 3, lot => 'L2', expires_on => DATE '2099-06-01');
SELECT erp.putaway('TAP90P-VIT', 'TAP90P-DC', 'B', 2, lot => 'L1');
SELECT erp.putaway('TAP90P-VIT', 'TAP90P-DC', 'A', 3, lot => 'L2');
CREATE TEMP TABLE o90p AS
SELECT erp.capture_order('TAP90P-WEB', 'TAP90P-O1', '[{"sku": "TAP90P-VIT", "qty": 4}]') AS order_id;
SELECT is((SELECT string_agg(lot || ' ' || qty, ', ' ORDER BY lot) FROM erp.allocate((SELECT order_id FROM o90p))),
    'L1 2, L2 2', 'the order holds 2 of L1 (bin B) and 2 of L2 (bin A)');

CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s', (SELECT string_agg(format('%s/%s/%s/%s', bin_id, lot_id, available, reserved), ' ' ORDER BY bin_id, lot_id, slot)
                              FROM erp.stock_slot WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP90P-VIT')),
                  (SELECT count(*) FROM erp.stock_move))
$$;
CREATE TEMP TABLE before90p AS SELECT pg_temp.books() AS b;
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 3, %L)', (SELECT order_id FROM o90p), 'TAP90P-VIT', 'A'), 'IE007',
    format('bin "A" at node "TAP90P-DC" holds 3 units of sku "TAP90P-VIT", 3 picked for order %s', (SELECT order_id FROM o90p)),
    'bin A holds 3 of L2 but the order holds only 2 of L2: 3 is a short bin (IE007)');
SELECT is(pg_temp.books(), (SELECT b FROM before90p), 'the refused pick changed nothing');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 2, %L)', (SELECT order_id FROM o90p), 'TAP90P-VIT', 'A'),
    'a plain sku scan in bin A picks the order''s 2 of L2 (L1, first in lot order, is passed over: bin A has none)');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 2, %L)', (SELECT order_id FROM o90p), 'TAP90P-VIT', 'B'),
    'and in bin B its 2 of L1');
SELECT is((SELECT string_agg(format('%s=%s', l.lot_code, r.qty_picked), ' ' ORDER BY l.lot_code)
             FROM erp.reservation r JOIN erp.lot l ON l.lot_id = r.lot_id WHERE r.order_id = (SELECT order_id FROM o90p)),
    'L1=2 L2=2', 'each lot picked from the bin it lies in');
SELECT is((SELECT string_agg(payload->>'bin', ' ' ORDER BY event_id) FROM erp.event
            WHERE kind = 'pick_exception' AND payload->>'count_bin' = 'true'
              AND coalesce(order_id, (payload->>'uncommitted_order_id')::bigint) = (SELECT order_id FROM o90p)),
    'A', 'only the refused pick flagged a bin (A) for a count');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
