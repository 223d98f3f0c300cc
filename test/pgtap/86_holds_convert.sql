-- 86_holds_convert.sql: a checkout hold becomes an order (issue 16 item 4,
-- doc/warehouse.md "Checkout holds"): capture_order(..., hold_ref) moves the hold's
-- reserved units to the order's lines without releasing them (no ledger row, ATP
-- unchanged), the hold is converted, the order is allocated for the rest; a
-- redelivery changes nothing; a hold of another channel, converted, expired or
-- released, lines that do not ask for every held unit, an order arriving on hold are
-- refused (IE003 / IE010) and change nothing; the hold keeps its units while a flash
-- sale takes every other unit.  erp.verify() stays empty.
--
-- Master data uses codes starting with TAP86- and is rolled back at the end.
BEGIN;
SELECT plan(45);

INSERT INTO erp.node (code, kind) VALUES ('TAP86-N1', 'warehouse'), ('TAP86-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP86-WEB', 'storefront'), ('TAP86-OTH', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP86-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TAP86-WEB' AND n.code LIKE 'TAP86-N%';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP86-OTH' AND n.code = 'TAP86-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP86-A', 'plain', 4, 10, false), ('TAP86-B', 'plain too', 2, 5, false);
SELECT erp.receive('TAP86-A', 'TAP86-N1', 10), erp.receive('TAP86-A', 'TAP86-N2', 5), erp.receive('TAP86-B', 'TAP86-N1', 6);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.atp(sku text DEFAULT 'TAP86-A') RETURNS bigint LANGUAGE sql
    AS $$ SELECT erp.atp(sku, NULL, 'TAP86-WEB') $$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
-- an order as text: status, each line's status:qty_allocated, units reserved
CREATE FUNCTION pg_temp.o(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT o.status || ' ' || (SELECT string_agg(l.status || ':' || l.qty_allocated, ',' ORDER BY l.line_no)
                                 FROM erp.order_line l WHERE l.order_id = o.order_id)
           || ' reserved ' || COALESCE((SELECT sum(r.qty) FROM erp.reservation r WHERE r.order_id = o.order_id), 0)
      FROM erp.sales_order o WHERE o.external_ref = ref $$;
CREATE FUNCTION pg_temp.moves() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP86-%' $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, qty, open), ';' ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, state, qty), ';' ORDER BY item_id, node_id, state) FROM erp.stock_balance),
        (SELECT string_agg(concat_ws(',', order_id, line_no, node_id, qty), ';' ORDER BY order_id, line_no, node_id) FROM erp.reservation),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty_allocated, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event), (SELECT count(*) FROM erp.sales_order))) $$;
CREATE FUNCTION pg_temp.lines_at(h bigint) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(DISTINCT n.code, ',') FROM erp.checkout_hold_line l JOIN erp.node n USING (node_id)
     WHERE l.item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = h) AS bigint[]))
       AND l.hold_id = h AND l.open $$;
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;

SELECT has_function('erp', 'capture_order', ARRAY['text', 'text', 'jsonb', 'jsonb', 'integer', 'text', 'bigint'],
    'capture_order takes hold_ref as its 7th argument');

-- Conversion keeps the units ------------------------------------------------------------------

SELECT erp.hold('TAP86-WEB', 'TAP86-K1', '[{"sku": "TAP86-A", "qty": 4}]') AS h1 \gset
SELECT is(pg_temp.atp(), 11::bigint, 'the hold takes 4 of 15');
SELECT pg_temp.moves() AS m0 \gset
SELECT erp.capture_order('TAP86-WEB', 'TAP86-O1', '[{"sku": "TAP86-A", "qty": 4}]', hold_ref => :h1) AS o1 \gset
SELECT is(pg_temp.o('TAP86-O1'), 'allocated allocated:4 reserved 4', 'the order holds the 4 units: allocated');
SELECT is(pg_temp.moves(), :m0::bigint, 'no ledger row: the units were never released and taken again');
SELECT is(pg_temp.atp(), 11::bigint, 'ATP unchanged by the conversion');
SELECT is((SELECT string_agg(n.code || ':' || r.qty, ',') FROM erp.reservation r JOIN erp.node n USING (node_id)
            WHERE r.order_id = :o1), 'TAP86-N1:4', 'the reservation is at the node the hold reserved at');
SELECT is((SELECT status::text || ' ' || order_id FROM erp.checkout_hold WHERE hold_id = :h1), 'converted ' || :o1,
    'the hold is converted into the order');
SELECT is((SELECT count(*) FROM erp.checkout_hold_line l JOIN erp.item i USING (item_id)
            WHERE i.sku = 'TAP86-A' AND l.hold_id = :h1 AND l.open), 0::bigint, 'its lines are closed');
SELECT is((SELECT count(*) FROM erp.event WHERE kind LIKE 'hold%' AND order_id = :o1), 0::bigint,
    'the conversion writes no event of its own (the order''s capture says it)');
SELECT is_empty('SELECT * FROM erp.verify()', 'verify() is empty after the conversion');

-- A redelivery changes nothing -------------------------------------------------------------------

SELECT pg_temp.state() AS s0 \gset
SELECT is(erp.capture_order('TAP86-WEB', 'TAP86-O1', '[{"sku": "TAP86-A", "qty": 4}]', hold_ref => :h1), :o1::bigint,
    'the redelivered order with its hold returns the same id');
SELECT is(pg_temp.state(), :'s0', 'and changes nothing');

-- The rest is allocated as usual --------------------------------------------------------------

SELECT erp.hold('TAP86-WEB', 'TAP86-K2', '[{"sku": "TAP86-A", "qty": 2}]') AS h2 \gset
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-O1', '[{"sku": "TAP86-A", "qty": 4}]', hold_ref => %s)$$, :h2)),
    'IE010', 'a redelivery naming another hold is refused (IE010)');
SELECT is(pg_temp.state() <> :'s0', true, '(the second hold itself changed the state)');
SELECT erp.capture_order('TAP86-WEB', 'TAP86-O2', '[{"sku": "TAP86-A", "qty": 5}, {"sku": "TAP86-B", "qty": 1}]',
                         hold_ref => :h2) AS o2 \gset
SELECT is(pg_temp.o('TAP86-O2'), 'allocated allocated:5,allocated:1 reserved 6',
    'the hold covers 2 of A; allocation reserves the other 3 and B''s 1');
SELECT is(pg_temp.atp(), 6::bigint, 'ATP of A: 11 - 2 held - 3 allocated = 6');
SELECT is(pg_temp.atp('TAP86-B'), 5::bigint, 'ATP of B: 6 - 1');

-- Refusals: exact codes, nothing changed ---------------------------------------------------------

SELECT erp.hold('TAP86-OTH', 'TAP86-K3', '[{"sku": "TAP86-A", "qty": 1}]') AS h3 \gset
SELECT erp.hold('TAP86-WEB', 'TAP86-K4', '[{"sku": "TAP86-A", "qty": 1}]') AS h4 \gset
SELECT erp.hold('TAP86-WEB', 'TAP86-K5', '[{"sku": "TAP86-A", "qty": 1}]') AS h5 \gset
SELECT erp.release_hold(:h5);
SELECT pg_temp.expire('TAP86-K4');
SELECT is(pg_temp.atp(), 5::bigint, 'ATP of A: 6 - 1 (OTH''s hold at shared N1); the expired K4 counts again');
SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R1', '[{"sku": "TAP86-A", "qty": 1}]', hold_ref => -7)$$),
    'IE003', 'an unknown hold: IE003');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R1', '[{"sku": "TAP86-A", "qty": 1}]', hold_ref => %s)$$, :h3)),
    'IE010', 'a hold of another channel: IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R1', '[{"sku": "TAP86-A", "qty": 4}]', hold_ref => %s)$$, :h1)),
    'IE010', 'a hold converted before: IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R1', '[{"sku": "TAP86-A", "qty": 1}]', hold_ref => %s)$$, :h4)),
    'IE010', 'an expired hold (not yet given back): IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R1', '[{"sku": "TAP86-A", "qty": 1}]', hold_ref => %s)$$, :h5)),
    'IE010', 'a released hold: IE010');
SELECT is(pg_temp.state(), :'s1', 'none of these refusals changed anything (no order, no reservation, the holds as they were)');

SELECT erp.hold('TAP86-WEB', 'TAP86-K6', '[{"sku": "TAP86-A", "qty": 3}]') AS h6 \gset
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = :h4), 'expired', 'holding A again gave back the expired K4 first');
SELECT is(pg_temp.atp(), 2::bigint, 'ATP of A: 5 - 3');
SELECT pg_temp.state() AS s2 \gset
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-A", "qty": 2}]', hold_ref => %s)$$, :h6)),
    'IE010', 'an order asking for fewer units than the hold holds: IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-B", "qty": 3}]', hold_ref => %s)$$, :h6)),
    'IE010', 'an order without the held sku: IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-A", "qty": 3}]', '{"hold": "payment"}', hold_ref => %s)$$, :h6)),
    'IE010', 'an order arriving on hold: IE010');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-A", "qty": 3}]', hold_ref => %s)$$, -1)),
    'IE003', 'a negative hold id: IE003');
INSERT INTO erp.customer (code, name, ship_complete) VALUES ('TAP86-SHOP', 'a shop that takes whole orders', true);
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-A", "qty": 3}]', '{"customer": "TAP86-SHOP"}', hold_ref => %s)$$, :h6)),
    'IE010', 'a ship-complete order (the held units may sit at another node than the rest): IE010');
CREATE ROLE t86_partner;
GRANT erp_operator, erp_reader TO t86_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't86_partner', node_id FROM erp.node WHERE code = 'TAP86-N1';
SELECT is(pg_temp.lines_at(:h6), 'TAP86-N2', 'K6''s units are at N2');
SET LOCAL ROLE t86_partner;
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP86-WEB', 'TAP86-R2', '[{"sku": "TAP86-A", "qty": 3}]', hold_ref => %s)$$, :h6)),
    'IE009', 'a partner of N1 converting a hold whose units are at N2: IE009');
RESET ROLE;
SELECT is(pg_temp.state(), :'s2', 'nothing changed: no order, the hold still held with its 3 units');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = :h6), 'held', 'K6 is still held');

-- The hold keeps its units while a flash sale takes every other unit --------------------------------

SELECT erp.capture_order('TAP86-WEB', 'TAP86-F1', '[{"sku": "TAP86-A", "qty": 5}]') AS f1 \gset
SELECT is((SELECT sum(qty) FROM erp.allocate(:f1)), 2::numeric, 'the flash-sale order gets the 2 units not held');
SELECT is(pg_temp.atp(), 0::bigint, 'ATP of A is 0');
SELECT erp.capture_order('TAP86-WEB', 'TAP86-O6', '[{"sku": "TAP86-A", "qty": 3}]', hold_ref => :h6) AS o6 \gset
SELECT is(pg_temp.o('TAP86-O6'), 'allocated allocated:3 reserved 3', 'the converted order still gets its 3 held units');
SELECT is(pg_temp.atp(), 0::bigint, 'ATP of A still 0');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = :h6), 'converted', 'K6 converted');

-- A larger order than the hold: the held units plus allocation -------------------------------------

SELECT erp.hold('TAP86-WEB', 'TAP86-K7', '[{"sku": "TAP86-B", "qty": 2}]') AS h7 \gset
SELECT erp.capture_order('TAP86-WEB', 'TAP86-O7', '[{"sku": "TAP86-B", "qty": 1}, {"sku": "TAP86-B", "qty": 4}]',
                         hold_ref => :h7) AS o7 \gset
SELECT is(pg_temp.o('TAP86-O7'), 'allocated allocated:1,allocated:4 reserved 5',
    'two lines of B: the hold''s 2 units fill line 1 and one unit of line 2; allocation adds the 3 units left (B had 5 - 2)');
SELECT is(pg_temp.atp('TAP86-B'), 0::bigint, 'ATP of B is 0');
SELECT is((SELECT count(*) FROM erp.event WHERE kind IN ('hold_created', 'hold_converted')), 0::bigint,
    'no hold_created or hold_converted event in all');
SELECT is((SELECT converted || '/' || expired || '/' || released || '/' || open FROM erp.hold_conversion WHERE channel = 'TAP86-WEB'),
    '4/1/1/0', 'erp.hold_conversion: 4 converted, 1 expired, 1 released, 0 open for WEB');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() is empty at the end');

SELECT * FROM finish();
ROLLBACK;
