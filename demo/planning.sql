-- demo/planning.sql: the nightly planning jobs, run once the peak day is over
-- (scripts/demo.sh): today's forecast refresh, then anomaly detection over
-- the weeks of history (demo/history.sql) and the day.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET application_name = 'demo-planning';
SELECT erp.refresh_forecasts() AS series_refreshed;
SELECT erp.detect_anomalies() AS anomalies_found;
ANALYZE erp.forecast_snapshot;
