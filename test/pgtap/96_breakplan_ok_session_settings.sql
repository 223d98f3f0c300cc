-- 96_breakplan_ok_session_settings.sql (break-it pass on issue 15, helper breakplan).
-- Session settings that change how dates and numbers are written did not
-- change what the planning functions record or return (HELD):
-- - detect_anomalies under DateStyle 'German, DMY', IntervalStyle
--   sql_standard and extra_float_digits 3 records refs in YYYY-MM-DD
--   (to_char, not the DateStyle), so a later run under ISO adds nothing;
-- - erp.forecast and erp.forecast_series return the same rows under those
--   settings as under the defaults;
-- - the day of erp.demand_history is the session's TimeZone's, as
--   documented: an order captured at 23:30 UTC is on the next day in
--   Asia/Tokyo, and the forecasts in both zones start on their own today.
BEGIN;
SELECT plan(7);

INSERT INTO erp.node (code) VALUES ('BPS-DC');
INSERT INTO erp.channel (code) VALUES ('BPS-WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE c.code = 'BPS-WEB' AND n.code = 'BPS-DC';
INSERT INTO erp.item (sku, unit_price) VALUES ('BPS-A', 10), ('BPS-T', 10);
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{}'
  FROM erp.node n, generate_series(1, 60) d WHERE n.code = 'BPS-DC' AND d % 5 = 0;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - interval '2 days', '{}' FROM erp.node n, generate_series(1, 8) e WHERE n.code = 'BPS-DC';
SELECT erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'BPS-A', 'day', CURRENT_DATE - d, 'qty', 10 + d % 7)) FROM generate_series(1, 70) d));
CREATE TEMP TABLE bps_default AS
SELECT 'forecast' AS what, day::text AS k, qty, lo, hi, model FROM erp.forecast('BPS-A', horizon_days => 10)
UNION ALL
SELECT 'series', step::text, qty, lo, hi, model FROM erp.forecast_series(ARRAY[1.5, 2.25, 3.125, 0, 7, 1e-9, 4]::float8[], NULL, 5);

SET LOCAL DateStyle = 'German, DMY';
SET LOCAL IntervalStyle = 'sql_standard';
SET LOCAL extra_float_digits = 3;
SELECT is(erp.detect_anomalies(), 1, 'under DateStyle German the burst two days ago is found');
SELECT is((SELECT ref FROM erp.anomaly a JOIN erp.node n USING (node_id) WHERE n.code = 'BPS-DC'),
    'pick_exceptions:BPS-DC:' || to_char(CURRENT_DATE - 2, 'YYYY-MM-DD'), '... with its day written YYYY-MM-DD');
SELECT results_eq($$SELECT 'forecast', day::text, qty, lo, hi, model FROM erp.forecast('BPS-A', horizon_days => 10)
                    UNION ALL
                    SELECT 'series', step::text, qty, lo, hi, model FROM erp.forecast_series(ARRAY[1.5, 2.25, 3.125, 0, 7, 1e-9, 4]::float8[], NULL, 5)$$,
    $$SELECT what, CASE what WHEN 'forecast' THEN to_char(k::date, 'DD.MM.YYYY') ELSE k END, qty, lo, hi, model FROM bps_default$$,
    'the forecasts are the same under DateStyle German and extra_float_digits 3');
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
SELECT is(erp.detect_anomalies(), 0, 'a run under DateStyle ISO adds the same burst again: no');

-- the day boundary follows TimeZone, as documented
SELECT erp.capture_order('BPS-WEB', 'BPS-T1', '[{"sku": "BPS-T", "qty": 3}]');
SET LOCAL session_replication_role = replica;
UPDATE erp.sales_order SET created_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '30 minutes'
 WHERE external_ref = 'BPS-T1';
SET LOCAL session_replication_role = origin;
SET LOCAL TimeZone = 'UTC';
SELECT is((SELECT day FROM erp.demand_history WHERE sku = 'BPS-T'), (now() AT TIME ZONE 'UTC')::date - 1,
    'captured at 23:30 UTC yesterday: yesterday in UTC');
SET LOCAL TimeZone = 'Asia/Tokyo';
-- 23:30 UTC the day before is 08:30 in Tokyo on UTC's today, whatever hour
-- the test runs at (after 15:00 UTC Tokyo is already a day further on)
SELECT is((SELECT day FROM erp.demand_history WHERE sku = 'BPS-T'), (now() AT TIME ZONE 'UTC')::date,
    '... and 08:30 in Tokyo on UTC''s today: that day there');
SELECT is((SELECT min(day) FROM erp.forecast('BPS-A', horizon_days => 3)), (now() AT TIME ZONE 'Asia/Tokyo')::date,
    'a forecast asked in Tokyo starts on Tokyo''s today');

SELECT * FROM finish();
ROLLBACK;
