-- 97_breakplan_refresh_same_txn.sql (break-it pass on issue 15, helper breakplan).
-- erp.refresh_forecasts stamps its rows with taken_at = now(), the start of
-- its transaction, and erp.replenishment reads "the latest refresh" as every
-- row with the latest taken_at, summing them per day over the node's series.
-- Two refreshes in one transaction (a nightly job that refreshes, imports the
-- legacy day and refreshes again; a retry inside a DO block) store two sets
-- of rows with one taken_at: the replenishment then counts each series twice
-- and doubles the forecast demand, the reorder point and the order.
-- 10 a day for 60 days: fc_daily_demand 10.00, after a second refresh 20.00.
-- Expected: the second refresh replaces the first (or the view reads one
-- refresh's rows once).
-- FAILS on the code as merged (c8cb77e): assertions 2 and 3.
BEGIN;
SELECT plan(3);

INSERT INTO erp.node (code) VALUES ('BPT-DC');
INSERT INTO erp.channel (code) VALUES ('BPT-WEB');
INSERT INTO erp.item (sku, unit_price) VALUES ('BPT-A', 10);
SELECT erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'BPT-A', 'channel', 'BPT-WEB', 'node', 'BPT-DC', 'day', CURRENT_DATE - d, 'qty', 10))
                            FROM generate_series(1, 60) d));
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, service_level)
SELECT i.item_id, n.node_id, 5, 50, 7, 0.95 FROM erp.item i, erp.node n WHERE i.sku = 'BPT-A' AND n.code = 'BPT-DC';

SELECT erp.refresh_forecasts();
CREATE TEMP TABLE bpt_once AS SELECT fc_daily_demand, fc_reorder_point, fc_suggested_qty FROM erp.replenishment WHERE sku = 'BPT-A';
SELECT is((SELECT fc_daily_demand FROM bpt_once), 10.00, 'after one refresh the node''s forecast demand is 10 a day');
SELECT erp.refresh_forecasts();
SELECT is((SELECT fc_daily_demand FROM erp.replenishment WHERE sku = 'BPT-A'), 10.00,
    'after a second refresh in the same transaction it is still 10 a day (it is 20)');
SELECT results_eq($$SELECT fc_reorder_point, fc_suggested_qty FROM erp.replenishment WHERE sku = 'BPT-A'$$,
    $$SELECT fc_reorder_point, fc_suggested_qty FROM bpt_once$$,
    '... and the reorder point and the suggested order are unchanged (they double)');

SELECT * FROM finish();
ROLLBACK;
