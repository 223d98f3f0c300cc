-- 24-kit-nesting.sql (found by the break-it pass of issue 9): erp.item_component
-- accepts a kit as a component of another kit, and cycles (KIT-X contains
-- KIT-Y which contains KIT-X).  A kit holds no stock of its own and allocation
-- does not explode more than one level: an order of the outer kit goes short
-- forever although every leaf component is in stock (erp.atp says 0,
-- allocate_pending never fills it, erp.verify() is empty).  Expected: the
-- bill of materials refuses a kit component (IE010), or allocation explodes
-- it.  Actual (1ccb86a): accepted; the order is short with 10 of each leaf on hand.
-- (ledger2: the nesting is now refused, so OUTER stays a plain item without
-- stock and an order of it is rightly short: assertion 2 orders the one-level
-- kit INNER instead.  Assertion 3 tried INNER -> OUTER, a cycle only if the
-- refused OUTER -> INNER had been accepted; it now tries the cycle that is
-- possible, A -> INNER while INNER -> A exists.)
BEGIN;
SELECT plan(8);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK24-A', 1, 2), ('BRK24-B', 1, 2);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK24-INNER', 0, 5), ('BRK24-OUTER', 0, 9);
INSERT INTO erp.node (code, kind) VALUES ('BRK24-DC', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('BRK24-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'BRK24-WEB' AND n.code = 'BRK24-DC';
SELECT erp.receive('BRK24-A', 'BRK24-DC', 10), erp.receive('BRK24-B', 'BRK24-DC', 10);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
 WHERE (k.sku, c.sku) IN (('BRK24-INNER', 'BRK24-A'), ('BRK24-INNER', 'BRK24-B'));
CREATE FUNCTION pg_temp.boms() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(k.sku || '>' || i.sku || 'x' || c.qty, ',' ORDER BY k.sku, i.sku)
      FROM erp.item_component c JOIN erp.item k ON k.item_id = c.kit_item_id JOIN erp.item i ON i.item_id = c.component_item_id
     WHERE k.sku LIKE 'BRK24-%'
$$;

SELECT throws_ok($$INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
                   SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
                    WHERE k.sku = 'BRK24-OUTER' AND c.sku = 'BRK24-INNER'$$,
                 'IE010', 'item "BRK24-INNER" is a kit and cannot be a component of kit "BRK24-OUTER"',
                 'a kit cannot be a component of another kit');
SELECT throws_ok($$UPDATE erp.item_component SET component_item_id = (SELECT item_id FROM erp.item WHERE sku = 'BRK24-INNER')
                    WHERE component_item_id = (SELECT item_id FROM erp.item WHERE sku = 'BRK24-B')$$,
                 'IE010', NULL, 'nor can an UPDATE make a kit its own component');
-- an order of the kit: filled from its leaves
SELECT erp.capture_order('BRK24-WEB', 'BRK24-1', '[{"sku": "BRK24-INNER", "qty": 1}]') AS o \gset
SELECT count(*) FROM erp.allocate(:o);
SELECT isnt((SELECT status::text FROM erp.order_line WHERE order_id = :o), 'short',
            'no order line is short while every leaf component is in stock');
SELECT throws_ok($$INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
                   SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
                    WHERE k.sku = 'BRK24-A' AND c.sku = 'BRK24-INNER'$$,
                 'IE010', NULL, 'a bill of materials cannot contain itself (a cycle: INNER -> A -> INNER)');
SELECT throws_ok($$INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
                   SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
                    WHERE k.sku = 'BRK24-A' AND c.sku = 'BRK24-OUTER'$$,
                 'IE010', 'item "BRK24-A" is a component of kit "BRK24-INNER" and cannot become a kit',
                 'a component of a kit cannot become a kit (its kit would become a kit of kits)');
SELECT throws_ok($$INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
                   SELECT k.item_id, k.item_id, 1 FROM erp.item k WHERE k.sku = 'BRK24-OUTER'$$,
                 'IE010', 'kit "BRK24-OUTER" cannot be a component of itself',
                 'a kit cannot be its own component (IE010, not the check constraint''s 23514)');
SELECT is(pg_temp.boms(), 'BRK24-INNER>BRK24-Ax1,BRK24-INNER>BRK24-Bx1', 'the refused edits changed no bill of materials');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
