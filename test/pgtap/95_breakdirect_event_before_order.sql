-- 95_breakdirect_event_before_order.sql: the events (and ledger rows) of a new
-- order placed by erp.place_order refer to an order that exists when they are
-- written (issue 10, speed work; src/allocate.c AllocateNewOrder).
--
-- The direct path allocates a new order before its rows exist: the
-- backorder_created event (erp.event, order_id) and the ledger rows
-- (erp.stock_move, ref 'order:<id>') are inserted while erp.sales_order
-- has no row with that id yet; the order is written at the end.  On the SQL path
-- the order row comes first.  A database that relies on the order being there
-- when its event is written then breaks on the direct path only:
--   1. a DBA's foreign key erp.event(order_id) -> erp.sales_order: place_order
--      of a backordered order fails with 23503;
--   2. an AFTER INSERT trigger on erp.event that looks the order up (to send its
--      external_ref on) finds no order.
-- (The ledger rows are appended by the stock kernel without triggers on both
-- paths since the kernel exists: not asserted here.)
-- Each is run on the SQL path (inventory_erp.kernel_access = routed) and on
-- the direct path, which must behave the same.
--
-- Master data uses codes starting with TAP95- and is rolled back at the end.
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code, kind) VALUES ('TAP95-N1', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP95-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP95-WEB' AND n.code = 'TAP95-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP95-A', 'plain', 1, 10, false), ('TAP95-B', 'backorderable', 1, 12.5, true);
SELECT erp.receive('TAP95-A', 'TAP95-N1', 100);
SELECT erp.receive('TAP95-B', 'TAP95-N1', 1);

CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- 1. a foreign key from the events to the orders (each outcome recorded, then the key undone)
SAVEPOINT s;
ALTER TABLE erp.event ADD CONSTRAINT tap95_event_order FOREIGN KEY (order_id) REFERENCES erp.sales_order NOT VALID;
SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP95-WEB', 'TAP95-fk-sql', '[{"sku": "TAP95-B", "qty": 3}]')$$) AS fk_sql \gset
RESET inventory_erp.kernel_access;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP95-WEB', 'TAP95-fk', '[{"sku": "TAP95-A", "qty": 1}, {"sku": "TAP95-B", "qty": 3}]')$$) AS fk_direct \gset
ROLLBACK TO SAVEPOINT s;
SELECT is(:'fk_sql'::text, 'ok', 'SQL path: a backordered order is placed under a foreign key erp.event(order_id) -> erp.sales_order');
SELECT is(:'fk_direct'::text, 'ok', 'direct path: the same order is placed too (its backorder event names an order that exists)');

-- 2. a trigger that looks the order up when its event is written
CREATE TABLE pg_temp.seen (what text, ref text);
CREATE FUNCTION pg_temp.event_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id IS NOT NULL THEN
        INSERT INTO pg_temp.seen SELECT 'event ' || NEW.kind,
            coalesce((SELECT external_ref FROM erp.sales_order WHERE order_id = NEW.order_id), 'no order');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tap95_event_seen AFTER INSERT ON erp.event FOR EACH ROW EXECUTE FUNCTION pg_temp.event_seen();

-- the same order on each path, from the same stock (recorded, then rolled back)
SAVEPOINT s;
SET LOCAL inventory_erp.kernel_access = routed;
SELECT count(*) FROM erp.place_order('TAP95-WEB', 'TAP95-one', '[{"sku": "TAP95-A", "qty": 1}, {"sku": "TAP95-B", "qty": 3}]');
RESET inventory_erp.kernel_access;
SELECT string_agg(what || ' -> ' || ref, ',' ORDER BY what) AS seen_sql FROM pg_temp.seen \gset
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM erp.place_order('TAP95-WEB', 'TAP95-one', '[{"sku": "TAP95-A", "qty": 1}, {"sku": "TAP95-B", "qty": 3}]');
SELECT string_agg(what || ' -> ' || ref, ',' ORDER BY what) AS seen_direct FROM pg_temp.seen \gset
SELECT count(*) AS verify_direct FROM erp.verify() \gset
ROLLBACK TO SAVEPOINT s;

SELECT is(:'seen_sql'::text,
          'event backorder_created -> TAP95-one,event stockout -> TAP95-one',
    'SQL path: the backorder and stockout events find their order');
SELECT is(:'seen_direct'::text, :'seen_sql'::text,
    'direct path: the same events, and they find their order too');
SELECT is(:'seen_direct'::text NOT LIKE '%no order%', true,
    'no event of a placed order was written before its order');
SELECT is(:verify_direct::bigint, 0::bigint, 'erp.verify() is empty');
SELECT * FROM finish();
ROLLBACK;
