-- 93_valuation_grants: readers see the valuation (the views are covered by 90_grants.sql).
GRANT EXECUTE ON FUNCTION erp.verify_costs(), erp.inventory_value_at(timestamptz),
                          erp.age_bucket(integer) TO erp_reader;
-- Posting costs outside a move (a landed-cost bill, a refurbishment's cost) is
-- finance's: administrators only; 90_grants gave every function to erp_operator,
-- which partners are members of.
REVOKE EXECUTE ON FUNCTION erp.add_landed_cost(bigint, text, numeric, text),
                           erp.add_refurbishment_cost(text, text, numeric, text) FROM PUBLIC, erp_operator;
GRANT EXECUTE ON FUNCTION erp.add_landed_cost(bigint, text, numeric, text),
                          erp.add_refurbishment_cost(text, text, numeric, text) TO erp_admin;
