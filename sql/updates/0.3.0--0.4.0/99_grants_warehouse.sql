-- 99_grants_warehouse: as sql/install/95_warehouse_grants.sql, after 99_grants.sql.
GRANT INSERT, UPDATE, DELETE ON erp.bin TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.item_uom TO erp_admin;
-- erp.create_wave runs as its caller and records the wave
GRANT INSERT ON erp.wave, erp.wave_order TO erp_operator;
