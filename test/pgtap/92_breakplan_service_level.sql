-- 92_breakplan_service_level.sql (break-it pass on issue 15, helper breakplan).
-- erp.stock_policy.service_level is numeric with CHECK (0 < p < 1), but
-- erp.replenishment casts it to double precision for erp.normal_quantile:
-- 0.99999999999999999999 (passes the CHECK) becomes 1.0 and the quantile
-- raises IE004; 1e-400 (passes too) cannot be cast at all (22003).  Either
-- one policy row then makes every query of erp.replenishment that reads the
-- fc_ columns fail - for every item, node and user, partners included.
-- Expected: the CHECK refuses what the view cannot use, or the view copes
-- (a z for it, or NULL fc_ columns for that row), and other rows unaffected.
-- FAILS on the code as merged (c8cb77e): assertions 3 and 4.
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code) VALUES ('BPSL-DC');
INSERT INTO erp.item (sku, unit_price) VALUES ('BPSL-A', 10), ('BPSL-B', 10);
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days)
SELECT i.item_id, n.node_id, 5, 10, 7 FROM erp.item i, erp.node n WHERE i.sku LIKE 'BPSL-%' AND n.code = 'BPSL-DC';
UPDATE erp.stock_policy SET service_level = 0.95 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-A');

-- the CHECK holds at the edges it names
SELECT throws_ok($$UPDATE erp.stock_policy SET service_level = 1 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-B')$$,
    '23514', NULL, 'a service level of 1 is refused by the CHECK');
SELECT throws_ok($$UPDATE erp.stock_policy SET service_level = 'NaN' WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-B')$$,
    '23514', NULL, 'a NaN service level is refused by the CHECK');

-- a value just below 1 that the CHECK lets in
SAVEPOINT near_one;
UPDATE erp.stock_policy SET service_level = 0.99999999999999999999
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-B');
SELECT lives_ok($$SELECT count(fc_safety_stock) FROM erp.replenishment$$,
    'erp.replenishment still answers once a policy has the service level 0.99999999999999999999 (the CHECK let it in)');
ROLLBACK TO near_one;

SAVEPOINT near_zero;
UPDATE erp.stock_policy SET service_level = 1e-400
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-B');
SELECT lives_ok($$SELECT count(fc_safety_stock) FROM erp.replenishment$$,
    'erp.replenishment still answers once a policy has the service level 1e-400 (the CHECK let it in)');
ROLLBACK TO near_zero;

-- ordinary values work, and 0.5 means no safety stock
UPDATE erp.stock_policy SET service_level = 0.5 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPSL-B');
SELECT lives_ok($$SELECT count(fc_safety_stock) FROM erp.replenishment$$, 'service levels 0.95 and 0.5 are read');
SELECT is(erp.normal_quantile(0.5), 0::float8, 'z(0.5) = 0: no safety stock beyond the mean');

SELECT * FROM finish();
ROLLBACK;
