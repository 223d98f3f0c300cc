-- 45_forecast.sql: the forecasting contract (SPEC section 11, doc/planning.md).
-- The engine on synthetic series with known answers (constant, linear trend,
-- weekly pattern, intermittent, stockout gap): each forecast within a stated
-- tolerance of the truth and the model chosen as expected; then the same engine
-- behind erp.forecast on imported and captured demand, stockout censoring from
-- the ledger, erp.refresh_forecasts, erp.kpi_forecast_accuracy and the
-- forecast columns of erp.replenishment; every refusal with its SQLSTATE and
-- proof that it changed nothing; and what a partner sees of it.
--
-- The "noise" of the synthetic series is deterministic: ((i * 37) % 11 - 5) * 0.4,
-- mean 0, between -2 and +2, period 11 (not a multiple of the week).
-- Master data uses codes starting with TAP45-; everything is rolled back.
BEGIN;
SELECT plan(72);

-- Signatures -------------------------------------------------------------------
SELECT has_function('erp', 'forecast', ARRAY['text', 'text', 'text', 'integer'],
    'erp.forecast(sku, channel, node, horizon_days) exists, or planners would have no forecast');
SELECT has_function('erp', 'import_demand', ARRAY['jsonb', 'text'],
    'erp.import_demand(lines) exists, or a legacy sales history could not be loaded');
SELECT function_returns('erp', 'refresh_forecasts', ARRAY['text'], 'integer',
    'erp.refresh_forecasts() returns how many series it forecast');
SELECT has_column('erp', 'stock_policy', 'service_level', 'erp.stock_policy has service_level');
SELECT ok(NOT has_function_privilege('erp_operator', 'erp.refresh_forecasts(text)', 'EXECUTE')
          AND has_function_privilege('erp_admin', 'erp.refresh_forecasts(text)', 'EXECUTE')
          AND NOT has_function_privilege('erp_operator', 'erp.import_demand(jsonb, text)', 'EXECUTE')
          AND has_function_privilege('erp_admin', 'erp.import_demand(jsonb, text)', 'EXECUTE'),
    'only erp_admin refreshes forecasts and imports demand, or any warehouse app could rewrite the planning history');
SELECT ok(has_function_privilege('erp_reader', 'erp.forecast(text, text, text, integer)', 'EXECUTE'),
    'readers may ask for a forecast, or BI could not show one');

-- Synthetic series -------------------------------------------------------------
CREATE FUNCTION pg_temp.series(kind text, n integer DEFAULT 120) RETURNS double precision[]
LANGUAGE sql AS $$
    SELECT array_agg(CASE kind
               WHEN 'constant' THEN 20
               WHEN 'trend' THEN 50 + 0.5 * i
               WHEN 'weekly' THEN 30 + (ARRAY[10, -5, -5, 0, 0, 5, -5])[1 + i % 7]
               WHEN 'gap' THEN CASE WHEN i > n - 14 THEN -20 ELSE 20 END END
           + ((i * 37) % 11 - 5) * 0.4 ORDER BY i)
      FROM generate_series(1, n) i
$$;
CREATE TEMP TABLE fc AS
SELECT 'constant' AS kind, f.* FROM erp.forecast_series(pg_temp.series('constant')) f
UNION ALL SELECT 'trend', f.* FROM erp.forecast_series(pg_temp.series('trend')) f
UNION ALL SELECT 'weekly', f.* FROM erp.forecast_series(pg_temp.series('weekly')) f
UNION ALL SELECT 'intermittent', f.* FROM erp.forecast_series(
    (SELECT array_agg(CASE WHEN i % 4 = 0 THEN 4 ELSE 0 END) FROM generate_series(1, 120) i)) f
-- a stockout over the last 14 days: sales 0 (the -20 + noise is clamped to 0), days censored
UNION ALL SELECT 'gap', f.* FROM erp.forecast_series(
    (SELECT array_agg(greatest(v, 0)) FROM unnest(pg_temp.series('gap')) v),
    (SELECT array_agg(i > 106) FROM generate_series(1, 120) i)) f
UNION ALL SELECT 'gap_uncensored', f.* FROM erp.forecast_series(
    (SELECT array_agg(greatest(v, 0)) FROM unnest(pg_temp.series('gap')) v)) f;

SELECT is((SELECT count(*) FROM fc WHERE kind = 'constant'), 28::bigint, 'the default horizon is 28 days');
SELECT is((SELECT DISTINCT model FROM fc WHERE kind = 'constant'), 'ses', 'a constant series gets simple exponential smoothing');
SELECT ok((SELECT bool_and(abs(qty - 20) <= 1) FROM fc WHERE kind = 'constant'),
    'a constant series of 20 is forecast at 20 +- 1 (5%) every day');
SELECT is((SELECT DISTINCT model FROM fc WHERE kind = 'trend'), 'damped_trend', 'a linear trend gets the damped trend model');
SELECT ok((SELECT bool_and(abs(qty - (50 + 0.5 * (120 + step))) <= 0.03 * (50 + 0.5 * (120 + step))) FROM fc WHERE kind = 'trend'),
    'a trend of +0.5 a day is followed within 3% over 28 days (the damping costs at most that)');
SELECT ok((SELECT abs(qty - 110.5) <= 1 FROM fc WHERE kind = 'trend' AND step = 1),
    'the next day of the trend is within 1 unit of 110.5');
SELECT is((SELECT DISTINCT model FROM fc WHERE kind = 'weekly'), 'weekly_seasonal', 'a weekly pattern gets the weekly seasonal model');
SELECT ok((SELECT bool_and(abs(qty - (30 + (ARRAY[10, -5, -5, 0, 0, 5, -5])[1 + (120 + step) % 7])) <= 1.5) FROM fc WHERE kind = 'weekly'),
    'each weekday of a weekly pattern (25 to 40) is forecast within 1.5 units, for four weeks');
SELECT is((SELECT DISTINCT model FROM fc WHERE kind = 'intermittent'), 'croston_sba', 'an intermittent series gets Croston/SBA');
SELECT ok((SELECT bool_and(abs(qty - 1) <= 0.1) FROM fc WHERE kind = 'intermittent'),
    '4 units every 4th day is forecast as 1 a day +- 0.1');
SELECT ok((SELECT bool_and(abs(qty - 20) <= 1) FROM fc WHERE kind = 'gap'),
    'a stockout of two weeks (zero sales, censored) does not pull the forecast down: 20 +- 1');
SELECT is((SELECT DISTINCT model FROM fc WHERE kind = 'gap'), 'ses', 'the constant series with a stockout gap still gets SES');
SELECT ok((SELECT bool_and(qty < 10) FROM fc WHERE kind = 'gap_uncensored'),
    'the same zeros taken as demand would pull it below 10: censoring is what keeps it');
SELECT ok((SELECT bool_and(lo <= qty AND qty <= hi AND lo >= 0) FROM fc),
    'every forecast lies inside its prediction interval, which never goes below 0');
SELECT ok((SELECT (SELECT hi - lo FROM fc WHERE kind = 'trend' AND step = 28) > (SELECT hi - lo FROM fc WHERE kind = 'trend' AND step = 1)),
    'the trend''s interval widens with the horizon');
SELECT ok((SELECT abs((hi - lo) / (2 * 1.96) - 1.26) < 0.3 FROM fc WHERE kind = 'constant' AND step = 1),
    'the one-day interval of the constant series is +- 1.96 sigma of its noise (sigma 1.26)');

-- Refusals of the engine --------------------------------------------------------
SELECT throws_ok($$SELECT * FROM erp.forecast_series(ARRAY[1, 2, 3]::float8[], NULL, 0)$$, 'IE004', NULL,
    'a horizon of 0 days is refused (IE004)');
SELECT throws_ok($$SELECT * FROM erp.forecast_series(ARRAY[1, 2, 3]::float8[], NULL, 367)$$, 'IE004', NULL,
    'a horizon beyond 366 days is refused (IE004)');
SELECT throws_ok($$SELECT * FROM erp.forecast_series(ARRAY[1, 'NaN', 3]::float8[])$$, 'IE004', NULL,
    'NaN demand is refused (IE004)');
SELECT throws_ok($$SELECT * FROM erp.forecast_series(ARRAY[1, 2, 3]::float8[], ARRAY[true])$$, 'IE004', NULL,
    'a censored array of another length is refused (IE004)');
SELECT is((SELECT array_agg(model) FROM erp.forecast_series(ARRAY[]::float8[], NULL, 2)), ARRAY['none', 'none'],
    'an empty series forecasts 0 with model none');
SELECT is(round(erp.normal_quantile(0.95)::numeric, 3), 1.645, 'the 95% service level has z = 1.645');
SELECT throws_ok($$SELECT erp.normal_quantile(1)$$, 'IE004', NULL, 'a service level of 1 is refused (IE004)');

-- Master data ------------------------------------------------------------------
INSERT INTO erp.node (code) VALUES ('TAP45-DC');
INSERT INTO erp.channel (code) VALUES ('TAP45-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'TAP45-WEB' AND n.code = 'TAP45-DC';
INSERT INTO erp.item (sku, category, unit_price) VALUES
    ('TAP45-A', 'TAP45-cat', 10), ('TAP45-B', 'TAP45-cat', 10), ('TAP45-K', 'TAP45-kpi', 10);
INSERT INTO erp.supplier (code) VALUES ('TAP45-SUP');

-- Imported demand ----------------------------------------------------------------
-- 10 weeks of a weekly pattern by ISO weekday (Monday 40 ... Sunday 25), ending yesterday
CREATE FUNCTION pg_temp.weekly(d date) RETURNS integer LANGUAGE sql AS $$
    SELECT 30 + (ARRAY[10, -5, -5, 0, 0, 5, -5])[extract(isodow FROM d)::int] $$;
SELECT is(erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'TAP45-A', 'channel', 'TAP45-WEB', 'node', 'TAP45-DC',
                                                                   'day', d::date, 'qty', pg_temp.weekly(d::date)))
                               FROM generate_series(CURRENT_DATE - 70, CURRENT_DATE - 1, interval '1 day') d)), 70,
    'erp.import_demand loads 70 days and says so');
SELECT is(erp.import_demand(jsonb_build_array(jsonb_build_object('sku', 'TAP45-A', 'channel', 'TAP45-WEB', 'node', 'TAP45-DC',
                                                                 'day', CURRENT_DATE - 1, 'qty', pg_temp.weekly(CURRENT_DATE - 1)))), 1,
    'importing a day again is accepted');
SELECT is((SELECT count(*) FROM erp.demand_import di JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP45-A'), 70::bigint,
    '... and replaces it instead of counting it twice');
SELECT is((SELECT sum(qty) FROM erp.demand_history WHERE sku = 'TAP45-A' AND channel = 'TAP45-WEB' AND node = 'TAP45-DC'),
          (SELECT sum(pg_temp.weekly(d::date)) FROM generate_series(CURRENT_DATE - 70, CURRENT_DATE - 1, interval '1 day') d)::numeric,
    'erp.demand_history holds the imported demand per sku, channel, node and day');

CREATE TEMP TABLE before_refusals AS SELECT count(*) AS n, sum(qty) AS q FROM erp.demand_import;
SELECT throws_ok($$SELECT erp.import_demand('[{"sku": "TAP45-A", "day": "2026-01-01", "qty": 1}, {"sku": "TAP45-NOPE", "day": "2026-01-01", "qty": 1}]')$$,
    'IE003', NULL, 'an unknown sku is refused (IE003)');
SELECT throws_ok($$SELECT erp.import_demand('[{"sku": "TAP45-A", "channel": "TAP45-NOPE", "day": "2026-01-01", "qty": 1}]')$$,
    'IE003', NULL, 'an unknown channel is refused (IE003)');
SELECT throws_ok(format($$SELECT erp.import_demand('[{"sku": "TAP45-A", "day": "%s", "qty": 1}]')$$, CURRENT_DATE + 1),
    'IE004', NULL, 'a day in the future is refused (IE004)');
SELECT throws_ok($$SELECT erp.import_demand('[{"sku": "TAP45-A", "day": "2026-01-01", "qty": -3}]')$$,
    'IE004', NULL, 'a negative quantity is refused (IE004)');
SELECT throws_ok($$SELECT erp.import_demand('{"sku": "TAP45-A"}')$$, 'IE004', NULL, 'lines that are not an array are refused (IE004)');
SELECT results_eq($$SELECT count(*), sum(qty) FROM erp.demand_import$$, $$SELECT n, q FROM before_refusals$$,
    'the refused imports changed nothing, not even their valid first lines');

-- erp.forecast on that history -------------------------------------------------------
CREATE TEMP TABLE fa AS SELECT * FROM erp.forecast('TAP45-A', horizon_days => 14);
SELECT is((SELECT min(day) FROM fa), CURRENT_DATE, 'the forecast starts today');
SELECT is((SELECT count(*) FROM fa), 14::bigint, 'one row per day of the horizon');
SELECT is((SELECT DISTINCT model FROM fa), 'weekly_seasonal', 'the weekly pattern of the history is recognised');
SELECT ok((SELECT bool_and(abs(qty - pg_temp.weekly(day)) <= 1) FROM fa),
    'each day is forecast within 1 unit of its weekday''s demand (25 to 40)');
SELECT results_eq($$SELECT day, qty FROM erp.forecast('TAP45-A', 'TAP45-WEB', 'TAP45-DC', 14)$$, $$SELECT day, qty FROM fa$$,
    'the only channel and node of the item give the same forecast as the item as a whole');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-NOPE')$$, 'IE003', NULL, 'an unknown sku is refused (IE003)');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-A', 'TAP45-NOPE')$$, 'IE003', NULL, 'an unknown channel is refused (IE003)');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-A', NULL, 'TAP45-NOPE')$$, 'IE003', NULL, 'an unknown node is refused (IE003)');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-A', horizon_days => 0)$$, 'IE004', NULL, 'a horizon of 0 is refused (IE004)');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-A', horizon_days => 400)$$, 'IE004', NULL, 'a horizon of 400 days is refused (IE004)');
SELECT is((SELECT array_agg(DISTINCT model) FROM erp.forecast('TAP45-B', horizon_days => 3)), ARRAY['none'],
    'an item without history is forecast at 0 (model none)');

-- Censoring from the ledger -----------------------------------------------------------
-- 5 units arrive today and an order takes all of them: available reached 0 today
SELECT lives_ok($$SELECT erp.receive('TAP45-B', 'TAP45-DC', 5)$$, 'stock of TAP45-B arrives');
SELECT lives_ok($$SELECT * FROM erp.allocate(erp.capture_order('TAP45-WEB', 'TAP45-O1', '[{"sku": "TAP45-B", "qty": 5}]'))$$,
    'an order takes all of it');
SELECT ok(EXISTS (SELECT 1 FROM erp.stockout_day z JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP45-B' AND z.day = CURRENT_DATE),
    'the day available reached 0 is a stockout day of the item at the node');
SELECT results_eq($$SELECT channel, node, qty, censored FROM erp.demand_history WHERE sku = 'TAP45-B'$$,
    $$VALUES ('TAP45-WEB', 'TAP45-DC', 5::bigint, true)$$,
    'the order''s demand is in the history at the node that holds it, and the day is marked censored');
SELECT is_empty($$SELECT 1 FROM erp.stockout_day z JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP45-A'$$,
    'an item whose stock never ran out has no stockout day');

-- Snapshots -------------------------------------------------------------------------
SELECT ok(erp.refresh_forecasts() >= 1, 'erp.refresh_forecasts forecasts the active series');
SELECT results_eq($$SELECT count(*), min(s.day), max(s.day), min(s.model), bool_and(s.channel_id IS NOT NULL AND s.node_id IS NOT NULL)
                      FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP45-A'$$,
    $$VALUES (28::bigint, CURRENT_DATE, CURRENT_DATE + 27, 'weekly_seasonal', true)$$,
    'TAP45-A''s series is stored for 28 days from today with its model, channel and node');
SELECT is_empty($$SELECT 1 FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP45-B'$$,
    'a series with no demand before today is not stored');

-- Accuracy ----------------------------------------------------------------------------
-- TAP45-K: 8 units asked each of the last 7 days; a refresh 10 days ago said 10 a day
SELECT is(erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'TAP45-K', 'channel', 'TAP45-WEB', 'node', 'TAP45-DC', 'day', d::date, 'qty', 8))
                               FROM generate_series(CURRENT_DATE - 7, CURRENT_DATE - 1, interval '1 day') d)), 7, 'a week of TAP45-K is imported');
INSERT INTO erp.forecast_snapshot (taken_at, item_id, channel_id, node_id, day, qty, lo, hi, sigma, model)
SELECT now() - interval '10 days', i.item_id, c.channel_id, n.node_id, d::date, 10, 5, 15, 2, 'ses'
  FROM erp.item i, erp.channel c, erp.node n, generate_series(CURRENT_DATE - 7, CURRENT_DATE - 1, interval '1 day') d
 WHERE i.sku = 'TAP45-K' AND c.code = 'TAP45-WEB' AND n.code = 'TAP45-DC';
SELECT results_eq($$SELECT channel, series_days, actual_units, forecast_units, wape, bias_pct
                      FROM erp.kpi_forecast_accuracy WHERE category = 'TAP45-kpi'$$,
    $$VALUES ('TAP45-WEB', 7::bigint, 56::bigint, 70.0, 25.0, 25.0)$$,
    'forecasting 10 where 8 came: WAPE 25% and bias +25% (runs hot)');

-- Replenishment from the forecast --------------------------------------------------
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, supplier_id)
SELECT i.item_id, n.node_id, 50, 150, 7, s.supplier_id FROM erp.item i, erp.node n, erp.supplier s
 WHERE i.sku = 'TAP45-A' AND n.code = 'TAP45-DC' AND s.code = 'TAP45-SUP';
SELECT results_eq($$SELECT service_level, fc_daily_demand, fc_safety_stock, fc_reorder_point, fc_suggested_qty
                      FROM erp.replenishment WHERE sku = 'TAP45-A'$$,
    $$VALUES (NULL::numeric, NULL::numeric, NULL::bigint, NULL::bigint, NULL::bigint)$$,
    'without a service level the forecast columns stay empty (the old rule only)');
CREATE TEMP TABLE old_rule AS SELECT sku, node, on_hand, available, inbound, backordered, avg_daily_demand, reorder_point,
       order_up_to, suggested_qty, days_of_cover, stockout_risk, lead_time_days FROM erp.replenishment WHERE sku = 'TAP45-A';
-- two purchase orders of TAP45-A, received 2 and 4 days late: LT = 7 + 3, sigma_LT = sqrt(2)
-- (the delay is elapsed time, seconds / 86400: set in hours, as '2 days' is 47 or 49 hours
-- across a DST change of the session's zone)
SELECT erp.receive_po(erp.create_po('TAP45-SUP', 'TAP45-DC', '[{"sku": "TAP45-A", "qty": 10, "unit_cost": 1}]', now() - interval '48 hours'));
SELECT erp.receive_po(erp.create_po('TAP45-SUP', 'TAP45-DC', '[{"sku": "TAP45-A", "qty": 10, "unit_cost": 1}]', now() - interval '96 hours'));
UPDATE erp.stock_policy SET service_level = 0.95
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP45-A');
CREATE TEMP TABLE expect AS
SELECT avg(qty) AS d, avg(sigma * sigma) AS var FROM
  (SELECT s.day, s.qty, s.sigma FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id)
    WHERE i.sku = 'TAP45-A' ORDER BY s.day LIMIT 10) x;
SELECT results_eq($$SELECT lead_time_mean, lead_time_sd, fc_daily_demand FROM erp.replenishment WHERE sku = 'TAP45-A'$$,
    $$SELECT 10.0, 1.4, round(d, 2) FROM expect$$,
    'lead time 7 + mean delay 3 days, its deviation sqrt(2) from the purchase orders, demand = the forecast over those 10 days');
SELECT results_eq($$SELECT fc_safety_stock, fc_reorder_point FROM erp.replenishment WHERE sku = 'TAP45-A'$$,
    $$SELECT ceil(erp.normal_quantile(0.95) * sqrt(10 * var + d * d * 2))::bigint,
             ceil(d * 10 + erp.normal_quantile(0.95) * sqrt(10 * var + d * d * 2))::bigint FROM expect$$,
    'SS = z * sqrt(LT sigma_d^2 + d^2 sigma_LT^2) and ROP = d LT + SS, at z(0.95)');
SELECT results_eq($$SELECT fc_suggested_qty FROM erp.replenishment WHERE sku = 'TAP45-A'$$,
    $$SELECT (r.fc_reorder_point + 100 - (r.available + r.inbound - r.backordered))::bigint
        FROM erp.replenishment r WHERE r.sku = 'TAP45-A'$$,
    'below the forecast reorder point the suggestion brings the position to it plus the policy''s order quantity (150 - 50)');
SELECT results_eq($$SELECT sku, node, on_hand - 20, available - 20, inbound, backordered, avg_daily_demand, reorder_point,
                           order_up_to, suggested_qty, days_of_cover, stockout_risk, lead_time_days
                      FROM erp.replenishment WHERE sku = 'TAP45-A'$$,
    $$SELECT sku, node, on_hand, available, inbound, backordered, avg_daily_demand, reorder_point,
             order_up_to, greatest(suggested_qty - 20, 0), days_of_cover, stockout_risk, lead_time_days FROM old_rule$$,
    'the old columns keep their meaning beside the new ones (only the 20 received units changed them)');

-- A retried refresh ------------------------------------------------------------------
CREATE TEMP TABLE snap_before AS SELECT count(*) AS n FROM erp.forecast_snapshot;
SELECT is(erp.refresh_forecasts(idempotency_key => 'tap45-refresh'), erp.refresh_forecasts(idempotency_key => 'tap45-refresh'),
    'a refresh retried with its idempotency key returns the first call''s count');
SELECT is((SELECT count(*) FROM erp.forecast_snapshot) - (SELECT n FROM snap_before),
          28::bigint * erp.refresh_forecasts(idempotency_key => 'tap45-refresh'),
    '... and stores the snapshots once, not twice');

-- A partner ------------------------------------------------------------------------
-- a 3PL with its own TAP45-A demand (5 a day); the partner sees that node only
INSERT INTO erp.node (code) VALUES ('TAP45-3PL');
SELECT is(erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'TAP45-A', 'channel', 'TAP45-WEB', 'node', 'TAP45-3PL', 'day', d::date, 'qty', 5))
                               FROM generate_series(CURRENT_DATE - 60, CURRENT_DATE - 1, interval '1 day') d)), 60,
    'the 3PL''s history of TAP45-A is imported');
CREATE ROLE tap45_partner;
GRANT erp_operator TO tap45_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap45_partner', node_id FROM erp.node WHERE code = 'TAP45-3PL';
SET LOCAL ROLE tap45_partner;
SELECT is((SELECT count(*) FROM erp.demand_import), 60::bigint,
    'a partner sees the imported demand of its node only, or other nodes'' sales would leak');
SELECT is((SELECT count(*) FROM erp.forecast_snapshot), 0::bigint,
    'a partner sees no forecast of other nodes');
SELECT throws_ok($$SELECT * FROM erp.forecast('TAP45-A', NULL, 'TAP45-DC')$$, 'IE009', NULL,
    'a partner asking for another node''s forecast is refused (IE009)');
SELECT ok((SELECT bool_and(abs(qty - 5) < 0.5) FROM erp.forecast('TAP45-A', horizon_days => 7)),
    'a partner''s forecast of the item is its own node''s demand (5 a day), not the business''s');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
