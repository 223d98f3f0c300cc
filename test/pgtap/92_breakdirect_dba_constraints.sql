-- 92_breakdirect_dba_constraints.sql: a constraint a DBA adds to erp.sales_order,
-- erp.order_line or erp.reservation holds for orders written by the direct path
-- (issue 10, speed work; src/order_rows.c, src/row_write.c).
--
-- The direct path inserts heap tuples without the executor and evaluates no
-- constraint of the tables: it asserts the ones the extension ships in C.  A
-- DBA's own constraint (ALTER TABLE ... SET NOT NULL, ADD CHECK, ADD EXCLUDE,
-- a column type changed to a domain with a CHECK) is a rule of the database:
-- an INSERT that breaks it is refused with its SQLSTATE (23502, 23514, 23P01)
-- and nothing is written.  Each constraint is first shown to refuse the order
-- on the SQL path (inventory_erp.kernel_access = routed), then asserted on the
-- direct path.
--
-- Master data uses codes starting with TAP92- and is rolled back at the end.
BEGIN;
SELECT plan(15);

INSERT INTO erp.node (code, kind) VALUES ('TAP92-N1', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP92-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP92-WEB' AND n.code = 'TAP92-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP92-A', 'plain', 1, 10);
SELECT erp.receive('TAP92-A', 'TAP92-N1', 1000);

CREATE FUNCTION pg_temp.orders() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'TAP92-%' $$;
CREATE FUNCTION pg_temp.held() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(r.qty), 0) FROM erp.reservation r JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP92-A' $$;

-- a call's outcome: its SQLSTATE, or ok
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- Each constraint is added after a savepoint and undone before the assertions
-- (a rollback would undo their records too): the outcomes go to psql variables.
SAVEPOINT s;

-- 1. ship_to made NOT NULL
UPDATE erp.sales_order SET ship_to = '{}' WHERE ship_to IS NULL;   -- orders other files committed, if any
ALTER TABLE erp.sales_order ALTER COLUMN ship_to SET NOT NULL;
SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-nn-sql', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS nn_sql \gset
RESET inventory_erp.kernel_access;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-nn', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS nn_place \gset
SELECT pg_temp.try($$SELECT erp.capture_order('TAP92-WEB', 'TAP92-nn-cap', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS nn_capture \gset
SELECT pg_temp.orders() AS nn_orders \gset
ROLLBACK TO SAVEPOINT s;

-- 2. a CHECK on erp.sales_order
ALTER TABLE erp.sales_order ADD CONSTRAINT tap92_priority CHECK (priority < 5) NOT VALID;
SET LOCAL inventory_erp.kernel_access = routed;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-ck-sql', '[{"sku": "TAP92-A", "qty": 1}]', NULL, 9)$$) AS ck_sql \gset
RESET inventory_erp.kernel_access;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-ck', '[{"sku": "TAP92-A", "qty": 1}]', NULL, 9)$$) AS ck_place \gset
SELECT pg_temp.orders() AS ck_orders \gset
ROLLBACK TO SAVEPOINT s;

-- 3. a CHECK on erp.order_line
ALTER TABLE erp.order_line ADD CONSTRAINT tap92_line_qty CHECK (qty <= 100) NOT VALID;
SELECT pg_temp.try($$SELECT erp.capture_order('TAP92-WEB', 'TAP92-lq', '[{"sku": "TAP92-A", "qty": 500}]')$$) AS lq_capture \gset
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-lq2', '[{"sku": "TAP92-A", "qty": 500}]')$$) AS lq_place \gset
SELECT pg_temp.orders() AS lq_orders \gset
ROLLBACK TO SAVEPOINT s;

-- 4. a CHECK on erp.reservation
ALTER TABLE erp.reservation ADD CONSTRAINT tap92_reservation_qty CHECK (qty <= 100) NOT VALID;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-rq', '[{"sku": "TAP92-A", "qty": 500}]')$$) AS rq_place \gset
SELECT pg_temp.held() AS rq_held \gset
ROLLBACK TO SAVEPOINT s;

-- 5. an exclusion constraint: one order per external_ref whatever its case
ALTER TABLE erp.sales_order ADD CONSTRAINT tap92_ref_ci EXCLUDE USING btree (lower(external_ref) WITH =);
SELECT pg_temp.try($$SELECT erp.capture_order('TAP92-WEB', 'TAP92-EX', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS ex_first \gset
SELECT pg_temp.try($$SELECT erp.capture_order('TAP92-WEB', 'tap92-ex', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS ex_capture \gset
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'Tap92-Ex', '[{"sku": "TAP92-A", "qty": 1}]')$$) AS ex_place \gset
ROLLBACK TO SAVEPOINT s;

-- 6. ship_to's type changed to a domain with a CHECK
CREATE DOMAIN public.tap92_address AS jsonb CHECK (VALUE ? 'street');
ALTER TABLE erp.sales_order ALTER COLUMN ship_to TYPE public.tap92_address;
SELECT pg_temp.try($$SELECT * FROM erp.place_order('TAP92-WEB', 'TAP92-dom', '[{"sku": "TAP92-A", "qty": 1}]', '{"lat": 1, "lon": 2}')$$) AS dom_place \gset
ROLLBACK TO SAVEPOINT s;

SELECT is(:'nn_sql'::text, '23502', 'SQL path: an order without ship_to breaks the NOT NULL a DBA set (23502)');
SELECT is(:'nn_place'::text, '23502', 'direct path: place_order without ship_to is refused by ship_to NOT NULL (23502)');
SELECT is(:'nn_capture'::text, '23502', 'direct path: capture_order without ship_to is refused by ship_to NOT NULL (23502)');
SELECT is(:nn_orders::bigint, 0::bigint, '... and no order row with a NULL ship_to was written');
SELECT is(:'ck_sql'::text, '23514', 'SQL path: priority 9 breaks CHECK (priority < 5) (23514)');
SELECT is(:'ck_place'::text, '23514', 'direct path: place_order with priority 9 is refused by CHECK (priority < 5) (23514)');
SELECT is(:ck_orders::bigint, 0::bigint, '... and no order with priority 9 was written');
SELECT is(:'lq_capture'::text, '23514', 'direct path: capture_order of 500 units is refused by CHECK (qty <= 100) on erp.order_line (23514)');
SELECT is(:'lq_place'::text, '23514', 'direct path: place_order of 500 units is refused by the same CHECK (23514)');
SELECT is(:lq_orders::bigint, 0::bigint, '... and no line of 500 units was written');
SELECT is(:'rq_place'::text, '23514', 'direct path: a reservation of 500 units is refused by CHECK (qty <= 100) on erp.reservation (23514)');
SELECT is(:rq_held::bigint, 0::bigint, '... and no unit is held');
SELECT is(:'ex_first'::text || ' ' || :'ex_capture', 'ok 23P01',
    'direct path: capture_order of tap92-ex after TAP92-EX is refused by the exclusion constraint on lower(external_ref) (23P01)');
SELECT is(:'ex_place'::text, '23P01', 'direct path: place_order of Tap92-Ex is refused by the same exclusion constraint (23P01)');
SELECT is(:'dom_place'::text, '23514', 'direct path: a ship_to without "street" is refused by the domain''s CHECK (23514)');

SELECT * FROM finish();
ROLLBACK;
