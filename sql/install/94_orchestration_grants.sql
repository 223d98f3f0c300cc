-- 94_orchestration_grants: administrators keep the channels' order rules (the functions
-- and the views are covered by 90_grants.sql).
GRANT INSERT, UPDATE, DELETE ON erp.channel_order_rules TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.customer, erp.price_list, erp.price_break TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.service_level, erp.node_cutoff TO erp_admin;
-- a storefront's reader login shows promise dates, as it shows erp.atp
GRANT EXECUTE ON FUNCTION erp.promise(text, bigint, text, jsonb, text, timestamptz),
                          erp.ship_time(bigint, timestamptz, integer) TO erp_reader;
