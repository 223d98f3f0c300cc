-- 22_distribute (update): sql/install/22_distribute.sql, scale-out on Citus (doc/scaling.md).
--@include sql/install/22_distribute.sql

-- (a fresh install marks it in 99_dump.sql: pg_dump keeps its rows)
SELECT pg_catalog.pg_extension_config_dump('erp.citus_policy', '');
