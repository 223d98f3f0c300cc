-- 29_warehouse (issue 16): sql/install/26_warehouse.sql, then what 99_dump.sql marks for pg_dump.
--@include sql/install/26_warehouse.sql

SELECT pg_catalog.pg_extension_config_dump('erp.bin', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('erp.bin', 'bin_id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('erp.wave', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('erp.wave', 'wave_id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('erp.wave_order', '');
SELECT pg_catalog.pg_extension_config_dump('erp.item_uom', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('erp.item_uom', 'item_uom_id')::regclass, '');
