-- 84_bins_close.sql: a closed period keeps the bins (erp.close_period writes one
-- erp.period_balance row per bin), so that after erp.archive_ledger removes the
-- moves that named bins, erp.verify()'s per-bin check starts from the snapshot
-- and stays empty; moves after the close are counted on top of it.
BEGIN;
SELECT plan(7);

INSERT INTO erp.node (code, kind) VALUES ('TAP84-DC', 'warehouse');
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price) VALUES ('TAP84-TEE', 'tee', 'apparel', 2, 10);
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT n.node_id, v.code, 'apparel', v.seq
  FROM erp.node n, (VALUES ('A-01', 10), ('A-02', 20)) AS v(code, seq) WHERE n.code = 'TAP84-DC';

-- twenty days ago: 10 received, 6 put away in A-01, 1 of them moved on to A-02
SELECT erp.receive('TAP84-TEE', 'TAP84-DC', 10);
SELECT erp.putaway('TAP84-TEE', 'TAP84-DC', 'A-01', 6);
SELECT erp.bin_move('TAP84-TEE', 'TAP84-DC', 'A-01', 'A-02', 1);
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '20 days'
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE');
UPDATE erp.cost_entry SET at = at - interval '20 days'
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE');
SET LOCAL session_replication_role = origin;

SELECT ok(erp.close_period(current_date - 10) >= 3, 'the period up to ten days ago is closed');
SELECT results_eq(
    $$SELECT coalesce(b.code, '-'), p.state::text, p.qty
        FROM erp.period_balance p LEFT JOIN erp.bin b ON b.bin_id = p.bin_id
       WHERE p.upto = current_date - 10 AND p.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE')
       ORDER BY 1$$,
    $$VALUES ('-', 'available', 4::bigint), ('A-01', 'available', 5), ('A-02', 'available', 1)$$,
    'the snapshot keeps the bins: 4 outside bins, 5 in A-01, 1 in A-02');
SELECT is((SELECT sum(value) FROM erp.period_balance
            WHERE upto = current_date - 10 AND item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE')),
    20.00::numeric, 'and their value: 10 units at 2.00');

SELECT ok(erp.archive_ledger(current_date - 10) >= 3, 'the moves before the cut are archived');
SELECT is((SELECT count(*) FROM erp.stock_move WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE')),
    0::bigint, 'no move of the item is left in the ledger');
SELECT is_empty($$SELECT * FROM erp.verify() WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE')$$,
    'erp.verify() is empty per node and per bin after the archive');

-- after the close: 2 more from A-01 to A-02; the bins are checked from the snapshot plus this move
SELECT erp.bin_move('TAP84-TEE', 'TAP84-DC', 'A-01', 'A-02', 2);
SELECT is_empty($$SELECT * FROM erp.verify() WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP84-TEE')$$,
    'erp.verify() is still empty after a bin move in the open period');

SELECT * FROM finish();
ROLLBACK;
