-- 37_allocate_contract.sql: allocation a webhook can call twice (issue 11).
-- erp.allocate returns what an order holds after the call, whatever its status,
-- with the line's and the order's status, what is backordered and what is short;
-- it never refuses an order only because nothing is left to allocate (allocated,
-- picking, packed, shipped, cancelled), and then changes nothing.
-- erp.place_order captures and allocates in one call and says whether it
-- created the order.  Allocation events name the order's channel; pick
-- exceptions carry the node and the order's lines.
--
-- Master data uses codes starting with TAP37- and is rolled back at the end.
BEGIN;
SELECT plan(40);

INSERT INTO erp.node (code, kind) VALUES ('TAP37-N1', 'warehouse'), ('TAP37-N2', 'warehouse'),
                                         ('TAP37-N3', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP37-WEB', 'storefront'), ('TAP37-B2B', 'wholesale');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('TAP37-WEB', 'TAP37-N1', 1), ('TAP37-WEB', 'TAP37-N2', 2), ('TAP37-B2B', 'TAP37-N3', 1)) v(c, n, rank)
  JOIN erp.channel c ON c.code = v.c JOIN erp.node n ON n.code = v.n;
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP37-A', 'plain', 1, 10, false),
    ('TAP37-B', 'backorderable', 1, 10, true),
    ('TAP37-C', 'scarce', 1, 10, false),
    ('TAP37-D', 'second node only', 1, 10, false),
    ('TAP37-L', 'low stock watched', 1, 10, false);
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point)
SELECT i.item_id, n.node_id, 5 FROM erp.item i, erp.node n WHERE i.sku = 'TAP37-L' AND n.code = 'TAP37-N1';
SELECT erp.receive('TAP37-A', 'TAP37-N1', 200);
SELECT erp.receive('TAP37-B', 'TAP37-N1', 1);
SELECT erp.receive('TAP37-C', 'TAP37-N1', 5);
SELECT erp.receive('TAP37-D', 'TAP37-N2', 3);
SELECT erp.receive('TAP37-L', 'TAP37-N1', 6);

CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.node(code text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT node_id FROM erp.node n WHERE n.code = $1 $$;
-- allocate's rows as text, one per row, for results_eq
CREATE FUNCTION pg_temp.alloc(ref text) RETURNS SETOF text LANGUAGE sql
    AS $$ SELECT format('%s %s %s %s %s %s %s %s %s', line_no, sku, coalesce(node, '-'), coalesce(lot, '-'), qty,
                        line_status, qty_backordered, qty_short, order_status)
            FROM erp.allocate(pg_temp.ord(ref)) $$;
-- one line that changes when anything allocation could write changes
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql
    AS $$ SELECT format('%s/%s/%s/%s/%s', (SELECT count(*) FROM erp.stock_move),
                        (SELECT coalesce(sum(qty), 0) FROM erp.reservation),
                        (SELECT string_agg(status::text || ':' || qty_allocated || ':' || qty_backordered, ',' ORDER BY order_id, line_no) FROM erp.order_line),
                        (SELECT string_agg(status::text, ',' ORDER BY order_id) FROM erp.sales_order),
                        (SELECT count(*) FROM erp.event)) $$;

SELECT has_function('erp', 'place_order', ARRAY['text', 'text', 'jsonb', 'jsonb', 'integer', 'text'],
    'erp.place_order exists, or a webhook needs two calls and cannot tell a new order from a redelivery');

-- Allocated, partial, backordered, short ----------------------------------------

SELECT erp.capture_order('TAP37-WEB', 'TAP37-O1', '[{"sku": "TAP37-A", "qty": 2}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O1')$$,
    ARRAY['1 TAP37-A TAP37-N1 - 2 allocated 0 0 allocated'],
    'an allocated order: its reservation with the line and order status allocated, nothing short');
CREATE TEMP TABLE before AS SELECT pg_temp.books() AS b;
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O1')$$,
    ARRAY['1 TAP37-A TAP37-N1 - 2 allocated 0 0 allocated'],
    'allocating a fully allocated order again returns what it holds, or a retried webhook sees a different answer');
SELECT is(pg_temp.books(), (SELECT b FROM before),
    'the second allocation of a fully allocated order changes nothing');

SELECT erp.capture_order('TAP37-WEB', 'TAP37-O2', '[{"sku": "TAP37-C", "qty": 7}, {"sku": "TAP37-A", "qty": 1}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O2')$$,
    ARRAY['1 TAP37-C TAP37-N1 - 5 short 0 2 partially_allocated',
          '2 TAP37-A TAP37-N1 - 1 allocated 0 0 partially_allocated'],
    'a partial order: the short line holds 5 and is short of 2, the order is partially allocated');

SELECT erp.capture_order('TAP37-WEB', 'TAP37-O3', '[{"sku": "TAP37-B", "qty": 3}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O3')$$,
    ARRAY['1 TAP37-B TAP37-N1 - 1 backordered 2 0 partially_allocated'],
    'a backorderable line: 1 held, 2 backordered, nothing short');
SELECT erp.capture_order('TAP37-WEB', 'TAP37-O4', '[{"sku": "TAP37-B", "qty": 2}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O4')$$,
    ARRAY['1 TAP37-B - - 0 backordered 2 0 backordered'],
    'a backordered order holds nothing: one row with no node, qty 0, 2 backordered, order backordered');
SELECT erp.capture_order('TAP37-WEB', 'TAP37-O5', '[{"sku": "TAP37-C", "qty": 1}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O5')$$,
    ARRAY['1 TAP37-C - - 0 short 0 1 open'],
    'a line that nothing fills and that cannot wait: short of its whole quantity');

-- Picking, packed, shipped, cancelled: no error, nothing changed ------------------

SELECT erp.capture_order('TAP37-WEB', 'TAP37-O6', '[{"sku": "TAP37-A", "qty": 3}, {"sku": "TAP37-C", "qty": 1}]');
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O6')$$,
    ARRAY['1 TAP37-A TAP37-N1 - 3 allocated 0 0 partially_allocated',
          '2 TAP37-C - - 0 short 0 1 partially_allocated'],
    'an order with a short line: the held line and a row for the line that holds nothing');
SELECT erp.pick(pg_temp.ord('TAP37-O6'), 'TAP37-A', 1);
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O6')$$,
    ARRAY['1 TAP37-A TAP37-N1 - 3 picking 0 0 picking',
          '2 TAP37-C - - 0 short 0 1 picking'],
    'a picking order: held units count reserved and picked alike');
SELECT erp.pick(pg_temp.ord('TAP37-O6'), 'TAP37-A', 2);
SELECT erp.pack(pg_temp.ord('TAP37-O6'));
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O6')$$,
    ARRAY['1 TAP37-A TAP37-N1 - 3 packed 0 0 packed',
          '2 TAP37-C - - 0 short 0 1 packed'],
    'a packed order: allocate returns what is packed instead of refusing (IE010 broke redelivered webhooks)');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'allocating a packed order changes nothing');
SELECT erp.ship(pg_temp.ord('TAP37-O6'));
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O6')$$,
    ARRAY['1 TAP37-A - - 0 shipped 0 0 shipped',
          '2 TAP37-C - - 0 short 0 1 shipped'],
    'a shipped order holds nothing any more: a row per line with its status, no error');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'allocating a shipped order changes nothing');

SELECT erp.capture_order('TAP37-WEB', 'TAP37-O7', '[{"sku": "TAP37-A", "qty": 1}]');
SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP37-O7'));
SELECT erp.cancel_order(pg_temp.ord('TAP37-O7'));
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT results_eq($$SELECT pg_temp.alloc('TAP37-O7')$$,
    ARRAY['1 TAP37-A - - 0 cancelled 0 0 cancelled'],
    'a cancelled order: nothing held, nothing short, no error');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'allocating a cancelled order reserves nothing again');

SELECT throws_ok('SELECT * FROM erp.allocate(-42)', 'IE003', NULL, 'an unknown order is still IE003');

-- A partner may not allocate an order it cannot see --------------------------------

CREATE ROLE tap37_partner IN ROLE erp_operator;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap37_partner', pg_temp.node('TAP37-N3');
SELECT erp.capture_order('TAP37-WEB', 'TAP37-O8', '[{"sku": "TAP37-A", "qty": 1}]');
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT set_config('tap37.o8', pg_temp.ord('TAP37-O8')::text, true);
SET LOCAL ROLE tap37_partner;
SELECT throws_ok(format('SELECT * FROM erp.allocate(%s)', current_setting('tap37.o8')),
    'IE009', NULL, 'a partner allocating an order of nodes it does not serve is refused (IE009)');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the partner''s refused allocation changed nothing');

-- place_order: new, redelivered, other content --------------------------------------

SELECT results_eq($$SELECT format('%s %s %s %s %s %s', order_id = pg_temp.ord('TAP37-P1'), created, sku, node, qty, order_status)
                      FROM erp.place_order('TAP37-WEB', 'TAP37-P1', '[{"sku": "TAP37-A", "qty": 2}]')$$,
    ARRAY['t t TAP37-A TAP37-N1 2 allocated'],
    'place_order of a new order: created, allocated, its order id on every row');
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT results_eq($$SELECT format('%s %s %s %s %s %s', order_id = pg_temp.ord('TAP37-P1'), created, sku, node, qty, order_status)
                      FROM erp.place_order('TAP37-WEB', 'TAP37-P1', '[{"sku": "TAP37-A", "qty": 2}]')$$,
    ARRAY['t f TAP37-A TAP37-N1 2 allocated'],
    'a redelivery: the same order, created false, what it holds');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'a redelivery changes nothing');
SELECT throws_ok($$SELECT * FROM erp.place_order('TAP37-WEB', 'TAP37-P1', '[{"sku": "TAP37-A", "qty": 3}]')$$,
    'IE010', NULL, 'a redelivery with other content is refused (IE010)');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused redelivery changed nothing');
SELECT erp.pick(pg_temp.ord('TAP37-P1'), 'TAP37-A', 2);
SELECT erp.pack(pg_temp.ord('TAP37-P1'));
SELECT erp.ship(pg_temp.ord('TAP37-P1'));
SELECT results_eq($$SELECT format('%s %s %s %s %s', created, sku, coalesce(node, '-'), line_status, order_status)
                      FROM erp.place_order('TAP37-WEB', 'TAP37-P1', '[{"sku": "TAP37-A", "qty": 2}]')$$,
    ARRAY['f TAP37-A - shipped shipped'],
    'a redelivery of a shipped order: created false and what it holds, no error (the webhook handler stops failing)');
SELECT throws_ok($$SELECT * FROM erp.place_order('TAP37-WEB', 'TAP37-P2', '[{"sku": "TAP37-NOPE", "qty": 1}]')$$,
    'IE003', NULL, 'place_order of an unknown sku: IE003, as capture_order');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref = 'TAP37-P2'), 0::bigint,
    'the refused place_order left no order behind');

-- Events name the channel -------------------------------------------------------------

SELECT is((SELECT count(*) FROM erp.event e JOIN erp.item i ON i.item_id = e.item_id
            WHERE e.kind = 'stockout' AND i.sku = 'TAP37-C' AND e.payload->>'channel' = 'TAP37-WEB'
              AND e.payload->>'node' = 'TAP37-N1' AND e.node_id = pg_temp.node('TAP37-N1')), 1::bigint,
    'the stockout names the channel whose allocation saw it, or a feed cannot tell which storefront to update');
SELECT is((SELECT payload->>'channel' FROM erp.event WHERE kind = 'backorder_created'
            AND order_id = pg_temp.ord('TAP37-O4')), 'TAP37-WEB',
    'backorder_created names the channel');
SELECT is((SELECT payload->>'qty' FROM erp.event WHERE kind = 'backorder_created'
            AND order_id = pg_temp.ord('TAP37-O4')), '2',
    'backorder_created still says how many units wait');
SELECT results_eq($$SELECT created FROM erp.place_order('TAP37-WEB', 'TAP37-L1', '[{"sku": "TAP37-L", "qty": 2}]')$$,
    ARRAY[true], 'an order takes the watched item below its reorder point');
SELECT is((SELECT format('%s %s %s %s', payload->>'channel', payload->>'node', payload->>'available', node_id = pg_temp.node('TAP37-N1'))
             FROM erp.event WHERE kind = 'low_stock' AND order_id = pg_temp.ord('TAP37-L1')),
    'TAP37-WEB TAP37-N1 4 t',
    'low_stock names the channel, the node and what is left');

-- Pick exceptions carry the node and the order's lines ---------------------------------

-- an order held at two nodes: A at N1 (rank 1), D only at N2; D is short-picked at N2
SELECT erp.capture_order('TAP37-WEB', 'TAP37-S1', '[{"sku": "TAP37-A", "qty": 2}, {"sku": "TAP37-D", "qty": 2}]');
SELECT results_eq($$SELECT format('%s %s %s', sku, node, qty) FROM erp.allocate(pg_temp.ord('TAP37-S1'))$$,
    ARRAY['TAP37-A TAP37-N1 2', 'TAP37-D TAP37-N2 2'],
    'the order is split over both nodes');
SELECT erp.pick(pg_temp.ord('TAP37-S1'), 'TAP37-A', 1);
SELECT erp.short_pick(pg_temp.ord('TAP37-S1'), 'TAP37-D', 1);
SELECT is((SELECT node_id FROM erp.event WHERE kind = 'pick_exception' AND order_id = pg_temp.ord('TAP37-S1')),
    pg_temp.node('TAP37-N2'),
    'a short pick''s exception carries the node of the short line, not the order''s first node');
SELECT is((SELECT payload->'lines' FROM erp.event WHERE kind = 'pick_exception' AND order_id = pg_temp.ord('TAP37-S1')),
    '[{"line_no": 1, "sku": "TAP37-A", "qty": 2, "qty_picked": 1}, {"line_no": 2, "sku": "TAP37-D", "qty": 2, "qty_picked": 0}]'::jsonb,
    'the exception lists the order''s lines with what is picked, or the desk must query the order to act');
SELECT is((SELECT payload ? 'lines_truncated' FROM erp.event WHERE kind = 'pick_exception' AND order_id = pg_temp.ord('TAP37-S1')),
    false, 'a short order''s lines are all there: no truncation mark');

-- an order of 101 lines: the event lists 100 and says it cut the rest
SELECT erp.capture_order('TAP37-WEB', 'TAP37-S2',
    (SELECT jsonb_agg(jsonb_build_object('sku', 'TAP37-A', 'qty', 1)) FROM generate_series(1, 101)));
SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP37-S2'));
SELECT erp.short_pick(pg_temp.ord('TAP37-S2'), 'TAP37-A', 1);
SELECT is((SELECT format('%s %s %s', jsonb_array_length(payload->'lines'), payload->'lines_truncated',
                         payload->'lines'->99->>'line_no')
             FROM erp.event WHERE kind = 'pick_exception' AND order_id = pg_temp.ord('TAP37-S2')),
    '100 true 100',
    'a long order''s exception lists its first 100 lines and says it cut the rest (an event stays bounded)');

-- a wrong scan: refused, and its event (written by a worker that sees only committed
-- rows: the node created in this transaction goes into the payload) names the node
SELECT erp.capture_order('TAP37-WEB', 'TAP37-W1', '[{"sku": "TAP37-D", "qty": 1}]');
SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP37-W1'));
DELETE FROM before;
INSERT INTO before SELECT pg_temp.books();
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', pg_temp.ord('TAP37-W1'), 'TAP37-A'), 'IE007', NULL,
    'a scan of an item the order does not hold is refused (IE007)');
SELECT is((SELECT coalesce(node_id, (payload->>'uncommitted_node_id')::bigint) FROM erp.event
            WHERE kind = 'pick_exception' AND (payload->>'uncommitted_order_id')::bigint = pg_temp.ord('TAP37-W1')),
    pg_temp.node('TAP37-N2'),
    'the wrong scan''s exception names the node the order is picked at, so an alert can group bursts by node');
SELECT is(regexp_replace(pg_temp.books(), '/[0-9]+$', ''), regexp_replace((SELECT b FROM before), '/[0-9]+$', ''),
    'the refused scan changed nothing but the recorded event');

SELECT * FROM finish();
ROLLBACK;
