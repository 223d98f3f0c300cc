-- 99_breakdirect_ok_values.sql: edge values written by erp.place_order's direct
-- path are what the SQL path writes (issue 10, speed work; src/order_rows.c).
--
-- The same calls run once on the direct path and once on the SQL path
-- (inventory_erp.kernel_access = routed); their result rows and everything they
-- wrote (orders, lines, reservations, ledger, events, balances) must be equal:
--   - ship_to near the 4,096-byte limit (stored out of line, TOAST) and one past it;
--   - positions on the edges: the poles, the date line, 0/0, an exponent, -0;
--   - prices 0, 0.00, 1., 007.10, 1e3, 999999999999.99, the item's own price, and
--     refused ones (0.005, 1000000000000.00);
--   - a 1,000-line order (the line limit) and a 1,001-line one (refused);
--   - lot-tracked items with min_shelf_life (a lot too close to expiry is skipped);
--   - allow_backorder with partial stock, and no stock at all;
-- and each order redelivered: created false, nothing more held.
--
-- Master data uses codes starting with TAP99- and is rolled back at the end.
BEGIN;
SELECT plan(8);

INSERT INTO erp.node (code, kind, latitude, longitude) VALUES
    ('TAP99-N1', 'warehouse', 89.9, 179.9), ('TAP99-N2', 'warehouse', -89.9, -179.9), ('TAP99-N3', 'warehouse', 0, 0);
INSERT INTO erp.channel (code, kind) VALUES ('TAP99-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP99-WEB' AND n.code LIKE 'TAP99-%';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder, lot_tracked, min_shelf_life_days) VALUES
    ('TAP99-A', 'plain', 1, 999999999999.99, false, false, 0),
    ('TAP99-Z', 'free', 0, 0, false, false, 0),
    ('TAP99-B', 'backorderable', 1, 12.5, true, false, 0),
    ('TAP99-NONE', 'backorderable, none in stock', 1, 3.33, true, false, 0),
    ('TAP99-L', 'lots, 30 days shelf life', 1, 7, false, true, 30);
SELECT erp.receive('TAP99-A', 'TAP99-N1', 600);
SELECT erp.receive('TAP99-A', 'TAP99-N2', 600);
SELECT erp.receive('TAP99-A', 'TAP99-N3', 5);
SELECT erp.receive('TAP99-Z', 'TAP99-N3', 10);
SELECT erp.receive('TAP99-B', 'TAP99-N2', 3);
SELECT erp.receive('TAP99-L', 'TAP99-N1', 5, lot => 'L-SHORT', expires_on => current_date + 10);
SELECT erp.receive('TAP99-L', 'TAP99-N1', 4, lot => 'L-OK', expires_on => current_date + 40);
SELECT erp.receive('TAP99-L', 'TAP99-N2', 4, lot => 'L-LONG', expires_on => current_date + 400);

CREATE TEMP TABLE mark AS SELECT max(event_id) AS event_id FROM erp.event;
-- an address of n bytes of little-compressible text, with a position
CREATE FUNCTION pg_temp.address(n integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('lat', 52.5, 'lon', 13.4, 'note',
        left(string_agg(md5(g::text), '' ORDER BY g), n - 60))
      FROM generate_series(1, n / 32 + 1) g $$;
CREATE FUNCTION pg_temp.many(n integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('sku', 'TAP99-A', 'qty', 1 + g % 2)) FROM generate_series(1, n) g $$;

CREATE TABLE pg_temp.calls (n int, ref text, lines jsonb, ship_to jsonb, prio int);
INSERT INTO pg_temp.calls VALUES
    (1, 'TAP99-big-address', '[{"sku": "TAP99-A", "qty": 1}]', pg_temp.address(4090), 0),
    (2, 'TAP99-north', '[{"sku": "TAP99-A", "qty": 2}]', '{"lat": 90, "lon": 180}', 0),
    (3, 'TAP99-south', '[{"sku": "TAP99-A", "qty": 2}]', '{"lat": -90, "lon": -180}', 0),
    (4, 'TAP99-null-island', '[{"sku": "TAP99-A", "qty": 2}]', '{"lat": 0, "lon": -0}', 0),
    (5, 'TAP99-exponent', '[{"sku": "TAP99-A", "qty": 2}]', '{"lat": -8.99e1, "lon": 1.799E2}', 0),
    (6, 'TAP99-prices', '[{"sku": "TAP99-A", "qty": 1, "unit_price": 0}, {"sku": "TAP99-A", "qty": 1, "unit_price": "0.00"},
                          {"sku": "TAP99-A", "qty": 1, "unit_price": "1."}, {"sku": "TAP99-A", "qty": 1, "unit_price": "007.10"},
                          {"sku": "TAP99-A", "qty": 1, "unit_price": 999999999999.99}, {"sku": "TAP99-A", "qty": 1},
                          {"sku": "TAP99-Z", "qty": 1}, {"sku": "TAP99-A", "qty": 1, "unit_price": 1e3}]', NULL, 0),
    (7, 'TAP99-thousand', pg_temp.many(1000), NULL, 1000),
    (8, 'TAP99-lots', '[{"sku": "TAP99-L", "qty": 6}]', NULL, 0),
    (9, 'TAP99-backorder-partial', '[{"sku": "TAP99-B", "qty": 5}, {"sku": "TAP99-NONE", "qty": 2}]', NULL, -1000),
    (10, 'TAP99-thousand', pg_temp.many(1000), NULL, 1000),
    (11, 'TAP99-prices', '[{"sku": "TAP99-A", "qty": 1, "unit_price": 0}, {"sku": "TAP99-A", "qty": 1, "unit_price": "0.00"},
                          {"sku": "TAP99-A", "qty": 1, "unit_price": "1."}, {"sku": "TAP99-A", "qty": 1, "unit_price": "007.10"},
                          {"sku": "TAP99-A", "qty": 1, "unit_price": 999999999999.99}, {"sku": "TAP99-A", "qty": 1},
                          {"sku": "TAP99-Z", "qty": 1}, {"sku": "TAP99-A", "qty": 1, "unit_price": 1e3}]', NULL, 0),
    (12, 'TAP99-big-address', '[{"sku": "TAP99-A", "qty": 1}]', pg_temp.address(4090), 0);

-- every call, its rows as text (the order id replaced by the call's ref)
CREATE FUNCTION pg_temp.run() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(r, E'\n' ORDER BY n, r) FROM (
        SELECT c.n, concat_ws(' ', c.ref, p.created, p.line_no, p.sku, coalesce(p.node, '-'), coalesce(p.lot, '-'), p.qty,
                              p.line_status, p.qty_backordered, p.qty_short, p.order_status) AS r
          FROM pg_temp.calls c CROSS JOIN LATERAL erp.place_order('TAP99-WEB', c.ref, c.lines, c.ship_to, c.prio) p) x $$;

-- everything the calls could have written, without ids and times
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(format('%s %s %s %s', o.external_ref, o.status, o.priority, md5(coalesce(o.ship_to::text, '-'))),
                           ',' ORDER BY o.external_ref)
           FROM erp.sales_order o WHERE o.external_ref LIKE 'TAP99-%'),
        (SELECT string_agg(format('%s/%s %s %s %s %s %s %s %s', o.external_ref, l.line_no, i.sku, l.qty, l.unit_price,
                                  l.qty_allocated, l.qty_backordered, l.qty_shipped, l.status),
                           ',' ORDER BY o.external_ref, l.line_no)
           FROM erp.order_line l JOIN erp.sales_order o USING (order_id) JOIN erp.item i USING (item_id)
          WHERE o.external_ref LIKE 'TAP99-%'),
        (SELECT string_agg(format('%s/%s %s %s %s %s %s %s', o.external_ref, r.line_no, i.sku, n.code,
                                  coalesce(t.lot_code, '-'), r.qty, r.qty_picked, r.qty_packed),
                           ',' ORDER BY o.external_ref, r.line_no, i.sku, n.code, t.lot_code)
           FROM erp.reservation r JOIN erp.sales_order o USING (order_id) JOIN erp.item i ON i.item_id = r.item_id
           JOIN erp.node n ON n.node_id = r.node_id LEFT JOIN erp.lot t ON t.item_id = r.item_id AND t.lot_id = r.lot_id
          WHERE o.external_ref LIKE 'TAP99-%'),
        (SELECT string_agg(format('%s %s %s %s %s %s', o.external_ref, i.sku, m.qty, m.from_state, m.to_state, m.event),
                           ',' ORDER BY o.external_ref, i.sku, m.to_state, m.qty)
           FROM erp.stock_move m JOIN erp.sales_order o ON m.ref = 'order:' || o.order_id
           JOIN erp.item i ON i.item_id = m.item_id WHERE o.external_ref LIKE 'TAP99-%'),
        (SELECT string_agg(format('%s %s %s', e.kind, coalesce(o.external_ref, '-'), e.payload - 'order_id'),
                           ',' ORDER BY e.kind, o.external_ref, e.payload::text)
           FROM erp.event e LEFT JOIN erp.sales_order o USING (order_id)
          WHERE e.event_id > (SELECT coalesce(max(event_id), 0) FROM pg_temp.mark)),
        (SELECT string_agg(format('%s %s %s', i.sku, b.state, b.qty), ',' ORDER BY i.sku, b.state)
           FROM (SELECT item_id, state, sum(qty) AS qty FROM erp.stock_balance GROUP BY 1, 2) b
           JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP99-%')) $$;

CREATE FUNCTION pg_temp.updates() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_updated('erp.sales_order'::regclass)
         + pg_stat_get_xact_tuples_updated('erp.order_line'::regclass) $$;

SAVEPOINT before_orders;
SELECT pg_temp.updates() AS updates_before \gset
SELECT pg_temp.run() AS direct_result \gset
SELECT pg_temp.updates() - :updates_before AS direct_updates \gset
SELECT pg_temp.books() AS direct_books \gset
SELECT count(*) AS direct_problems FROM erp.verify() \gset
SELECT (SELECT pg_column_size(ship_to) FROM erp.sales_order WHERE external_ref = 'TAP99-big-address') AS big_size \gset
ROLLBACK TO SAVEPOINT before_orders;

SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.run() AS sql_result \gset
SELECT pg_temp.books() AS sql_books \gset
RESET inventory_erp.kernel_access;
ROLLBACK TO SAVEPOINT before_orders;

SELECT is(:direct_updates::bigint, 0::bigint, 'the direct path wrote every new order (no UPDATE of an order or line)');
SELECT is(:'direct_result'::text, :'sql_result'::text,
    'place_order returns the same rows on both paths: big ship_to, edge positions, prices, 1,000 lines, lots, backorders, redeliveries');
SELECT is(:'direct_books'::text, :'sql_books'::text, 'the same orders, lines, reservations, ledger, events and balances on both paths');
SELECT is(:direct_problems::bigint, 0::bigint, 'erp.verify() is empty after the direct path');
SELECT cmp_ok(:big_size::int, '>', 2000, 'the big address was stored whole (and out of line)');

CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT is(concat_ws(' ',
        pg_temp.try($$SELECT * FROM erp.place_order('TAP99-WEB', 'TAP99-r1', '[{"sku": "TAP99-A", "qty": 1, "unit_price": "0.005"}]')$$),
        pg_temp.try($$SELECT * FROM erp.place_order('TAP99-WEB', 'TAP99-r3', '[{"sku": "TAP99-A", "qty": 1, "unit_price": "1000000000000.00"}]')$$),
        pg_temp.try($$SELECT * FROM erp.place_order('TAP99-WEB', 'TAP99-r4', '[{"sku": "TAP99-A", "qty": 1}]', pg_temp.address(4200))$$),
        pg_temp.try($$SELECT * FROM erp.place_order('TAP99-WEB', 'TAP99-r5', pg_temp.many(1001))$$)),
    'IE004 IE004 IE004 IE004',
    'refused: a price of 0.005, 1000000000000.00, a ship_to past 4,096 bytes, 1,001 lines (IE004)');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'TAP99-r%'), 0::bigint, '... and none was written');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'TAP99-%'), 0::bigint,
    'the savepoints left no order behind');

SELECT * FROM finish();
ROLLBACK;
