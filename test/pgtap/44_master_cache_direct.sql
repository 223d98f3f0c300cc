-- 44_master_cache_direct.sql: the master-data cache's miss path (issue 10, speed).
-- On one node an item or its stock policies that a backend has not cached are read
-- by index scans of erp.item, erp.item_component and erp.stock_policy
-- (src/master_cache.c), not by an SQL statement.  What a caller sees must not
-- change: one scenario of master-data changes, each followed by the calls that
-- read the changed row again, runs once on the direct path and once on the SQL
-- path (inventory_erp.kernel_access = routed), and both must give exactly the
-- answers written below: a change made in one command is seen by the next (the
-- cache is dropped and the miss reads with a new snapshot after the command
-- counter advanced), a change rolled back is not, an unknown or too long sku is
-- refused, policies added, changed and removed count at once, a table renamed or
-- without its index is still read right, and a refused call leaves nothing behind.
--
-- Master data uses codes starting with TAP44- and is rolled back at the end.
BEGIN;
SELECT plan(4);

INSERT INTO erp.node (code, kind) VALUES ('TAP44-N1', 'warehouse'), ('TAP44-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP44-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('TAP44-N1', 1), ('TAP44-N2', 2)) v(n, rank)
  JOIN erp.channel c ON c.code = 'TAP44-WEB' JOIN erp.node n ON n.code = v.n;
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TAP44-A', 'plain', 1, 10),
    ('TAP44-B', 'component', 1, 3),
    ('TAP44-K', 'kit to be', 1, 30),
    ('TAP44-C', 'no stock', 1, 5),
    ('TAP44-P', 'with policies', 1, 2);
SELECT erp.receive('TAP44-A', 'TAP44-N1', 20);
SELECT erp.receive('TAP44-B', 'TAP44-N1', 10);
SELECT erp.receive('TAP44-P', 'TAP44-N1', 10);
SELECT erp.receive('TAP44-P', 'TAP44-N2', 4);

-- one order of one unit of sku: its rows (component rows for a kit) and the price
-- its line was given, or the SQLSTATE of its refusal (rolled back by the block)
CREATE FUNCTION pg_temp.order_one(ref text, sku text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    placed text;
BEGIN
    placed := (SELECT string_agg(format('%s %s %s %s', p.sku, coalesce(p.node, '-'), p.qty, p.line_status), ','
                                 ORDER BY p.line_no, p.sku, p.node)
                 FROM erp.place_order('TAP44-WEB', ref, jsonb_build_array(jsonb_build_object('sku', sku, 'qty', 1))) p);
    RETURN placed || ' price ' || coalesce((SELECT l.unit_price::text FROM erp.order_line l JOIN erp.sales_order o USING (order_id)
                                             WHERE o.external_ref = ref), '-');
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused ' || SQLSTATE;
END $$;

-- erp.atp of sku (at node, or over the channel's nodes), or the SQLSTATE of its refusal
CREATE FUNCTION pg_temp.atp(sku text, node text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN erp.atp(sku, node, 'TAP44-WEB')::text;
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused ' || SQLSTATE;
END $$;

-- The scenario: each change, then what the next calls answer.  Every change of
-- erp.item, erp.item_component or erp.stock_policy drops the backend's cached rows
-- of that table, so each call after a change is a miss.
CREATE FUNCTION pg_temp.scenario() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    inside text;
    captured bigint;
BEGIN
    RETURN NEXT 'first: ' || pg_temp.order_one('TAP44-1', 'TAP44-A');
    RETURN NEXT 'cached: ' || pg_temp.order_one('TAP44-2', 'TAP44-A');
    UPDATE erp.item SET unit_price = 11.5 WHERE sku = 'TAP44-A';
    RETURN NEXT 'repriced: ' || pg_temp.order_one('TAP44-3', 'TAP44-A');
    UPDATE erp.item SET sku = 'TAP44-A2' WHERE sku = 'TAP44-A';
    RETURN NEXT 'old sku after rename: ' || pg_temp.order_one('TAP44-4', 'TAP44-A');
    RETURN NEXT 'new sku after rename: ' || pg_temp.order_one('TAP44-5', 'TAP44-A2');
    UPDATE erp.item SET active = false WHERE sku = 'TAP44-A2';
    RETURN NEXT 'retired: ' || pg_temp.order_one('TAP44-6', 'TAP44-A2');
    UPDATE erp.item SET active = true WHERE sku = 'TAP44-A2';
    RETURN NEXT 'active again: ' || pg_temp.order_one('TAP44-7', 'TAP44-A2');

    -- a change rolled back (a subtransaction) is seen inside it, and not after it
    BEGIN
        UPDATE erp.item SET unit_price = 99 WHERE sku = 'TAP44-A2';
        inside := pg_temp.order_one('TAP44-8', 'TAP44-A2');
        RAISE EXCEPTION 'roll back';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN NEXT 'inside a rolled-back change: ' || inside;
    RETURN NEXT 'after it: ' || pg_temp.order_one('TAP44-8', 'TAP44-A2');

    -- made a kit after it was cached as a plain item
    RETURN NEXT 'plain: atp ' || pg_temp.atp('TAP44-K', 'TAP44-N1');
    INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
    SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP44-K' AND c.sku = 'TAP44-B';
    RETURN NEXT 'a kit: atp ' || pg_temp.atp('TAP44-K', 'TAP44-N1');
    RETURN NEXT 'a kit: ' || pg_temp.order_one('TAP44-9', 'TAP44-K');

    -- looked up by id (allocation of a captured order) after a change
    captured := erp.capture_order('TAP44-WEB', 'TAP44-10', '[{"sku": "TAP44-C", "qty": 2}]');
    UPDATE erp.item SET allow_backorder = true, sku = 'TAP44-C2' WHERE sku = 'TAP44-C';
    RETURN NEXT 'by id after a change: ' || (SELECT string_agg(format('%s %s %s %s', a.sku, a.line_status, a.qty_backordered, a.order_status), ',')
                                                FROM erp.allocate(captured) a);

    -- keys that do not exist
    RETURN NEXT 'unknown sku: ' || pg_temp.order_one('TAP44-11', 'TAP44-NONE');
    RETURN NEXT '200-byte sku: ' || pg_temp.order_one('TAP44-12', repeat('X', 200));
    RETURN NEXT '200-byte sku, atp: ' || pg_temp.atp(repeat('X', 200), 'TAP44-N1');

    -- stock policies added, changed, removed
    RETURN NEXT 'no policy: atp ' || pg_temp.atp('TAP44-P', 'TAP44-N1') || ' ' || pg_temp.atp('TAP44-P', NULL);
    INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point)
    SELECT i.item_id, n.node_id, 3, 5 FROM erp.item i, erp.node n WHERE i.sku = 'TAP44-P' AND n.code = 'TAP44-N1';
    RETURN NEXT 'policy at N1: atp ' || pg_temp.atp('TAP44-P', 'TAP44-N1') || ' ' || pg_temp.atp('TAP44-P', NULL);
    INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point)
    SELECT i.item_id, n.node_id, 1, 0 FROM erp.item i, erp.node n WHERE i.sku = 'TAP44-P' AND n.code = 'TAP44-N2';
    UPDATE erp.stock_policy SET safety_stock = 6
     WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP44-P')
       AND node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP44-N1');
    RETURN NEXT 'policies at N1 and N2, N1 changed: atp ' || pg_temp.atp('TAP44-P', 'TAP44-N1') || ' '
        || pg_temp.atp('TAP44-P', NULL);
    DELETE FROM erp.stock_policy WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP44-P');
    RETURN NEXT 'policies removed: atp ' || pg_temp.atp('TAP44-P', 'TAP44-N1') || ' ' || pg_temp.atp('TAP44-P', NULL);

    -- a list price a DBA allowed to be NULL: the same answer on both paths
    ALTER TABLE erp.item ALTER COLUMN unit_price DROP NOT NULL;
    UPDATE erp.item SET unit_price = NULL WHERE sku = 'TAP44-A2';
    RETURN NEXT 'no list price: ' || pg_temp.order_one('TAP44-13', 'TAP44-A2');

    -- a column of erp.item renamed: the direct path does not read it by its old
    -- place, the statement refuses as SQL would
    ALTER TABLE erp.item RENAME COLUMN allow_preorder TO tap44_preorder;
    RETURN NEXT 'a column renamed: ' || pg_temp.order_one('TAP44-14', 'TAP44-B');
    ALTER TABLE erp.item RENAME COLUMN tap44_preorder TO allow_preorder;
    RETURN NEXT 'its name back: ' || pg_temp.order_one('TAP44-14', 'TAP44-B');

    -- no index leads with kit_item_id any more: the kit is still found (through SQL
    -- on one node; a direct read of the dropped index would fail)
    ALTER TABLE erp.item_component DROP CONSTRAINT item_component_kit_item_id_component_item_id_key;
    RETURN NEXT 'kit index dropped: ' || pg_temp.order_one('TAP44-15', 'TAP44-K');

    -- what the calls wrote: the refused ones nothing
    RETURN NEXT 'orders: ' || (SELECT string_agg(format('%s %s', o.external_ref, o.status), ',' ORDER BY o.order_id)
                                 FROM erp.sales_order o WHERE o.external_ref LIKE 'TAP44-%');
END $$;

-- what both paths must answer, step by step
CREATE TEMP TABLE expected (n integer, line text);
INSERT INTO expected VALUES
    (1, 'first: TAP44-A TAP44-N1 1 allocated price 10.00'),
    (2, 'cached: TAP44-A TAP44-N1 1 allocated price 10.00'),
    (3, 'repriced: TAP44-A TAP44-N1 1 allocated price 11.50'),
    (4, 'old sku after rename: refused IE003'),
    (5, 'new sku after rename: TAP44-A2 TAP44-N1 1 allocated price 11.50'),
    (6, 'retired: refused IE010'),
    (7, 'active again: TAP44-A2 TAP44-N1 1 allocated price 11.50'),
    (8, 'inside a rolled-back change: TAP44-A2 TAP44-N1 1 allocated price 99.00'),
    (9, 'after it: TAP44-A2 TAP44-N1 1 allocated price 11.50'),
    (10, 'plain: atp 0'),
    (11, 'a kit: atp 5'),
    (12, 'a kit: TAP44-B TAP44-N1 2 allocated price 30.00'),
    (13, 'by id after a change: TAP44-C2 backordered 2 backordered'),
    (14, 'unknown sku: refused IE003'),
    (15, '200-byte sku: refused IE004'),
    (16, '200-byte sku, atp: refused IE004'),
    (17, 'no policy: atp 10 14'),
    (18, 'policy at N1: atp 7 11'),
    (19, 'policies at N1 and N2, N1 changed: atp 4 7'),
    (20, 'policies removed: atp 10 14'),
    (21, 'no list price: refused 22P02'),
    (22, 'a column renamed: refused 42703'),
    (23, 'its name back: TAP44-B TAP44-N1 1 allocated price 3.00'),
    (24, 'kit index dropped: TAP44-B TAP44-N1 2 allocated price 30.00'),
    (25, 'orders: TAP44-1 allocated,TAP44-2 allocated,TAP44-3 allocated,TAP44-5 allocated,TAP44-7 allocated,TAP44-8 allocated,TAP44-9 allocated,TAP44-10 backordered,TAP44-14 allocated,TAP44-15 allocated');

-- Each path runs in a subtransaction rolled back after it (pgTAP's own records
-- would be rolled back with it: the answers are kept in psql variables and
-- checked after).
SAVEPOINT before_scenario;
SET LOCAL inventory_erp.kernel_access = direct;
SELECT array_agg(s ORDER BY n) AS direct_answers FROM pg_temp.scenario() WITH ORDINALITY x(s, n) \gset
SELECT count(*) AS direct_verify FROM erp.verify() \gset
ROLLBACK TO SAVEPOINT before_scenario;

SET LOCAL inventory_erp.kernel_access = routed;
SELECT array_agg(s ORDER BY n) AS routed_answers FROM pg_temp.scenario() WITH ORDINALITY x(s, n) \gset
SELECT count(*) AS routed_verify FROM erp.verify() \gset
RESET inventory_erp.kernel_access;
ROLLBACK TO SAVEPOINT before_scenario;

SELECT results_eq(format('SELECT a FROM unnest(%L::text[]) WITH ORDINALITY u(a, n) ORDER BY n', :'direct_answers'),
    'SELECT line FROM expected ORDER BY n',
    'on one node (direct reads of a miss) every change is seen by the next call, a rolled-back one is not');
SELECT is(:direct_verify::bigint, 0::bigint, 'erp.verify() is empty after the direct path''s scenario');
SELECT results_eq(format('SELECT a FROM unnest(%L::text[]) WITH ORDINALITY u(a, n) ORDER BY n', :'routed_answers'),
    'SELECT line FROM expected ORDER BY n',
    'through SQL (routed) the same scenario gives the same answers');
SELECT is(:routed_verify::bigint, 0::bigint, 'erp.verify() is empty after the SQL path''s scenario');

SELECT * FROM finish();
ROLLBACK;
