-- 95_breakplan_ok_roles.sql (break-it pass on issue 15, helper breakplan).
-- Role attacks on the planning functions and views that HELD (the ones that
-- did not are in 93_breakplan_partner_other_node and
-- 95_breakplan_partner_worklist):
-- - a partner of the 3PL reading erp.forecast_snapshot, erp.kpi_forecast_accuracy,
--   erp.replenishment, erp.anomalies sees its node's rows only, and its
--   erp.forecast is its node's demand; asking for the DC is IE009;
-- - it may not run detection (IE009), close the DC's anomaly or the business's
--   return-rate anomaly (IE009, nothing changed), refresh or import (42501);
-- - after its role is renamed it is still the partner of its node;
-- - a reader may call none of the writing functions, an approver neither
--   refresh nor import (42501).
BEGIN;
SELECT plan(24);

INSERT INTO erp.node (code) VALUES ('BPR-DC'), ('BPR-3PL');
INSERT INTO erp.channel (code) VALUES ('BPR-WEB');
INSERT INTO erp.item (sku, category, unit_price) VALUES ('BPR-A', 'BPR-cat', 10);
-- 60 days of demand: 20 a day at the DC, 5 a day at the 3PL
SELECT erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'BPR-A', 'channel', 'BPR-WEB', 'node', n, 'day', CURRENT_DATE - d,
                                                              'qty', CASE n WHEN 'BPR-DC' THEN 20 ELSE 5 END))
                            FROM generate_series(1, 60) d, unnest(ARRAY['BPR-DC', 'BPR-3PL']) n));
SELECT erp.refresh_forecasts();
-- a refresh "taken" ten days ago for the accuracy KPI: 10 a day at both nodes
INSERT INTO erp.forecast_snapshot (taken_at, item_id, channel_id, node_id, day, qty, lo, hi, sigma, model)
SELECT now() - interval '10 days', i.item_id, c.channel_id, n.node_id, d::date, 10, 5, 15, 2, 'ses'
  FROM erp.item i, erp.channel c, erp.node n, generate_series(CURRENT_DATE - 7, CURRENT_DATE - 1, interval '1 day') d
 WHERE i.sku = 'BPR-A' AND c.code = 'BPR-WEB' AND n.code LIKE 'BPR-%';
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, service_level)
SELECT i.item_id, n.node_id, 5, 50, 7, 0.95 FROM erp.item i, erp.node n WHERE i.sku = 'BPR-A' AND n.code LIKE 'BPR-%';
-- one finding per node and one of the business's (no node)
INSERT INTO erp.anomaly (kind, ref, item_id, node_id, score, value)
SELECT 'shrinkage', 'count:bpr-' || n.code, i.item_id, n.node_id, 9, 100 FROM erp.item i, erp.node n WHERE i.sku = 'BPR-A' AND n.code LIKE 'BPR-%'
UNION ALL
SELECT 'return_rate', 'return_rate:BPR-A:2026-11-30', i.item_id, NULL, 5, 50 FROM erp.item i WHERE i.sku = 'BPR-A';
CREATE TEMP TABLE bpr_ids AS SELECT a.ref, a.anomaly_id FROM erp.anomaly a WHERE a.ref LIKE '%BPR%' OR a.ref LIKE '%bpr%';
CREATE TEMP TABLE bpr_snap AS SELECT count(*) AS n FROM erp.forecast_snapshot;
GRANT SELECT ON bpr_ids, bpr_snap TO PUBLIC;

CREATE ROLE bpr_partner;
GRANT erp_operator, erp_reader TO bpr_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'bpr_partner', node_id FROM erp.node WHERE code = 'BPR-3PL';
CREATE ROLE bpr_reader;
GRANT erp_reader TO bpr_reader;

SET LOCAL ROLE bpr_partner;
SELECT is((SELECT array_agg(DISTINCT n.code) FROM erp.forecast_snapshot s JOIN erp.node n USING (node_id)), ARRAY['BPR-3PL'],
    'a partner reads the snapshots of its node only');
SELECT results_eq($$SELECT actual_units, forecast_units FROM erp.kpi_forecast_accuracy WHERE category = 'BPR-cat'$$,
    $$VALUES (35::bigint, 70.0)$$, 'its accuracy KPI is its node''s: 7 days of 5 asked, 10 forecast');
SELECT is((SELECT array_agg(node) FROM erp.replenishment WHERE sku = 'BPR-A'), ARRAY['BPR-3PL'], 'erp.replenishment shows it its node only');
SELECT ok((SELECT abs(fc_daily_demand - 5) < 0.5 FROM erp.replenishment WHERE sku = 'BPR-A'), '... planned from its own forecast (5 a day)');
SELECT is((SELECT array_agg(node) FROM erp.anomalies WHERE sku = 'BPR-A'), ARRAY['BPR-3PL'],
    'erp.anomalies shows it its node''s finding only (not the DC''s, not the business''s return rate)');
SELECT ok((SELECT bool_and(abs(qty - 5) < 0.5) FROM erp.forecast('BPR-A', horizon_days => 7)), 'its forecast of the item is its node''s 5 a day');
SELECT throws_ok($$SELECT * FROM erp.forecast('BPR-A', 'BPR-WEB', 'BPR-DC')$$, 'IE009', NULL, 'the DC''s forecast is refused (IE009)');
SELECT throws_ok($$SELECT erp.detect_anomalies()$$, 'IE009', NULL, 'detection is refused to a partner (IE009)');
SELECT throws_ok(format('SELECT erp.close_anomaly(%s, %L)', (SELECT anomaly_id FROM bpr_ids WHERE ref = 'count:bpr-BPR-DC'), 'x'),
    'IE009', NULL, 'closing the DC''s anomaly is refused (IE009)');
SELECT throws_ok(format('SELECT erp.close_anomaly(%s, %L)', (SELECT anomaly_id FROM bpr_ids WHERE ref LIKE 'return_rate:%'), 'x'),
    'IE009', NULL, 'closing the business''s return-rate anomaly is refused (IE009)');
SELECT throws_ok($$SELECT erp.refresh_forecasts()$$, '42501', NULL, 'a partner may not refresh the forecasts');
SELECT throws_ok($$SELECT erp.import_demand('[{"sku": "BPR-A", "node": "BPR-3PL", "day": "2026-01-01", "qty": 1}]')$$, '42501', NULL,
    'nor import demand, not even for its own node');
RESET ROLE;
SELECT is((SELECT count(*) FROM erp.anomaly WHERE anomaly_id IN (SELECT anomaly_id FROM bpr_ids) AND status = 'open'), 3::bigint,
    'the refused closes changed nothing');
SELECT is((SELECT count(*) FROM erp.forecast_snapshot), (SELECT n FROM bpr_snap), 'the refused refresh stored nothing');

-- renamed, the role is still the 3PL's partner
ALTER ROLE bpr_partner RENAME TO bpr_partner_renamed;
SET LOCAL ROLE bpr_partner_renamed;
SELECT throws_ok($$SELECT * FROM erp.forecast('BPR-A', 'BPR-WEB', 'BPR-DC')$$, 'IE009', NULL, 'renamed, it is still refused the DC''s forecast');
SELECT is((SELECT array_agg(DISTINCT n.code) FROM erp.forecast_snapshot s JOIN erp.node n USING (node_id)), ARRAY['BPR-3PL'],
    'renamed, it still reads its node''s snapshots only');
SELECT lives_ok(format('SELECT erp.close_anomaly(%s, %L)', (SELECT anomaly_id FROM bpr_ids WHERE ref = 'count:bpr-BPR-3PL'), 'recounted'),
    'renamed, it closes its own node''s anomaly');
RESET ROLE;
SELECT is((SELECT closed_by::text FROM erp.anomaly WHERE anomaly_id = (SELECT anomaly_id FROM bpr_ids WHERE ref = 'count:bpr-BPR-3PL')),
    'bpr_partner_renamed', '... recorded under its current name');

-- a reader writes nothing
SET LOCAL ROLE bpr_reader;
SELECT throws_ok(x, '42501', NULL, 'a reader may not: ' || x)
  FROM unnest(ARRAY['SELECT erp.refresh_forecasts()',
                    'SELECT erp.import_demand(''[]'')',
                    'SELECT erp.detect_anomalies()',
                    format('SELECT erp.close_anomaly(%s)', (SELECT anomaly_id FROM bpr_ids WHERE ref = 'count:bpr-BPR-DC'))]) x;
RESET ROLE;
-- an approver (an operator who may approve) neither
CREATE ROLE bpr_approver;
GRANT erp_approver TO bpr_approver;
SET LOCAL ROLE bpr_approver;
SELECT throws_ok(x, '42501', NULL, 'an approver may not: ' || x)
  FROM unnest(ARRAY['SELECT erp.refresh_forecasts()', 'SELECT erp.import_demand(''[]'')']) x;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
