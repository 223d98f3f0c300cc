-- 93_valuation_grants: readers see the valuation (the views are covered by 90_grants.sql).
GRANT EXECUTE ON FUNCTION erp.verify_costs(), erp.inventory_value_at(timestamptz),
                          erp.age_bucket(integer) TO erp_reader;
