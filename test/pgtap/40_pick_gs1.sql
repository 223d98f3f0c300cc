-- 38_pick_gs1.sql: erp.pick reads GS1 element strings (issue 11): the GTIN must
-- be on the order, the lot (AI 10) must be the lot first-expiry-first-out
-- reserved, the expiry (AI 17) that lot's; the quantity comes from AI 30/37 when
-- qty is left at its default.  A wrong lot, a wrong expiry or a malformed string
-- is refused (IE007), recorded as a pick_exception, and changes nothing.
--
-- Master data uses codes starting with TAP38- and is rolled back at the end; the
-- pick_exception events, committed by their writer, outlive the ROLLBACK by design
-- (the order is this transaction's, so they name it as uncommitted_order_id).
BEGIN;
SELECT plan(21);

INSERT INTO erp.node (code, kind) VALUES ('TAP38-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP38-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP38-WEB' AND n.code = 'TAP38-DC';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('TAP38-CREAM', 'cream', 1, 10, true, '09501101530003'),
    ('TAP38-TEE', 'tee', 1, 10, false, '5901234123457');
SELECT erp.receive('TAP38-CREAM', 'TAP38-DC', 5, 'L-EARLY', '2030-06-30');
SELECT erp.receive('TAP38-CREAM', 'TAP38-DC', 5, 'L-LATE', '2031-06-30');
SELECT erp.receive('TAP38-TEE', 'TAP38-DC', 5);
CREATE TEMP TABLE tap38 AS
SELECT erp.capture_order('TAP38-WEB', 'TAP38-O1', '[{"sku": "TAP38-CREAM", "qty": 4}, {"sku": "TAP38-TEE", "qty": 2}]') AS order_id;
SELECT count(*) FROM erp.allocate((SELECT order_id FROM tap38));

-- what the order holds per lot: reserved/picked
CREATE FUNCTION pg_temp.held() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s:%s/%s', coalesce(l.lot_code, '-'), r.qty - r.qty_picked, r.qty_picked), ' '
                      ORDER BY l.lot_code NULLS LAST)
      FROM erp.reservation r LEFT JOIN erp.lot l ON l.item_id = r.item_id AND l.lot_id = r.lot_id
     WHERE r.order_id = (SELECT order_id FROM tap38)
$$;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s', pg_temp.held(), (SELECT count(*) FROM erp.stock_move),
                  (SELECT status FROM erp.sales_order WHERE order_id = (SELECT order_id FROM tap38)))
$$;
CREATE FUNCTION pg_temp.exceptions() RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT payload || jsonb_build_object('node', coalesce(node_id, (payload->>'uncommitted_node_id')::bigint))
      FROM erp.event
     WHERE kind = 'pick_exception' AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap38)
     ORDER BY event_id
$$;
CREATE FUNCTION pg_temp.pick(scan text) RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT erp.pick(%s, %L)', (SELECT order_id FROM tap38), scan)
$$;

SELECT is(pg_temp.held(), 'L-EARLY:4/0 -:2/0',
    'FEFO reserved the 4 creams from the lot that expires first');

-- The right lot --------------------------------------------------------------------

SELECT lives_ok(pg_temp.pick(']d201095011015300031730063010L-EARLY' || chr(29) || '302'),
    'a DataMatrix scan of the reserved lot, with its expiry and a count of 2, is picked');
SELECT is(pg_temp.held(), 'L-EARLY:2/2 -:2/0',
    'the count (AI 30) is the quantity when qty is left at its default, or a case would be picked as one unit');
SELECT lives_ok(format('SELECT erp.pick(%s, %L, 1)', (SELECT order_id FROM tap38), '(01)09501101530003(10)L-EARLY(30)2'),
    'the human-readable form is read too; an explicit qty wins over the count');
SELECT is(pg_temp.held(), 'L-EARLY:1/3 -:2/0', 'exactly the 1 unit asked for is picked');

-- A wrong lot, a wrong expiry, a malformed string: IE007, recorded, nothing changed ---

CREATE TEMP TABLE before AS SELECT pg_temp.books() AS b;
SELECT throws_ok(pg_temp.pick('(01)09501101530003(10)L-LATE'), 'IE007',
    format('lot "L-LATE" scanned for sku "TAP38-CREAM" is not the lot reserved for order %s', (SELECT order_id FROM tap38)),
    'a unit of another lot is refused (IE007), or the later lot would ship while the earlier one expires on the shelf');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused wrong lot changed nothing');
SELECT is((SELECT e->>'scan' FROM pg_temp.exceptions() e ORDER BY 1 DESC LIMIT 1), '(01)09501101530003(10)L-LATE',
    'the wrong lot is recorded as a pick_exception with the scan');
SELECT is((SELECT (e->>'node')::bigint FROM pg_temp.exceptions() e LIMIT 1),
    (SELECT node_id FROM erp.node WHERE code = 'TAP38-DC'),
    'the exception names the node the order is picked at');

SELECT throws_ok(pg_temp.pick('(01)09501101530003(17)300701(10)L-EARLY'), 'IE007',
    format('expiry 2030-07-01 scanned for sku "TAP38-CREAM" does not match the lot reserved for order %s', (SELECT order_id FROM tap38)),
    'a label whose expiry is not the lot''s is refused (IE007), or a relabelled unit would pass');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused wrong expiry changed nothing');

SELECT throws_ok(pg_temp.pick('(01)09501101530004(10)L-EARLY'), 'IE007', NULL,
    'a GS1 string with a bad check digit is a wrong scan (IE007), not a crash nor a pick');
SELECT throws_ok(pg_temp.pick(']C1' || '10' || repeat('X', 21)), 'IE007', NULL,
    'a lot longer than GS1 allows is a wrong scan (IE007)');
SELECT throws_ok(pg_temp.pick('(10)L-EARLY'), 'IE007', NULL,
    'a GS1 string without a GTIN names no item: IE007');
SELECT throws_ok(pg_temp.pick('(01)00000000000000'), 'IE007', NULL,
    'a GTIN no item has: IE007');
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused scans changed nothing');
SELECT is((SELECT count(*) FROM pg_temp.exceptions()), 6::bigint,
    'every refused scan is recorded as one pick_exception, or shrinkage at the pick would go unseen');

-- A GS1 scan of an item not kept in lots: its label's lot is not compared -------------

SELECT lives_ok(pg_temp.pick('(01)05901234123457(10)WHATEVER'),
    'an item kept without lots is picked by its GS1 label; the label''s lot is not checked');
SELECT is(pg_temp.held(), 'L-EARLY:1/3 -:1/1', 'one tee picked');

-- Too many from the scanned lot -----------------------------------------------------

SELECT throws_ok(format('SELECT erp.pick(%s, %L, 2)', (SELECT order_id FROM tap38), '(01)09501101530003(10)L-EARLY'),
    'IE004', NULL, 'more than the scanned lot holds for the order is refused (IE004)');
SELECT lives_ok(pg_temp.pick('TAP38-CREAM'), 'a plain sku is picked as before');

SELECT * FROM finish();
ROLLBACK;
