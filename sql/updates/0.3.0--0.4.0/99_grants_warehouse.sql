-- 99_grants_warehouse: as sql/install/95_warehouse_grants.sql, after 99_grants.sql.
GRANT INSERT, UPDATE, DELETE ON erp.bin TO erp_admin;
