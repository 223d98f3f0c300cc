-- 99_grants_forecast: what sql/install/92_forecast_grants.sql gives, after 99_grants.sql
-- gave every new function to erp_operator.
REVOKE EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) TO erp_admin;
GRANT EXECUTE ON FUNCTION erp.forecast(text, text, text, integer),
                          erp.forecast_series(double precision[], boolean[], integer) TO erp_reader;
GRANT EXECUTE ON FUNCTION erp.normal_quantile(double precision) TO PUBLIC;
