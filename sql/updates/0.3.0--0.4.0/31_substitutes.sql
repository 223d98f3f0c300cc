-- 31_substitutes: sql/install/28_substitutes.sql (substitutes, SPEC 12, issue 16 item 5), and
-- pg_dump keeps their rows as 99_dump.sql marks a fresh install's.
--@include sql/install/28_substitutes.sql

SELECT pg_catalog.pg_extension_config_dump('erp.item_substitute', '');
SELECT pg_catalog.pg_extension_config_dump('erp.order_line_substitution', '');
