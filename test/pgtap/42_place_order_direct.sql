-- 42_place_order_direct.sql: erp.place_order's direct path (issue 10, speed).
-- On one node a new order of plain items is allocated before its rows exist and
-- its order, lines and reservations are then written once, as heap tuples with
-- their index entries (src/order_rows.c), instead of an INSERT, an UPDATE of the
-- statuses and an INSERT per reservation.  What a user sees must not change: the
-- same scenarios run once on the direct path and once on the SQL path
-- (inventory_erp.kernel_access = routed) must leave the same orders, lines,
-- reservations, ledger rows and events, and return the same rows.  Also: the
-- direct path really ran (no UPDATE of erp.sales_order), a refused call leaves
-- nothing behind, a redelivery is still a redelivery, and a table with a column
-- this module does not know is written through SQL.
--
-- Master data uses codes starting with TAP42- and is rolled back at the end.
BEGIN;
SELECT plan(14);

INSERT INTO erp.node (code, kind, latitude, longitude) VALUES
    ('TAP42-N1', 'warehouse', 53.55, 9.99), ('TAP42-N2', 'warehouse', 48.14, 11.58),
    ('TAP42-N3', 'warehouse', NULL, NULL);
INSERT INTO erp.channel (code, kind) VALUES ('TAP42-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('TAP42-N1', 1), ('TAP42-N2', 1), ('TAP42-N3', 2)) v(n, rank)
  JOIN erp.channel c ON c.code = 'TAP42-WEB' JOIN erp.node n ON n.code = v.n;
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder, lot_tracked) VALUES
    ('TAP42-A', 'plain', 1, 10, false, false),
    ('TAP42-B', 'backorderable', 1, 12.5, true, false),
    ('TAP42-C', 'scarce', 1, 3, false, false),
    ('TAP42-L', 'lots', 1, 7, false, true),
    ('TAP42-K', 'kit', 1, 30, false, false),
    ('TAP42-R', 'retired', 1, 1, false, false);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP42-K' AND c.sku = 'TAP42-A';
UPDATE erp.item SET active = false WHERE sku = 'TAP42-R';
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point)
SELECT i.item_id, n.node_id, 1, 4 FROM erp.item i, erp.node n WHERE i.sku = 'TAP42-A' AND n.code = 'TAP42-N2';
SELECT erp.receive('TAP42-A', 'TAP42-N1', 6);
SELECT erp.receive('TAP42-A', 'TAP42-N2', 20);
SELECT erp.receive('TAP42-B', 'TAP42-N3', 2);
SELECT erp.receive('TAP42-C', 'TAP42-N1', 1);
SELECT erp.receive('TAP42-C', 'TAP42-N2', 1);
SELECT erp.receive('TAP42-L', 'TAP42-N1', 3, lot => 'L-LATE', expires_on => current_date + 300);
SELECT erp.receive('TAP42-L', 'TAP42-N1', 2, lot => 'L-SOON', expires_on => current_date + 100);

CREATE TEMP TABLE mark AS SELECT max(event_id) AS event_id FROM erp.event;

-- every scenario's calls, their results as text
CREATE FUNCTION pg_temp.run() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(r, E'\n' ORDER BY n, r) FROM (
        SELECT v.n, format('%s %s %s %s %s %s %s %s %s %s', v.ref, p.created, p.line_no, p.sku, coalesce(p.node, '-'),
                           coalesce(p.lot, '-'), p.qty, p.line_status, p.qty_backordered,
                           p.qty_short || ' ' || p.order_status) AS r
          FROM (VALUES
                (1, 'TAP42-one-node', '[{"sku": "TAP42-A", "qty": 4}]'::jsonb, '{"lat": 48.1, "lon": 11.6}'::jsonb, 0),
                (2, 'TAP42-split', '[{"sku": "TAP42-A", "qty": 22}, {"sku": "TAP42-C", "qty": 2, "unit_price": 2.75}]', NULL, 5),
                (3, 'TAP42-backorder', '[{"sku": "TAP42-B", "qty": 5}]', NULL, 0),
                (4, 'TAP42-short', '[{"sku": "TAP42-C", "qty": 1}]', NULL, 0),
                (5, 'TAP42-lots', '[{"sku": "TAP42-L", "qty": 4}]', NULL, -3),
                (6, 'TAP42-kit', '[{"sku": "TAP42-K", "qty": 1}]', NULL, 0),
                (7, 'TAP42-one-node', '[{"sku": "TAP42-A", "qty": 4}]', '{"lat": 48.1, "lon": 11.6}', 0)
               ) v(n, ref, lines, ship_to, prio)
          CROSS JOIN LATERAL erp.place_order('TAP42-WEB', v.ref, v.lines, v.ship_to, v.prio) p) x $$;

-- everything the calls could have written, without ids and times
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(format('%s %s %s %s', o.external_ref, o.status, o.priority, coalesce(o.ship_to::text, '-')),
                           ',' ORDER BY o.external_ref)
           FROM erp.sales_order o WHERE o.external_ref LIKE 'TAP42-%'),
        (SELECT string_agg(format('%s/%s %s %s %s %s %s %s %s', o.external_ref, l.line_no, i.sku, l.qty, l.unit_price,
                                  l.qty_allocated, l.qty_backordered, l.qty_shipped, l.status),
                           ',' ORDER BY o.external_ref, l.line_no)
           FROM erp.order_line l JOIN erp.sales_order o USING (order_id) JOIN erp.item i USING (item_id)
          WHERE o.external_ref LIKE 'TAP42-%'),
        (SELECT string_agg(format('%s/%s %s %s %s %s %s %s', o.external_ref, r.line_no, i.sku, n.code,
                                  coalesce(t.lot_code, '-'), r.qty, r.qty_picked, r.qty_packed),
                           ',' ORDER BY o.external_ref, r.line_no, i.sku, n.code, t.lot_code)
           FROM erp.reservation r JOIN erp.sales_order o USING (order_id) JOIN erp.item i ON i.item_id = r.item_id
           JOIN erp.node n ON n.node_id = r.node_id LEFT JOIN erp.lot t ON t.item_id = r.item_id AND t.lot_id = r.lot_id
          WHERE o.external_ref LIKE 'TAP42-%'),
        (SELECT string_agg(format('%s %s %s %s %s %s', o.external_ref, i.sku, m.qty, m.from_state, m.to_state, m.event),
                           ',' ORDER BY o.external_ref, i.sku, m.to_state, m.qty)
           FROM erp.stock_move m JOIN erp.sales_order o ON m.ref = 'order:' || o.order_id
           JOIN erp.item i ON i.item_id = m.item_id WHERE o.external_ref LIKE 'TAP42-%'),
        (SELECT string_agg(format('%s %s %s', e.kind, coalesce(o.external_ref, '-'), e.payload - 'order_id'),
                           ',' ORDER BY e.kind, o.external_ref, e.payload::text)
           FROM erp.event e LEFT JOIN erp.sales_order o USING (order_id)
          WHERE e.event_id > (SELECT coalesce(max(event_id), 0) FROM pg_temp.mark)),
        (SELECT string_agg(format('%s %s %s', i.sku, b.state, b.qty), ',' ORDER BY i.sku, b.state)
           FROM (SELECT item_id, state, sum(qty) AS qty FROM erp.stock_balance GROUP BY 1, 2) b
           JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP42-%')) $$;

CREATE FUNCTION pg_temp.updates() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_updated('erp.sales_order'::regclass)
         + pg_stat_get_xact_tuples_updated('erp.order_line'::regclass) $$;

SAVEPOINT before_orders;
SELECT pg_temp.updates() AS updates_before \gset
SELECT pg_temp.run() AS direct_result \gset
SELECT is(pg_temp.updates() - :updates_before, 1::bigint,
    'the direct path ran: of the six new orders only the kit (SQL path) was updated after its insert (its line, short)');
SELECT pg_temp.books() AS direct_books \gset
ROLLBACK TO SAVEPOINT before_orders;

SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.updates() AS updates_before \gset
SELECT is(pg_temp.run(), :'direct_result',
    'place_order returns the same rows on the direct and the SQL path: one node, split, backorder, short, lots FEFO, kit, redelivery');
SELECT cmp_ok(pg_temp.updates() - :updates_before, '>=', 6::bigint,
    'the SQL path ran: its orders were inserted, then their lines'' numbers and statuses updated');
SELECT is(pg_temp.books(), :'direct_books',
    'the same orders, lines, reservations, ledger rows, events and balances on both paths');
RESET inventory_erp.kernel_access;
ROLLBACK TO SAVEPOINT before_orders;

-- the direct path's books, once more for the checks below
SELECT pg_temp.run() IS NOT NULL;
SELECT is((SELECT status::text FROM erp.sales_order WHERE external_ref = 'TAP42-split'), 'partially_allocated',
    'a split order that could not be filled is partially allocated as written');
SELECT is((SELECT string_agg(t.lot_code || ':' || r.qty, ',' ORDER BY t.lot_code)
             FROM erp.reservation r JOIN erp.lot t ON t.item_id = r.item_id AND t.lot_id = r.lot_id
            WHERE r.order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'TAP42-lots')),
    'L-LATE:2,L-SOON:2', 'lots first-expiry-first-out, one reservation row per lot');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref = 'TAP42-one-node'), 1::bigint,
    'a redelivery in the same transaction found the order the direct path wrote');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the direct path');

-- refused calls leave nothing
SELECT pg_temp.books() AS books_before \gset
SELECT throws_ok($$SELECT * FROM erp.place_order('TAP42-WEB', 'TAP42-retired', '[{"sku": "TAP42-A", "qty": 1}, {"sku": "TAP42-R", "qty": 1}]')$$,
    'IE010', NULL, 'a new order with a retired item is refused (IE010)');
SELECT throws_ok($$SELECT * FROM erp.place_order('TAP42-WEB', 'TAP42-one-node', '[{"sku": "TAP42-A", "qty": 5}]')$$,
    'IE010', NULL, 'a redelivery that asks for something else is refused (IE010)');
SELECT throws_ok($$SELECT * FROM erp.place_order('TAP42-WEB', 'TAP42-bad', '[{"sku": "TAP42-A", "qty": 0}]')$$,
    'IE004', NULL, 'a zero quantity is refused (IE004)');
SELECT is(pg_temp.books(), :'books_before', 'the refused calls changed nothing');

-- a column this module does not know: the SQL path writes the order, and fills it
SELECT erp.receive('TAP42-A', 'TAP42-N1', 5);
ALTER TABLE erp.sales_order ADD COLUMN tap42_note text DEFAULT 'set by default';
SELECT is((SELECT order_status::text FROM erp.place_order('TAP42-WEB', 'TAP42-new-column', '[{"sku": "TAP42-A", "qty": 1}]') LIMIT 1),
    'allocated', 'with an unknown column on erp.sales_order the order is still captured and allocated');
SELECT is((SELECT tap42_note FROM erp.sales_order WHERE external_ref = 'TAP42-new-column'), 'set by default',
    '... through SQL, which fills the unknown column''s default');

SELECT * FROM finish();
ROLLBACK;
