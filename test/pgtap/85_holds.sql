-- 85_holds.sql: timed checkout holds (issue 16 item 4, SPEC 12, doc/warehouse.md
-- "Checkout holds").  A hold lowers ATP by exactly its units at once (reserved through
-- the kernel at the channel's nodes, above safety stock); a retry of the cart returns
-- the same hold; a hold gets every unit or none (IE001); an expired hold counts as
-- available in erp.atp before erp.expire_holds runs and after; allocation gives back
-- expired holds it needs; erp.release_hold gives back an abandoned cart; a partner
-- holds at its own nodes only.  Every refusal changes nothing; erp.verify() stays empty.
--
-- Master data uses codes starting with TAP85- and is rolled back at the end.
BEGIN;
SELECT plan(77);

INSERT INTO erp.node (code, kind) VALUES ('TAP85-N1', 'warehouse'), ('TAP85-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP85-WEB', 'storefront'), ('TAP85-AMZ', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP85-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TAP85-WEB' AND n.code LIKE 'TAP85-N%';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP85-AMZ' AND n.code = 'TAP85-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TAP85-A', 'plain', 4, 10), ('TAP85-B', 'plain too', 2, 5), ('TAP85-C', 'component', 1, 2);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked) VALUES ('TAP85-LOT', 'lots', 1, 2, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP85-KIT', 'kit', 0, 9);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP85-KIT' AND c.sku = 'TAP85-C';
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 2 FROM erp.item i, erp.node n WHERE i.sku = 'TAP85-A' AND n.code = 'TAP85-N1';
SELECT erp.receive('TAP85-A', 'TAP85-N1', 10), erp.receive('TAP85-A', 'TAP85-N2', 5),
       erp.receive('TAP85-B', 'TAP85-N1', 4), erp.receive('TAP85-C', 'TAP85-N1', 6),
       erp.receive('TAP85-LOT', 'TAP85-N1', 3, 'L1', CURRENT_DATE + 400);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.atp(sku text DEFAULT 'TAP85-A', node text DEFAULT NULL) RETURNS bigint LANGUAGE sql
    AS $$ SELECT erp.atp(sku, node, 'TAP85-WEB') $$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
-- a node's units of TAP85-A in a state
CREATE FUNCTION pg_temp.bal(node text, st erp.stock_state) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
      JOIN erp.node n USING (node_id) WHERE i.sku = 'TAP85-A' AND n.code = node AND b.state = st $$;
-- a hold's lines as node:qty (open ones)
CREATE FUNCTION pg_temp.lines(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(n.code || ':' || l.qty, ',' ORDER BY n.code)
      FROM erp.checkout_hold_line l JOIN erp.node n USING (node_id)
     WHERE l.item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND l.hold_id = pg_temp.hold_of(ref) AND l.open $$;
-- everything a hold, an expiry or a refusal could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, qty, open), ';' ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, state, qty), ';' ORDER BY item_id, node_id, state) FROM erp.stock_balance),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event), (SELECT count(*) FROM erp.sales_order))) $$;
-- makes a hold's TTL pass (the tests cannot wait for a clock)
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;

SELECT has_function('erp', 'hold', ARRAY['text', 'text', 'jsonb', 'interval'], 'erp.hold(channel, cart_ref, lines, ttl) exists');
SELECT has_function('erp', 'expire_holds', ARRAY[]::text[], 'erp.expire_holds() exists');

-- A hold lowers ATP by exactly its units ------------------------------------------------

SELECT is(pg_temp.atp(), 13::bigint, 'before any hold: (10 - safety 2) at N1 + 5 at N2 = 13');
SELECT ok(erp.hold('TAP85-WEB', 'TAP85-C1', '[{"sku": "TAP85-A", "qty": 3}]') > 0, 'hold C1 of 3 units');
SELECT is(pg_temp.atp(), 10::bigint, 'ATP drops by exactly the 3 held units at once');
SELECT is(pg_temp.atp('TAP85-A', 'TAP85-N1'), 5::bigint, 'at the first-ranked node N1: 8 - 3');
SELECT is(pg_temp.lines('TAP85-C1'), 'TAP85-N1:3', 'the hold reserved its 3 units at N1, the best rank');
SELECT is(pg_temp.bal('TAP85-N1', 'reserved'), 3::bigint, 'N1''s balance holds 3 reserved units');
SELECT is(pg_temp.bal('TAP85-N1', 'available'), 7::bigint, 'and 7 available');
SELECT is((SELECT count(*) FROM erp.stock_move m JOIN erp.item i USING (item_id)
            WHERE i.sku = 'TAP85-A' AND m.ref = 'hold:' || pg_temp.hold_of('TAP85-C1') AND m.event = 'allocate'),
    1::bigint, 'one ledger row, ref hold:<id>, event allocate');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP85-C1')), 'held', 'status held');
SELECT ok((SELECT expires_at - created_at FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP85-C1')) = interval '15 minutes',
    'the default TTL is 15 minutes');
SELECT is((SELECT count(*) FROM erp.event WHERE kind LIKE 'hold%'), 0::bigint,
    'a hold writes no event (as frequent as orders: it stays in the group commit)');
SELECT is((SELECT available FROM erp.availability WHERE sku = 'TAP85-A' AND node = 'TAP85-N1'), 7::bigint,
    'erp.availability shows 7 available at N1');

-- Idempotent on (channel, cart_ref) while held --------------------------------------------

SELECT pg_temp.state() AS s0 \gset
SELECT is(erp.hold('TAP85-WEB', 'TAP85-C1', '[{"sku": "TAP85-A", "qty": 3}]'), pg_temp.hold_of('TAP85-C1'),
    'a retried hold returns the same id');
SELECT is(pg_temp.state(), :'s0', 'and changes nothing (no second reservation)');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-C1', '[{"sku": "TAP85-A", "qty": 4}]')$$), 'IE010',
    'the same cart with other lines is refused (IE010)');
SELECT is(pg_temp.state(), :'s0', 'the refused retry changed nothing');
SELECT is(pg_temp.atp(), 10::bigint, 'ATP still 10');

-- One node when one can, else several in rank order; all or nothing -----------------------

SELECT ok(erp.hold('TAP85-WEB', 'TAP85-C2', '[{"sku": "TAP85-A", "qty": 9}]', '10 minutes') > 0, 'hold C2 of 9 units');
SELECT is(pg_temp.lines('TAP85-C2'), 'TAP85-N1:5,TAP85-N2:4', 'no node has 9: 5 at N1 (down to its safety stock), 4 at N2');
SELECT is(pg_temp.atp(), 1::bigint, 'ATP 10 - 9 = 1');
SELECT is(pg_temp.bal('TAP85-N1', 'available'), 2::bigint, 'N1 keeps its safety stock of 2');
SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-C3', '[{"sku": "TAP85-B", "qty": 1}, {"sku": "TAP85-A", "qty": 2}]')$$),
    'IE001', 'a hold that cannot get every unit is refused (IE001)');
SELECT is(pg_temp.state(), :'s1', 'and holds nothing, not even the B unit it could get');
SELECT is(pg_temp.atp(), 1::bigint, 'ATP still 1');
SELECT is(pg_temp.atp('TAP85-B'), 4::bigint, 'B''s ATP still 4');

-- Refusals: exact codes, nothing changed -----------------------------------------------------

SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-NOPE', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]')$$), 'IE003', 'unknown channel: IE003');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-NOPE", "qty": 1}]')$$), 'IE003', 'unknown sku: IE003');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"qty": 1}]')$$), 'IE003', 'a line without sku: IE003');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 0}]')$$), 'IE004', 'qty 0: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": -1}]')$$), 'IE004', 'negative qty: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1.5}]')$$), 'IE004', 'a fraction: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1000000000001}]')$$), 'IE004',
    'a huge qty (over 1,000,000,000): IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 99999999999999999999999}]')$$), 'IE004',
    'a qty beyond bigint: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B"}]')$$), 'IE004', 'no qty: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[]')$$), 'IE004', 'no lines: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '{"sku": "TAP85-B"}')$$), 'IE004', 'lines not an array: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[1]')$$), 'IE004', 'a line not an object: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', NULL)$$), 'IE004', 'NULL lines: IE004');
SELECT is(pg_temp.err(format('SELECT erp.hold(%L, %L, %L)', 'TAP85-WEB', 'TAP85-R',
                             (SELECT jsonb_agg(jsonb_build_object('sku', 'TAP85-B', 'qty', 1)) FROM generate_series(1, 1001)))),
    'IE004', '1,001 lines: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', '', '[{"sku": "TAP85-B", "qty": 1}]')$$), 'IE003', 'empty cart_ref: IE003');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', NULL, '[{"sku": "TAP85-B", "qty": 1}]')$$), 'IE003', 'no cart_ref: IE003');
SELECT is(pg_temp.err(format('SELECT erp.hold(%L, %L, %L)', 'TAP85-WEB', repeat('x', 256), '[{"sku": "TAP85-B", "qty": 1}]')),
    'IE004', 'a cart_ref of 256 bytes: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]', '0 seconds')$$), 'IE004', 'ttl 0: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]', '-5 minutes')$$), 'IE004', 'negative ttl: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]', '1 day 1 second')$$), 'IE004', 'ttl over a day: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]', '1 month -29 days')$$), 'IE004', 'a ttl with months: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-B", "qty": 1}]', NULL)$$), 'IE004', 'NULL ttl: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-KIT", "qty": 4}]')$$), 'IE001',
    'a kit is held by its components (98_kit_holds); 4 kits need 8 of C''s 6 units: IE001');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-R', '[{"sku": "TAP85-LOT", "qty": 4}]')$$), 'IE001',
    'a lot-tracked item is held first expiry first (91_lot_holds); 4 of its 3 units: IE001');
SELECT is(pg_temp.state(), :'s1', 'none of the refused holds changed anything');
SELECT is(pg_temp.err(format('SELECT erp.hold(%L, %L, %L)', 'TAP85-WEB', repeat('y', 255), '[{"sku": "TAP85-B", "qty": 1}]')),
    'ok', 'a cart_ref of 255 bytes is accepted');
SELECT is(pg_temp.atp('TAP85-B'), 3::bigint, 'and holds its 1 unit of B');

-- Expiry: ATP is restored before erp.expire_holds runs, and after ---------------------------

SELECT pg_temp.expire('TAP85-C1');
SELECT is(pg_temp.atp(), 4::bigint, 'C1''s TTL passed: its 3 units count in ATP again (1 + 3) before expire_holds runs');
SELECT is(pg_temp.bal('TAP85-N1', 'reserved'), 8::bigint, 'while the balance still holds them reserved (3 + 5)');
SELECT is(erp.expire_holds(), 1, 'expire_holds expires one hold');
SELECT is(pg_temp.atp(), 4::bigint, 'ATP is 4 after it as well');
SELECT is(pg_temp.bal('TAP85-N1', 'reserved'), 5::bigint, 'the 3 units left reserved');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP85-C1')), 'expired', 'C1 is expired');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'hold_expired'
            AND payload->>'hold_id' = pg_temp.hold_of('TAP85-C1')::text), 1::bigint, 'one hold_expired event');
SELECT is(erp.expire_holds(), 0, 'a second run expires nothing');
SELECT ok(erp.hold('TAP85-WEB', 'TAP85-C1', '[{"sku": "TAP85-A", "qty": 3}]') <> (SELECT hold_id FROM erp.checkout_hold
            WHERE cart_ref = 'TAP85-C1' AND status = 'expired'), 'the cart of an expired hold starts a new hold');

-- release_hold gives an abandoned cart back ------------------------------------------------

SELECT is(erp.release_hold(pg_temp.hold_of('TAP85-C2')), 9::bigint, 'release_hold gives back C2''s 9 units');
SELECT is(pg_temp.atp(), 10::bigint, 'ATP 13 - 3 (the new C1) = 10');
SELECT pg_temp.state() AS s2 \gset
SELECT is(pg_temp.err(format('SELECT erp.release_hold(%s)', pg_temp.hold_of('TAP85-C2'))), 'IE010', 'released twice: IE010');
SELECT is(pg_temp.err('SELECT erp.release_hold(-1)'), 'IE003', 'unknown hold: IE003');
SELECT is(pg_temp.state(), :'s2', 'the refused releases changed nothing');

-- Allocation gives back expired holds before it would be short ---------------------------------

SELECT pg_temp.expire('TAP85-C1');
SELECT erp.capture_order('TAP85-AMZ', 'TAP85-O1', '[{"sku": "TAP85-A", "qty": 8}]') AS o1 \gset
SELECT is((SELECT sum(qty) FROM erp.allocate(:o1)), 8::numeric,
    'an AMZ order of 8 at N1 (8 above safety stock, 3 of them in the expired C1) gets all 8');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP85-C1')), 'expired',
    'allocation expired C1 without expire_holds');

-- A partner holds at its own nodes only ----------------------------------------------------------

CREATE ROLE t85_partner;
GRANT erp_operator, erp_reader TO t85_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't85_partner', node_id FROM erp.node WHERE code = 'TAP85-N2';
SET LOCAL ROLE t85_partner;
SELECT ok(erp.hold('TAP85-WEB', 'TAP85-P1', '[{"sku": "TAP85-A", "qty": 2}]') > 0, 'a partner holds 2 units');
RESET ROLE;
SELECT is(pg_temp.lines('TAP85-P1'), 'TAP85-N2:2', 'at its node N2 only');
SELECT pg_temp.state() AS s3 \gset
SET LOCAL ROLE t85_partner;
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-WEB', 'TAP85-P2', '[{"sku": "TAP85-A", "qty": 4}]')$$), 'IE001',
    'more than its node has: IE001, though N1 has none left either way');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP85-AMZ', 'TAP85-P3', '[{"sku": "TAP85-A", "qty": 1}]')$$), 'IE009',
    'a channel none of its nodes serves: IE009');
RESET ROLE;
SELECT is(pg_temp.state(), :'s3', 'the partner''s refused holds changed nothing');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() is empty: reserved = order reservations + open hold lines');

-- verify sees a hold line that disagrees (written directly, as a superuser: no guard on hold lines)
SET LOCAL inventory_erp.restore_mode = on;
UPDATE erp.checkout_hold_line SET qty = qty + 1
 WHERE (item_id, hold_line_id) = (SELECT item_id, hold_line_id FROM erp.checkout_hold_line WHERE open ORDER BY hold_line_id LIMIT 1);
SET LOCAL inventory_erp.restore_mode = off;
SELECT is((SELECT string_agg(DISTINCT regexp_replace(problem, ' [0-9]+$', ''), ' / ') FROM erp.verify()),
    'open hold lines differ from checkout hold / reservations differ from balance',
    'one unit more on an open hold line: verify reports the hold and the reserved balance');

SELECT * FROM finish();
ROLLBACK;
