-- 92_forecast_grants: after 90_grants gave every function to erp_operator, the
-- forecasting functions that rewrite planning history (erp.refresh_forecasts,
-- erp.import_demand) are for erp_admin only; the read-only ones are for readers
-- too, and erp.replenishment's safety factor for whoever may read that view.
REVOKE EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) TO erp_admin;
GRANT EXECUTE ON FUNCTION erp.forecast(text, text, text, integer),
                          erp.forecast_series(double precision[], boolean[], integer) TO erp_reader;
GRANT EXECUTE ON FUNCTION erp.normal_quantile(double precision) TO PUBLIC;
