-- 43_order_line_backordered_idx.sql: erp.order_line's index by item covers the
-- backordered lines only (issue 10: an order written allocated touches no page chosen
-- by its item there).  What must not change: the readers that look for backorders of
-- an item find them (a purchase order's delay names the orders at risk,
-- erp.kpi_backorder_exposure), the line updates of allocation stay HOT, and an item
-- that any order line names still cannot be deleted (IE010), whatever the line's state:
-- open and never allocated, short, backordered, or allocated as a kit (a kit has no
-- ledger rows of its own), with nothing changed by the refusal.  An item that nothing
-- names can still be deleted.
--
-- Master data uses codes starting with TAP43- and is rolled back at the end.
BEGIN;
SELECT plan(15);

INSERT INTO erp.node (code, kind) VALUES ('TAP43-DC', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('TAP43-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'TAP43-WEB' AND n.code = 'TAP43-DC';
INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP43-STOCKED', 1, 10, false),   -- placed and allocated
    ('TAP43-OPEN', 1, 10, false),      -- captured, never allocated
    ('TAP43-SHORT', 1, 10, false),     -- no stock, no backorders: short
    ('TAP43-BACK', 1, 10, true),       -- no stock, backorders allowed
    ('TAP43-PART', 1, 10, false),      -- a kit component
    ('TAP43-KIT', 0, 25, false),       -- a kit, its line allocated
    ('TAP43-UNUSED', 1, 10, false);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP43-KIT' AND c.sku = 'TAP43-PART';
SELECT erp.receive('TAP43-STOCKED', 'TAP43-DC', 10), erp.receive('TAP43-PART', 'TAP43-DC', 10);

-- the index: partial over the backordered lines, and no other index of the lines leads with the item
SELECT is(pg_get_indexdef('erp.order_line_backordered_idx'::regclass),
          'CREATE INDEX order_line_backordered_idx ON erp.order_line USING btree (item_id) WHERE (qty_backordered > 0)',
          'erp.order_line''s index by item covers the backordered lines only');
SELECT is((SELECT count(*)::int FROM pg_index i
            WHERE i.indrelid = 'erp.order_line'::regclass
              AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'erp.order_line'::regclass AND attname = 'item_id')
              AND i.indpred IS NULL),
          0, 'no index of erp.order_line over every line leads with item_id, or every placed line would pay its entry');

SELECT count(*) FROM erp.place_order('TAP43-WEB', 'TAP43-1', '[{"sku": "TAP43-STOCKED", "qty": 3}]');
CREATE TEMP TABLE tap43_open AS SELECT erp.capture_order('TAP43-WEB', 'TAP43-2', '[{"sku": "TAP43-OPEN", "qty": 1}]') AS o;
SELECT count(*) FROM erp.place_order('TAP43-WEB', 'TAP43-3', '[{"sku": "TAP43-SHORT", "qty": 2}]');
SELECT count(*) FROM erp.place_order('TAP43-WEB', 'TAP43-4', '[{"sku": "TAP43-BACK", "qty": 4}]');
SELECT count(*) FROM erp.place_order('TAP43-WEB', 'TAP43-5', '[{"sku": "TAP43-KIT", "qty": 1}]');

SELECT is((SELECT string_agg(i.sku || ':' || l.status || ':' || l.qty_allocated || '/' || l.qty_backordered, ',' ORDER BY i.sku)
             FROM erp.order_line l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP43-%'),
          'TAP43-BACK:backordered:0/4,TAP43-KIT:allocated:1/0,TAP43-OPEN:open:0/0,TAP43-SHORT:short:0/0,TAP43-STOCKED:allocated:3/0',
          'the lines stand as the test needs: one allocated, one open, one short, one backordered, one kit allocated');

-- the readers of backorders by item
SET LOCAL enable_seqscan = off;
SELECT is((SELECT string_agg(sku || ':' || units_backordered, ',') FROM erp.kpi_backorder_exposure WHERE sku LIKE 'TAP43-%'),
          'TAP43-BACK:4', 'erp.kpi_backorder_exposure finds the backordered line and only it (sequential scans discouraged: the partial index serves its filter)');
RESET enable_seqscan;

-- a line update of allocation is still HOT: the predicate's column does not change
CREATE TEMP TABLE tap43_hot AS
SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'erp.order_line'::regclass;
SELECT erp.receive('TAP43-OPEN', 'TAP43-DC', 1);
SELECT count(*) FROM tap43_open, LATERAL erp.allocate(o);
SELECT is((SELECT l.status::text || ':' || l.qty_allocated FROM erp.order_line l JOIN tap43_open t ON t.o = l.order_id),
          'allocated:1', 'the open line is allocated');
SELECT cmp_ok((SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'erp.order_line'::regclass),
              '>', (SELECT COALESCE(n_tup_hot_upd, 0) FROM tap43_hot),
              'the allocation''s line update was HOT (qty_backordered, the index predicate''s column, did not change)');

-- the item-deletion guard
CREATE FUNCTION pg_temp.items() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(sku, ',' ORDER BY sku) FROM erp.item WHERE sku LIKE 'TAP43-%'
$$;
CREATE TEMP TABLE tap43_before AS SELECT pg_temp.items() AS s,
    (SELECT count(*) FROM erp.order_line) AS lines, (SELECT count(*) FROM erp.stock_move) AS moves;
-- a second open line whose item has no ledger row at all
SELECT erp.capture_order('TAP43-WEB', 'TAP43-6', '[{"sku": "TAP43-UNUSED", "qty": 1}]') IS NOT NULL AS captured
  INTO TEMP tap43_open2;
UPDATE tap43_before SET lines = lines + 1;
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-UNUSED'$$, 'IE010', NULL,
    'an item named only by an open line that was never allocated (no ledger row, not backordered) cannot be deleted');
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-SHORT'$$, 'IE010', NULL,
    'nor an item named only by a short line');
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-BACK'$$, 'IE010', NULL,
    'nor an item named only by a backordered line');
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-KIT'$$, 'IE010', NULL,
    'nor a kit whose allocated line holds its components (the kit itself has no ledger rows)');
SELECT throws_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-STOCKED'$$, 'IE010', NULL,
    'nor an item with ledger rows');
SELECT is(pg_temp.items() || ' ' || (SELECT count(*) FROM erp.order_line) || ' ' || (SELECT count(*) FROM erp.stock_move),
          (SELECT s || ' ' || lines || ' ' || moves FROM tap43_before),
          'the refused deletions changed nothing');
INSERT INTO erp.item (sku) VALUES ('TAP43-NEVER');
SELECT lives_ok($$DELETE FROM erp.item WHERE sku = 'TAP43-NEVER'$$, 'an item that nothing names can still be deleted');
SELECT is((SELECT count(*)::int FROM erp.item WHERE sku = 'TAP43-NEVER'), 0, 'and is gone');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'the books are consistent');

SELECT * FROM finish();
ROLLBACK;
