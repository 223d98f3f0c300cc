-- 94_breakdirect_column_types.sql: a column of erp.sales_order whose type a DBA
-- changed keeps what an order stores in it readable (issue 10, speed work;
-- src/order_rows.c).
--
-- The direct path decides that it may write the order tables when their
-- columns have the names it knows (ColumnsAre); it forms the tuple with the
-- datums of the types it expects.  A DBA who changes erp.sales_order.ship_to
-- to json or text (keeping key order, or free-form addresses) gets a table
-- with the same names and another type.  Then an order must either be refused
-- (as the SQL path refuses it: no implicit jsonb -> json/text assignment) or
-- be stored so that it reads back as the address given.  What must never
-- happen: the jsonb's binary form stored as the json or text value, which reads
-- back as "\x02" and breaks every later reader of the order.  Likewise a
-- column default a DBA changed (created_at) applies to new orders, as the SQL
-- path's INSERT applies it.
--
-- Master data uses codes starting with TAP94- and is rolled back at the end.
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code, kind) VALUES ('TAP94-N1', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP94-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP94-WEB' AND n.code = 'TAP94-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP94-A', 'plain', 1, 10);
SELECT erp.receive('TAP94-A', 'TAP94-N1', 100);

-- place_order of ref with an address; 'refused <sqlstate>' or what ship_to now holds, as text
CREATE FUNCTION pg_temp.place(ref text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    stored text;
BEGIN
    BEGIN
        PERFORM * FROM erp.place_order('TAP94-WEB', ref, '[{"sku": "TAP94-A", "qty": 1}]',
                                       '{"lat": 52.5, "lon": 13.4, "street": "Hauptstr. 1"}');
    EXCEPTION WHEN OTHERS THEN
        RETURN 'refused ' || SQLSTATE;
    END;
    EXECUTE 'SELECT ship_to::text FROM erp.sales_order WHERE external_ref = $1' INTO stored USING ref;
    RETURN stored;
END $$;

-- each DDL is undone before the assertions (a rollback would undo their records too)
SAVEPOINT s;
ALTER TABLE erp.sales_order ALTER COLUMN ship_to TYPE json;
SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.place('TAP94-json-sql') AS json_sql \gset
RESET inventory_erp.kernel_access;
SELECT pg_temp.place('TAP94-json') AS json_direct \gset
ROLLBACK TO SAVEPOINT s;
ALTER TABLE erp.sales_order ALTER COLUMN ship_to TYPE text;
SELECT pg_temp.place('TAP94-text') AS text_direct \gset
SELECT count(*) AS unreadable FROM erp.sales_order WHERE external_ref LIKE 'TAP94-%' AND ship_to NOT LIKE '{%' \gset
ROLLBACK TO SAVEPOINT s;

-- a column default a DBA changed: the SQL path's INSERT leaves created_at to it
ALTER TABLE erp.sales_order ALTER COLUMN created_at SET DEFAULT '2000-01-01 00:00:00+00';
ALTER TABLE erp.reservation ALTER COLUMN created_at SET DEFAULT '2000-01-01 00:00:00+00';
SET LOCAL inventory_erp.kernel_access = routed;
SELECT count(*) FROM erp.place_order('TAP94-WEB', 'TAP94-default-sql', '[{"sku": "TAP94-A", "qty": 1}]');
RESET inventory_erp.kernel_access;
SELECT count(*) FROM erp.place_order('TAP94-WEB', 'TAP94-default', '[{"sku": "TAP94-A", "qty": 1}]');
-- the days in UTC, the zone of the default: in the session's zone (the cluster's,
-- which is the machine's) 2000-01-01 00:00 UTC is 1999-12-31 west of Greenwich
SELECT string_agg(o.external_ref || ' ' || (o.created_at AT TIME ZONE 'UTC')::date || ' '
                  || (r.created_at AT TIME ZONE 'UTC')::date, ', ' ORDER BY o.external_ref) AS defaults
  FROM erp.sales_order o JOIN erp.reservation r USING (order_id) WHERE o.external_ref LIKE 'TAP94-default%' \gset
ROLLBACK TO SAVEPOINT s;

SELECT matches(:'json_sql'::text, '^(refused |\{"lat": 52.5)',
    'SQL path, ship_to json: the order is refused or its address reads back');
SELECT matches(:'json_direct'::text, '^(refused |\{"lat": 52.5)',
    'direct path, ship_to json: the order is refused or its address reads back (not the jsonb''s bytes)');
SELECT matches(:'text_direct'::text, '^(refused |\{"lat": 52.5)',
    'direct path, ship_to text: the order is refused or its address reads back (not the jsonb''s bytes)');
SELECT is(:unreadable::bigint, 0::bigint, 'no order holds an unreadable ship_to');
SELECT matches(:'defaults'::text, 'TAP94-default-sql 2000-01-01 2000-01-01$',
    'SQL path: created_at of the order and its reservation take the default a DBA set');
SELECT is(:'defaults'::text, 'TAP94-default 2000-01-01 2000-01-01, TAP94-default-sql 2000-01-01 2000-01-01',
    'direct path: the same defaults are applied (not the transaction''s start time)');

SELECT * FROM finish();
ROLLBACK;
