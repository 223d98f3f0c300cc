-- 92_breakplan_series_nan.sql (break-it pass on issue 15, helper breakplan).
-- erp.forecast_series refuses NaN and infinite demand (IE004), but finite
-- demand so large that the engine's sums overflow comes out as NaN or
-- Infinity in qty / hi: the level is the mean of the first days (1e308 + 1e308
-- = Infinity), and Infinity - Infinity = NaN from there on.  A caller that
-- stores or sums those rows (a what-if table, the reference check) gets NaN,
-- which numeric orders above every number.  Expected: finite output (or an
-- IE004 refusal of demand too large to forecast), never NaN or Infinity.
-- FAILS on the code as merged (c8cb77e): qty NaN and hi NaN for [1e308, 1e308];
-- hi Infinity for 60 days of 1e200 and for a Croston series of 1e300.
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE out_rows (series text, step int, qty numeric, lo numeric, hi numeric, model text);
CREATE FUNCTION pg_temp.try(series text, q float8[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO out_rows SELECT series, f.* FROM erp.forecast_series(q, NULL, 3) f;
EXCEPTION WHEN SQLSTATE 'IE004' THEN
    NULL;   -- refusing demand too large to forecast is a fine answer too
END $$;
SELECT pg_temp.try('two days of 1e308', ARRAY[1e308, 1e308]::float8[]);
SELECT pg_temp.try('60 days of 1e200', (SELECT array_agg(1e200::float8) FROM generate_series(1, 60)));
SELECT pg_temp.try('1e300 every other day', (SELECT array_agg(CASE WHEN i % 2 = 0 THEN 1e300 ELSE 0 END::float8) FROM generate_series(1, 8) i));

SELECT is_empty($$SELECT series, step, qty FROM out_rows WHERE qty = 'NaN' OR qty = 'Infinity'$$,
    'no forecast quantity is NaN or Infinity: [1e308, 1e308] gives qty NaN');
SELECT is_empty($$SELECT series, step, hi FROM out_rows WHERE hi = 'NaN' OR hi = 'Infinity' OR lo = 'NaN'$$,
    'no interval end is NaN or Infinity: 60 days of 1e200 give hi = Infinity');
SELECT is_empty($$SELECT series, step FROM out_rows WHERE NOT (lo <= qty AND qty <= hi)$$,
    'each returned forecast lies within its interval (NaN compares above everything)');
-- the refusal path of the engine itself still works
SELECT throws_ok($$SELECT * FROM erp.forecast_series(ARRAY[1, 'Infinity']::float8[])$$, 'IE004', NULL,
    'infinite demand is refused (IE004), as the documentation says');

SELECT * FROM finish();
ROLLBACK;
