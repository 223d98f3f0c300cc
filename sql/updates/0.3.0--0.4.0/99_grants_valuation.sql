-- 99_grants_valuation: what sql/install/93_valuation_grants.sql gives, after 99_grants.sql
-- gave every new function to erp_operator.
GRANT EXECUTE ON FUNCTION erp.verify_costs(), erp.inventory_value_at(timestamptz),
                          erp.age_bucket(integer) TO erp_reader;
REVOKE EXECUTE ON FUNCTION erp.add_landed_cost(bigint, text, numeric, text),
                           erp.add_refurbishment_cost(text, text, numeric, text) FROM PUBLIC, erp_operator;
GRANT EXECUTE ON FUNCTION erp.add_landed_cost(bigint, text, numeric, text),
                          erp.add_refurbishment_cost(text, text, numeric, text) TO erp_admin;
