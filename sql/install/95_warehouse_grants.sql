-- 95_warehouse_grants: administrators keep the bins (the functions and the reads
-- are granted by 90_grants.sql).
GRANT INSERT, UPDATE, DELETE ON erp.bin TO erp_admin;
