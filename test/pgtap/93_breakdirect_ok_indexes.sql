-- 93_breakdirect_ok_indexes.sql: indexes a DBA adds to the order tables hold
-- the orders the direct path writes (issue 10, speed work; src/row_write.c).
--
-- The direct path inserts index entries itself (RowInsert), evaluating
-- expressions and partial-index predicates as the executor does.  A DBA's
-- expression index, partial index on status, GIN, hash and BRIN index must
-- find the new orders (looked up with sequential scans disabled, and the plan
-- checked to use the index), every btree index must pass amcheck's
-- bt_index_check with heapallindexed, a UNIQUE index that a new order would
-- violate must refuse it (23505) and leave nothing, and after REINDEX the new
-- index files must receive the next orders.
--
-- Master data uses codes starting with TAP93- and is rolled back at the end.
BEGIN;
SELECT plan(19);
CREATE EXTENSION IF NOT EXISTS amcheck;

INSERT INTO erp.node (code, kind) VALUES ('TAP93-N1', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP93-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP93-WEB' AND n.code = 'TAP93-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP93-A', 'plain', 1, 10, false), ('TAP93-B', 'backorderable', 1, 12.5, true);
SELECT erp.receive('TAP93-A', 'TAP93-N1', 1000);
SELECT erp.receive('TAP93-B', 'TAP93-N1', 2);

CREATE INDEX tap93_ref_lower ON erp.sales_order (lower(external_ref));
CREATE INDEX tap93_partial ON erp.sales_order (channel_id) WHERE status = 'partially_allocated';
CREATE INDEX tap93_city ON erp.sales_order ((ship_to ->> 'city'));
CREATE INDEX tap93_ship_gin ON erp.sales_order USING gin (ship_to jsonb_path_ops);
CREATE INDEX tap93_ref_hash ON erp.sales_order USING hash (external_ref);
CREATE INDEX tap93_created_brin ON erp.sales_order USING brin (created_at);
CREATE INDEX tap93_line_backordered ON erp.order_line (item_id, qty) WHERE status = 'backordered';
CREATE INDEX tap93_line_value ON erp.order_line ((qty * unit_price));
CREATE INDEX tap93_res_nolot ON erp.reservation (node_id, qty) WHERE lot_id IS NULL;

-- the plan of query names index (sequential and bitmap scans off)
CREATE FUNCTION pg_temp.uses(query text, index text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    SET LOCAL enable_seqscan = off;
    SET LOCAL enable_bitmapscan = off;
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line LIKE '%' || index || '%' THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;
-- the count query returns, sequential and bitmap scans off
CREATE FUNCTION pg_temp.n(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
BEGIN
    SET LOCAL enable_seqscan = off;
    SET LOCAL enable_bitmapscan = off;
    EXECUTE query INTO result;
    RETURN result;
END $$;

SELECT count(*) FROM erp.place_order('TAP93-WEB', 'TAP93-One', '[{"sku": "TAP93-A", "qty": 3}, {"sku": "TAP93-B", "qty": 5}]',
                                     '{"lat": 50.9, "lon": 6.9, "city": "Köln"}');
SELECT erp.capture_order('TAP93-WEB', 'TAP93-Two', '[{"sku": "TAP93-A", "qty": 7}]', '{"city": "Bonn"}') IS NOT NULL;

SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) = 'tap93-one'$$, 'tap93_ref_lower')
      AND pg_temp.n($$SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) IN ('tap93-one', 'tap93-two')$$) = 2,
    'the expression index on lower(external_ref) finds both new orders');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.sales_order WHERE status = 'partially_allocated' AND channel_id = 1$$, 'tap93_partial')
      AND pg_temp.n($$SELECT count(*) FROM erp.sales_order WHERE status = 'partially_allocated'
                         AND channel_id = (SELECT channel_id FROM erp.channel WHERE code = 'TAP93-WEB')$$) = 1,
    'the partial index WHERE status = partially_allocated holds the partially allocated order, not the open one');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.sales_order WHERE ship_to ->> 'city' = 'Köln'$$, 'tap93_city')
      AND pg_temp.n($$SELECT count(*) FROM erp.sales_order WHERE ship_to ->> 'city' IN ('Köln', 'Bonn')$$) = 2,
    'the expression index on ship_to->>city finds both');
SELECT is(pg_temp.n($$SELECT count(*) FROM (SELECT 1 FROM erp.sales_order WHERE ship_to @> '{"city": "Bonn"}' OFFSET 0) x$$), 1::bigint,
    'the GIN index on ship_to finds the captured order');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.sales_order WHERE external_ref = 'TAP93-Two'$$, 'sales_order')
      AND pg_temp.n($$SELECT count(*) FROM erp.sales_order WHERE external_ref = 'TAP93-Two'$$) = 1,
    'an equality lookup on external_ref finds the captured order');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.order_line WHERE status = 'backordered' AND item_id = 1 AND qty = 5$$, 'tap93_line_backordered')
      AND pg_temp.n($$SELECT count(*) FROM erp.order_line WHERE status = 'backordered'
                         AND item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP93-B') AND qty = 5$$) = 1,
    'the partial index on order_line WHERE status = backordered holds the line written with that final status');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.order_line WHERE qty * unit_price = 30$$, 'tap93_line_value')
      AND pg_temp.n($$SELECT count(*) FROM erp.order_line l JOIN erp.sales_order o USING (order_id)
                      WHERE l.qty * l.unit_price IN (30.00, 70.00) AND o.external_ref LIKE 'TAP93-%'$$) = 2,
    'the expression index on qty * unit_price finds the lines of both orders');
SELECT ok(pg_temp.uses($$SELECT count(*) FROM erp.reservation WHERE lot_id IS NULL AND node_id = 1 AND qty = 3$$, 'tap93_res_nolot')
      AND pg_temp.n($$SELECT count(*) FROM erp.reservation WHERE lot_id IS NULL AND qty IN (2, 3)
                         AND node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP93-N1')$$) = 2,
    'the partial index on reservation WHERE lot_id IS NULL holds both reservations');

-- every btree index of the three tables holds every row (amcheck)
SELECT is((SELECT count(*) FROM (
              SELECT bt_index_check(i.indexrelid, true)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE a.amname = 'btree'
                 AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)) x),
          (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE a.amname = 'btree'
              AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)),
    'bt_index_check(heapallindexed) passes on every btree index of the order tables');

-- UNIQUE indexes a new order would violate
CREATE FUNCTION pg_temp.try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.orders() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'TAP93-%' $$;
CREATE FUNCTION pg_temp.held() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(r.qty), 0) FROM erp.reservation r JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP93-%' $$;
SELECT pg_temp.held() AS held_before \gset

CREATE UNIQUE INDEX tap93_u_prio ON erp.sales_order (priority) WHERE priority = 77;
SELECT count(*) FROM erp.place_order('TAP93-WEB', 'TAP93-u1', '[{"sku": "TAP93-A", "qty": 1}]', NULL, 77);
SELECT is(pg_temp.try($$SELECT * FROM erp.place_order('TAP93-WEB', 'TAP93-u2', '[{"sku": "TAP93-A", "qty": 1}]', NULL, 77)$$),
    '23505', 'a UNIQUE index on erp.sales_order the new order violates: 23505');
SELECT is(pg_temp.orders() || ' ' || pg_temp.held(), '3 ' || (:held_before + 1), '... and it left no order and held nothing');

CREATE UNIQUE INDEX tap93_u_line ON erp.order_line (qty) WHERE qty = 77;
SELECT count(*) FROM erp.place_order('TAP93-WEB', 'TAP93-u3', '[{"sku": "TAP93-A", "qty": 77}]');
SELECT is(pg_temp.try($$SELECT erp.capture_order('TAP93-WEB', 'TAP93-u4', '[{"sku": "TAP93-A", "qty": 77}]')$$),
    '23505', 'a UNIQUE index on erp.order_line the new order''s line violates: 23505 (capture_order)');
SELECT is(pg_temp.try($$SELECT * FROM erp.place_order('TAP93-WEB', 'TAP93-u4', '[{"sku": "TAP93-A", "qty": 77}]')$$),
    '23505', '... and 23505 from place_order');
SELECT is(pg_temp.orders() || ' ' || pg_temp.held(), '4 ' || (:held_before + 78), '... and they left no order and held nothing');

CREATE UNIQUE INDEX tap93_u_res ON erp.reservation (qty) WHERE qty = 55;
SELECT count(*) FROM erp.place_order('TAP93-WEB', 'TAP93-u5', '[{"sku": "TAP93-A", "qty": 55}]');
SELECT is(pg_temp.try($$SELECT * FROM erp.place_order('TAP93-WEB', 'TAP93-u6', '[{"sku": "TAP93-A", "qty": 55}]')$$),
    '23505', 'a UNIQUE index on erp.reservation the new reservation violates: 23505');
SELECT is(pg_temp.orders() || ' ' || pg_temp.held(), '5 ' || (:held_before + 133), '... and it left no order and held nothing');

-- REINDEX: the rebuilt indexes receive the next orders
REINDEX TABLE erp.sales_order;
REINDEX TABLE erp.order_line;
REINDEX TABLE erp.reservation;
SELECT count(*) FROM erp.place_order('TAP93-WEB', 'TAP93-After', '[{"sku": "TAP93-A", "qty": 4}]', '{"city": "Aachen"}');
SELECT is(pg_temp.n($$SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) = 'tap93-after' AND ship_to ->> 'city' = 'Aachen'$$),
    1::bigint, 'after REINDEX the expression indexes find the next order');
SELECT is((SELECT count(*) FROM (
              SELECT bt_index_check(i.indexrelid, true)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE a.amname = 'btree'
                 AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)) x),
          (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE a.amname = 'btree'
              AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)),
    'after REINDEX bt_index_check(heapallindexed) passes on every btree index');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
