-- 83_uom.sql: units of measure (issue 16).  A case's GTIN (erp.item_uom) scanned
-- at erp.pick counts as its units (qty counts cases); erp.uom_units converts a uom
-- to units for order lines given in cases; refusals change nothing.
BEGIN;
SELECT plan(12);

INSERT INTO erp.node (code) VALUES ('TAP83-DC');
INSERT INTO erp.channel (code) VALUES ('TAP83-B2B');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP83-B2B' AND n.code = 'TAP83-DC';
INSERT INTO erp.item (sku, unit_cost, unit_price, gtin) VALUES ('TAP83-SOAP', 1, 2, '5901234123457');
INSERT INTO erp.item_uom (item_id, uom, units, gtin)
SELECT item_id, v.uom, v.units, v.gtin::erp.gtin FROM erp.item, (VALUES ('inner', 6, '15901234123454'), ('case', 24, '25901234123451')) v(uom, units, gtin)
 WHERE sku = 'TAP83-SOAP';
SELECT erp.receive('TAP83-SOAP', 'TAP83-DC', 100);
CREATE TEMP TABLE o83 AS
SELECT erp.capture_order('TAP83-B2B', 'TAP83-1', jsonb_build_array(jsonb_build_object(
           'sku', 'TAP83-SOAP', 'qty', erp.uom_units((SELECT item_id FROM erp.item WHERE sku = 'TAP83-SOAP'), 'case') * 2 + 7))) AS order_id;
SELECT count(*) FROM erp.allocate((SELECT order_id FROM o83));
CREATE FUNCTION pg_temp.picked() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s|%s', sum(qty_picked), sum(qty), (SELECT count(*) FROM erp.stock_move))
      FROM erp.reservation WHERE order_id = (SELECT order_id FROM o83)
$$;

SELECT is(erp.uom_units((SELECT item_id FROM erp.item WHERE sku = 'TAP83-SOAP'), 'case'), 24::bigint, 'a case holds 24');
SELECT is(erp.uom_units((SELECT item_id FROM erp.item WHERE sku = 'TAP83-SOAP'), 'each'), 1::bigint, 'each is 1 without a row');
SELECT throws_ok($$SELECT erp.uom_units((SELECT item_id FROM erp.item WHERE sku = 'TAP83-SOAP'), 'pallet')$$, 'IE003',
    NULL, 'a uom the item has no row for (IE003)');
SELECT is(pg_temp.picked(), '0/55|' || (SELECT count(*) FROM erp.stock_move), 'the order holds 2 cases and 7 eaches: 55 units');

SELECT lives_ok(format('SELECT erp.pick(%s, %L)', (SELECT order_id FROM o83), '25901234123451'), 'one case scanned');
SELECT is(split_part(pg_temp.picked(), '|', 1), '24/55', 'the case''s GTIN counts its 24 units');
SELECT lives_ok(format('SELECT erp.pick(%s, %L)', (SELECT order_id FROM o83), '(01)25901234123451(30)1'), 'a GS1 scan of the case');
SELECT is(split_part(pg_temp.picked(), '|', 1), '48/55', 'AI 01 of a case counts its units too');
CREATE TEMP TABLE before83 AS SELECT pg_temp.picked() AS p;
SELECT throws_ok(format('SELECT erp.pick(%s, %L, 2)', (SELECT order_id FROM o83), '15901234123454'), 'IE004', NULL,
    'two inners are 12 units, 7 are left to pick (IE004)');
SELECT throws_ok(format('SELECT erp.pick(%s, %L, 1000000000)', (SELECT order_id FROM o83), '15901234123454'), 'IE004', NULL,
    'a billion inners overflow the bound (IE004)');
SELECT is(pg_temp.picked(), (SELECT p FROM before83), 'the refusals changed nothing');
SELECT lives_ok(format('SELECT erp.pick(%s, %L, 7)', (SELECT order_id FROM o83), '5901234123457'), 'the item''s own GTIN is one unit');

SELECT * FROM finish();
ROLLBACK;
