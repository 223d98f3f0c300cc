-- 96_breakdirect_ok_savepoint.sql: an order written directly inside a savepoint
-- or a PL/pgSQL exception block that is rolled back leaves nothing, and the
-- same external_ref placed again in the same transaction is a new order
-- (issue 10, speed work; src/order_rows.c: the reference's lock tag, the
-- dirty-snapshot probe, heap tuples and index entries written directly).
--   - ROLLBACK TO SAVEPOINT after place_order: the order, its lines and its
--     reservations are gone, the stock is back; placing it again creates it
--     (created true) and the unique (channel_id, external_ref) key accepts it;
--   - an exception block whose body places an order and then fails: the same;
--   - a redelivery inside a later savepoint that is kept: created false;
--   - after all that, erp.verify() is empty and the books hold one order per
--     reference.
--
-- Master data uses codes starting with TAP96- and is rolled back at the end.
BEGIN;
SELECT plan(8);

INSERT INTO erp.node (code, kind) VALUES ('TAP96-N1', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP96-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP96-WEB' AND n.code = 'TAP96-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP96-A', 'plain', 1, 10, false), ('TAP96-B', 'backorderable', 1, 5, true);
SELECT erp.receive('TAP96-A', 'TAP96-N1', 10);

CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'TAP96-%') || ' orders '
        || (SELECT count(*) FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref LIKE 'TAP96-%') || ' lines '
        || (SELECT coalesce(sum(r.qty), 0) FROM erp.reservation r JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP96-%') || ' held '
        || (SELECT coalesce(sum(b.qty), 0) FROM erp.stock_balance b JOIN erp.item i USING (item_id)
             WHERE i.sku = 'TAP96-A' AND b.state = 'available') || ' available' $$;
SELECT pg_temp.books() AS empty_books \gset

SAVEPOINT s;
SELECT count(*) FROM erp.place_order('TAP96-WEB', 'TAP96-X', '[{"sku": "TAP96-A", "qty": 3}, {"sku": "TAP96-B", "qty": 2}]');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.books(), :'empty_books', 'ROLLBACK TO SAVEPOINT after place_order leaves no order, line or reservation, and the stock back');
SELECT is((SELECT string_agg(DISTINCT created::text || ' ' || order_status, ',')
             FROM erp.place_order('TAP96-WEB', 'TAP96-X', '[{"sku": "TAP96-A", "qty": 3}, {"sku": "TAP96-B", "qty": 2}]')),
    'true partially_allocated', 'the same reference placed again in the transaction is a new order (created true)');

CREATE FUNCTION pg_temp.place_then_fail(ref text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM * FROM erp.place_order('TAP96-WEB', ref, '[{"sku": "TAP96-A", "qty": 2}]');
        RAISE EXCEPTION 'the client gives up' USING ERRCODE = 'P0001';
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        RETURN 'rolled back';
    END;
END $$;
SELECT pg_temp.books() AS books_x \gset
SELECT is(pg_temp.place_then_fail('TAP96-Y'), 'rolled back', 'an exception block placed TAP96-Y and rolled back');
SELECT is(pg_temp.books(), :'books_x', '... and left nothing of it');
SELECT is((SELECT string_agg(DISTINCT created::text || ' ' || order_status, ',')
             FROM erp.place_order('TAP96-WEB', 'TAP96-Y', '[{"sku": "TAP96-A", "qty": 2}]')),
    'true allocated', 'TAP96-Y placed again is a new order');

SAVEPOINT t;
SELECT is((SELECT string_agg(DISTINCT created::text || ' ' || order_status, ',')
             FROM erp.place_order('TAP96-WEB', 'TAP96-Y', '[{"sku": "TAP96-A", "qty": 2}]')),
    'false allocated', 'a redelivery inside a later savepoint finds it (created false)');
RELEASE SAVEPOINT t;

SELECT is(pg_temp.books(), '2 orders 3 lines 5 held 5 available', 'one order per reference: 3 + 2 units of A held, B backordered');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
