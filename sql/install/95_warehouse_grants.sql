-- 95_warehouse_grants: administrators keep the bins (the functions and the reads
-- are granted by 90_grants.sql).
GRANT INSERT, UPDATE, DELETE ON erp.bin TO erp_admin;
GRANT INSERT, UPDATE, DELETE ON erp.item_uom TO erp_admin;
-- erp.create_wave runs as its caller and records the wave
GRANT INSERT ON erp.wave, erp.wave_order TO erp_operator;
