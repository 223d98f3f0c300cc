-- 94_breakplan_ok_engine_edges.sql (break-it pass on issue 15, helper breakplan).
-- Degenerate histories through the whole path (erp.import_demand ->
-- erp.demand_history -> erp.forecast and erp.refresh_forecasts ->
-- erp.forecast_snapshot) and through erp.forecast_series.  What HELD: every
-- row finite (no NaN, no Infinity), 0 <= lo <= qty <= hi, a known model name,
-- the same answer when asked twice, and the answers a planner would expect
-- for the plain cases (no history 0 with model none, all zero 0, a constant
-- of 1e9 a day 1e9, a spike long past 0, all days censored 0 with model none).
BEGIN;
SELECT plan(14);

INSERT INTO erp.item (sku) VALUES ('BPE-NONE'), ('BPE-ONE'), ('BPE-ZERO'), ('BPE-SPIKE'), ('BPE-ALT'), ('BPE-CONST'), ('BPE-LATE'), ('BPE-OLD');
CREATE FUNCTION pg_temp.load(sku text, days int, qty text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    EXECUTE format($q$SELECT erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', %L, 'day', CURRENT_DATE - d, 'qty', %s))
                                                  FROM generate_series(1, %s) d))$q$, sku, qty, days) INTO n;
    RETURN n;
END $$;
SELECT pg_temp.load('BPE-ONE', 1, '5');
SELECT pg_temp.load('BPE-ZERO', 90, '0');
SELECT pg_temp.load('BPE-SPIKE', 60, 'CASE WHEN d = 60 THEN 1000000000 ELSE 0 END');   -- 1e9 once, 60 days ago
SELECT pg_temp.load('BPE-ALT', 120, 'CASE WHEN d % 2 = 0 THEN 1000000000 ELSE 0 END');
SELECT pg_temp.load('BPE-CONST', 120, '1000000000');
SELECT pg_temp.load('BPE-LATE', 100, 'CASE WHEN d = 1 THEN 1000000000 ELSE 5 END');    -- the spike yesterday
-- history older than the 730 days a forecast reads
SELECT is(erp.import_demand(format('[{"sku": "BPE-OLD", "day": "%s", "qty": 50}]', CURRENT_DATE - 800)::jsonb), 1, 'a day 800 days back is imported');

CREATE TEMP TABLE fe AS
SELECT s.sku, f.* FROM unnest(ARRAY['BPE-NONE', 'BPE-ONE', 'BPE-ZERO', 'BPE-SPIKE', 'BPE-ALT', 'BPE-CONST', 'BPE-LATE', 'BPE-OLD']) s(sku),
       erp.forecast(s.sku, horizon_days => 60) f;
SELECT is((SELECT count(*) FROM fe), 480::bigint, 'every item has its 60 days');
SELECT is_empty($$SELECT sku, day FROM fe WHERE qty IN ('NaN', 'Infinity') OR lo IN ('NaN', 'Infinity') OR hi IN ('NaN', 'Infinity')$$,
    'no NaN or Infinity in any forecast');
SELECT is_empty($$SELECT sku, day, lo, qty, hi FROM fe WHERE NOT (0 <= lo AND lo <= qty AND qty <= hi)$$,
    '0 <= lo <= qty <= hi on every row');
SELECT is_empty($$SELECT sku, model FROM fe WHERE model NOT IN ('ses', 'damped_trend', 'weekly_seasonal', 'croston_sba', 'none')$$,
    'every model name is one of the five documented');
SELECT results_eq($$SELECT sku, day, qty, lo, hi, model FROM fe ORDER BY 1, 2$$,
    $$SELECT s.sku, f.* FROM unnest(ARRAY['BPE-NONE', 'BPE-ONE', 'BPE-ZERO', 'BPE-SPIKE', 'BPE-ALT', 'BPE-CONST', 'BPE-LATE', 'BPE-OLD']) s(sku),
             erp.forecast(s.sku, horizon_days => 60) f ORDER BY 1, 2$$,
    'asked again, every forecast is the same (model and numbers)');
SELECT results_eq($$SELECT sku, min(model), max(qty) FROM fe WHERE sku IN ('BPE-NONE', 'BPE-OLD', 'BPE-ZERO', 'BPE-CONST', 'BPE-SPIKE') GROUP BY sku ORDER BY sku$$,
    $$VALUES ('BPE-CONST', 'ses', 1000000000::numeric), ('BPE-NONE', 'none', 0), ('BPE-OLD', 'none', 0), ('BPE-SPIKE', 'damped_trend', 0), ('BPE-ZERO', 'ses', 0)$$,
    'no history, history older than 730 days: 0 (none); all zero: 0; 1e9 a day: 1e9; one spike 60 days ago then nothing: 0');
SELECT ok((SELECT min(qty) > 5 AND max(qty) < 1e9 FROM fe WHERE sku = 'BPE-LATE'),
    'a spike yesterday after 99 days of 5 lifts the forecast but does not make it the spike');

-- the same through the snapshots
SELECT ok(erp.refresh_forecasts() >= 5, 'the refresh takes the active series');
SELECT is_empty($$SELECT i.sku, s.day FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id)
                   WHERE i.sku LIKE 'BPE-%' AND NOT (0 <= s.lo AND s.lo <= s.qty AND s.qty <= s.hi AND s.sigma >= 0
                                                    AND s.hi < 'Infinity' AND s.sigma < 'Infinity')$$,
    'every stored row is finite with 0 <= lo <= qty <= hi and sigma >= 0');
SELECT is((SELECT array_agg(DISTINCT i.sku ORDER BY i.sku) FROM erp.forecast_snapshot s JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'BPE-%'),
    ARRAY['BPE-ALT', 'BPE-CONST', 'BPE-LATE', 'BPE-ONE', 'BPE-SPIKE'],
    'stored: the series with demand in the last 91 days (not the all-zero one, not the one 800 days old)');

-- the engine on arrays: all censored, one value, zeros
SELECT is((SELECT array_agg(DISTINCT model) FROM erp.forecast_series(ARRAY[3, 4, 5]::float8[], ARRAY[true, true, true], 5)), ARRAY['none'],
    'a series with every day censored forecasts with model none');
SELECT is((SELECT max(qty) FROM erp.forecast_series(ARRAY[3, 4, 5]::float8[], ARRAY[true, true, true], 5)), 0::numeric, '... and 0');
SELECT is((SELECT array_agg(DISTINCT model) FROM erp.forecast_series(ARRAY[NULL, NULL]::float8[], NULL, 2)), ARRAY['none'],
    'NULL days count as censored');

SELECT * FROM finish();
ROLLBACK;
