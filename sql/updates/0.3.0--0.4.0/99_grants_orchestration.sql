-- 99_grants_orchestration: what sql/install/94_orchestration_grants.sql gives, after
-- 99_grants.sql gave every new function to erp_operator and every table to erp_reader.
GRANT INSERT, UPDATE, DELETE ON erp.channel_order_rules TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.customer, erp.price_list, erp.price_break TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.service_level, erp.node_cutoff TO erp_admin;
GRANT EXECUTE ON FUNCTION erp.promise(text, bigint, text, jsonb, text, timestamptz),
                          erp.ship_time(bigint, timestamptz, integer) TO erp_reader;
