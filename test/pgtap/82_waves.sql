-- 82_waves.sql: waves and pick lists (issue 16).  erp.create_wave takes the
-- allocated orders at a node by priority, then age, up to max_orders and the
-- cut-off; erp.pick_list walks the bins once in pick sequence with the units
-- per bin and the orders they are for; erp.pick_wave picks for the wave's
-- orders in order; refusals change nothing.
BEGIN;
SELECT plan(21);

INSERT INTO erp.node (code) VALUES ('TAP82-DC'), ('TAP82-3PL');
INSERT INTO erp.channel (code) VALUES ('TAP82-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP82-WEB' AND n.code = 'TAP82-DC';
INSERT INTO erp.item (sku, category, unit_cost, unit_price, gtin) VALUES
    ('TAP82-X', 'a', 1, 10, '5901234123457'), ('TAP82-Y', 'a', 1, 10, NULL), ('TAP82-Z', 'a', 1, 10, NULL);
-- bins created in the opposite order of the walk: bin ids do not decide the walk
INSERT INTO erp.bin (node_id, code, pick_sequence)
SELECT n.node_id, v.code, v.seq FROM erp.node n, (VALUES ('C-30', 30), ('B-20', 20), ('A-10', 10)) v(code, seq)
 WHERE n.code = 'TAP82-DC';
SELECT erp.receive(s, 'TAP82-DC', 10) FROM unnest(ARRAY['TAP82-X', 'TAP82-Y', 'TAP82-Z']) s;
SELECT erp.putaway('TAP82-X', 'TAP82-DC', 'C-30', 10);
SELECT erp.putaway('TAP82-Y', 'TAP82-DC', 'A-10', 2);
SELECT erp.putaway('TAP82-Y', 'TAP82-DC', 'B-20', 8);
SELECT erp.putaway('TAP82-Z', 'TAP82-DC', 'B-20', 10);

CREATE TEMP TABLE o82 (n int, order_id bigint);
INSERT INTO o82 SELECT 1, erp.capture_order('TAP82-WEB', 'TAP82-1', '[{"sku": "TAP82-X", "qty": 1}, {"sku": "TAP82-Y", "qty": 3}]');
INSERT INTO o82 SELECT 2, erp.capture_order('TAP82-WEB', 'TAP82-2', '[{"sku": "TAP82-Z", "qty": 2}]');
INSERT INTO o82 SELECT 3, erp.capture_order('TAP82-WEB', 'TAP82-3', '[{"sku": "TAP82-X", "qty": 2}, {"sku": "TAP82-Z", "qty": 1}]');
INSERT INTO o82 SELECT 4, erp.capture_order('TAP82-WEB', 'TAP82-4', '[{"sku": "TAP82-Y", "qty": 1}]');
-- order 3 is urgent; order 4 was captured after the cut-off
UPDATE erp.sales_order SET priority = 5 WHERE external_ref = 'TAP82-3';
UPDATE erp.sales_order SET created_at = created_at + interval '1 hour' WHERE external_ref = 'TAP82-4';
SELECT count(*) FROM o82, erp.allocate(o82.order_id);
CREATE FUNCTION pg_temp.o(n int) RETURNS bigint LANGUAGE sql AS $$ SELECT order_id FROM o82 WHERE o82.n = $1 $$;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s', (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.wave),
                  (SELECT sum(qty_picked) FROM erp.reservation WHERE order_id IN (SELECT order_id FROM o82)))
$$;

-- Refusals first ------------------------------------------------------------------
CREATE TEMP TABLE before82 AS SELECT pg_temp.books() AS b;
SELECT throws_ok($$SELECT erp.create_wave('TAP82-NOPE')$$, 'IE003', 'unknown node "TAP82-NOPE"', 'unknown node (IE003)');
SELECT throws_ok($$SELECT erp.create_wave('TAP82-DC', 0)$$, 'IE004', 'invalid max_orders 0', 'max_orders 0 (IE004)');
SELECT throws_ok($$SELECT erp.create_wave('TAP82-DC', NULL, 'infinity')$$, 'IE004', NULL, 'an infinite cut-off (IE004)');
SELECT throws_ok($$SELECT erp.create_wave('TAP82-DC', 10, '294276-12-31 23:59:59+00')$$, 'IE004', NULL,
    'a cut-off after the year 9999 (IE004)');
SELECT throws_ok($$SELECT erp.create_wave('TAP82-3PL')$$, 'IE010', 'no allocated orders to pick at node "TAP82-3PL"',
    'a node without allocated orders (IE010)');
SELECT is(pg_temp.books(), (SELECT b FROM before82), 'the refusals created no wave');

-- A wave: priority, then age; the cut-off leaves order 4 out; max 3 --------------------
CREATE TEMP TABLE w82 AS
SELECT erp.create_wave('TAP82-DC', 3, (SELECT created_at + interval '1 minute' FROM erp.sales_order WHERE external_ref = 'TAP82-1')) AS wave_id;
SELECT is((SELECT string_agg(o82.n::text, ',' ORDER BY wo.seq) FROM erp.wave_order wo JOIN o82 USING (order_id)
            WHERE wo.wave_id = (SELECT wave_id FROM w82)), '3,1,2',
    'the urgent order 3 first, then 1 and 2 by age; order 4 came after the cut-off');
SELECT is((SELECT array_agg(format('%s %s %s %s %s', seq, coalesce(bin, '-'), sku, qty,
                                   (SELECT string_agg(o82.n::text, ',' ORDER BY o82.n) FROM o82 WHERE o82.order_id = ANY (p.order_ids)))
                            ORDER BY seq)
             FROM erp.pick_list((SELECT wave_id FROM w82)) p),
    ARRAY['1 A-10 TAP82-Y 2 1', '2 B-20 TAP82-Y 1 1', '3 B-20 TAP82-Z 3 2,3', '4 C-30 TAP82-X 3 1,3'],
    'one walk A-10, B-20, C-30: Y from A-10 until it is empty, then B-20; the units and their orders per stop');
CREATE TEMP TABLE w82b AS SELECT erp.create_wave('TAP82-DC') AS wave_id;
SELECT is((SELECT string_agg(o82.n::text, ',' ORDER BY wo.seq) FROM erp.wave_order wo JOIN o82 USING (order_id)
            WHERE wo.wave_id = (SELECT wave_id FROM w82b)), '4',
    'without a cut-off the next wave takes order 4 only: the others are in a wave at this node already');
SELECT throws_ok($$SELECT erp.create_wave('TAP82-DC')$$, 'IE010', 'no allocated orders to pick at node "TAP82-DC"',
    'then no order is left to wave (IE010)');
SELECT is((SELECT count(*) FROM erp.wave), (SELECT split_part(b, '|', 2)::bigint + 2 FROM before82),
    'two waves in all');

-- Picking by wave -------------------------------------------------------------------
CREATE TEMP TABLE before82b AS SELECT pg_temp.books() AS b;
SELECT throws_ok(format('SELECT erp.pick_wave(%s, %L, %L, 1)', (SELECT wave_id FROM w82), 'A-10', 'TAP82-NOPE'), 'IE007', NULL,
    'a scan of no item of the wave (IE007)');
SELECT throws_ok(format('SELECT erp.pick_wave(%s, %L, %L, 4)', (SELECT wave_id FROM w82), 'C-30', 'TAP82-X'), 'IE004',
    format('cannot pick 4 of "TAP82-X" in wave %s: 3 left to pick', (SELECT wave_id FROM w82)), 'more than the wave needs (IE004)');
SELECT throws_ok(format('SELECT erp.pick_wave(%s, %L, %L, 0)', (SELECT wave_id FROM w82), 'C-30', 'TAP82-X'), 'IE004', NULL, 'qty 0 (IE004)');
SELECT throws_ok($$SELECT erp.pick_wave(-1, 'C-30', 'TAP82-X', 1)$$, 'IE003', 'unknown wave -1', 'unknown wave (IE003)');
SELECT is(pg_temp.books(), (SELECT b FROM before82b), 'the refused picks changed nothing');

SELECT is(erp.pick_wave((SELECT wave_id FROM w82), 'A-10', 'TAP82-Y', 2), 2::bigint, 'stop 1: 2 Y from A-10');
SELECT is(erp.pick_wave((SELECT wave_id FROM w82), 'B-20', 'TAP82-Z', 3), 3::bigint, 'stop 3: 3 Z from B-20 for orders 3 and 2');
SELECT is(erp.pick_wave((SELECT wave_id FROM w82), 'C-30', '5901234123457', 3), 3::bigint, 'stop 4: 3 X by GTIN for orders 3 and 1');
SELECT is((SELECT string_agg(format('%s:%s/%s', o82.n, r.qty_picked, r.qty), ' ' ORDER BY o82.n, r.line_no)
             FROM erp.reservation r JOIN o82 USING (order_id) WHERE o82.n < 4),
    '1:1/1 1:2/3 2:2/2 3:2/2 3:1/1', 'each order''s lines are picked in wave order; order 1 still has 1 Y to pick');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after picking by wave');

SELECT * FROM finish();
ROLLBACK;
