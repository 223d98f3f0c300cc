-- 94_breakplan_one_day_interval.sql (break-it pass on issue 15, helper breakplan).
-- A series with one observed day gets SES with its initial level = that day
-- (the mean of the first days), so its only one-step error is 0, sigma = 0
-- and the "95% prediction interval" is [5, 5].  A new item with one day of
-- sales is thereby forecast with certainty, stored with sigma 0, and
-- erp.replenishment sizes its safety stock at 0 units for a 99% service level.
-- (Two days, 2 and 8, give sigma 3 and [0, 10.9]: only the one-observation
-- case collapses.)  Expected: an interval that admits some doubt (or no
-- interval / no forecast-based safety stock) when there is nothing to
-- measure the error on.
-- FAILS on the code as merged (c8cb77e): assertions 1, 2 and 4.
BEGIN;
SELECT plan(4);

SELECT ok((SELECT hi > lo FROM erp.forecast_series(ARRAY[5]::float8[], NULL, 1)),
    'a forecast from one day of history has an interval wider than a point (it is [5, 5])');

INSERT INTO erp.node (code) VALUES ('BPO-DC');
INSERT INTO erp.channel (code) VALUES ('BPO-WEB');
INSERT INTO erp.item (sku, unit_price) VALUES ('BPO-NEW', 10);
SELECT erp.import_demand(format('[{"sku": "BPO-NEW", "channel": "BPO-WEB", "node": "BPO-DC", "day": "%s", "qty": 5}]', CURRENT_DATE - 1)::jsonb);
SELECT erp.refresh_forecasts();
SELECT ok((SELECT bool_and(s.sigma > 0) FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id) WHERE i.sku = 'BPO-NEW'),
    'its stored sigma is above 0 (it is 0: the day was its own initial level)');
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, service_level)
SELECT i.item_id, n.node_id, 0, 10, 7, 0.99 FROM erp.item i, erp.node n WHERE i.sku = 'BPO-NEW' AND n.code = 'BPO-DC';
SELECT is((SELECT fc_daily_demand FROM erp.replenishment WHERE sku = 'BPO-NEW'), 5.00, 'the replenishment reads the forecast: 5 a day');
SELECT ok((SELECT fc_safety_stock > 0 FROM erp.replenishment WHERE sku = 'BPO-NEW'),
    'a 99% service level on one day of sales keeps some safety stock (it is 0)');

SELECT * FROM finish();
ROLLBACK;
