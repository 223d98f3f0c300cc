-- Supply inputs and partner reach: every refusal is of class IE and changes
-- nothing; a partner role reaches neither other nodes' purchase orders, nor
-- their replenishment rows, nor their events.
BEGIN;
SELECT plan(14);

INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP06-SUP', 5);
INSERT INTO erp.item (sku, unit_cost) VALUES ('TAP06-TEE', 4);
INSERT INTO erp.node (code) VALUES ('TAP06-DC'), ('TAP06-3PL');
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to)
SELECT i.item_id, n.node_id, 10, 30 FROM erp.item i, erp.node n WHERE i.sku = 'TAP06-TEE' AND n.code LIKE 'TAP06-%';
CREATE TEMP TABLE tap06 AS
SELECT erp.create_po('TAP06-SUP', 'TAP06-DC', '[{"sku": "TAP06-TEE", "qty": 5}]', now() + interval '3 days') AS po;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT count(*) FROM erp.purchase_order) || '/' ||
           (SELECT string_agg(expected_at::text, ',' ORDER BY purchase_order_id) FROM erp.purchase_order) || '/' ||
           (SELECT count(*) FROM erp.event)
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.books() AS b;

SELECT throws_ok($$SELECT erp.create_po('TAP06-SUP', 'TAP06-DC', '[{"sku": "TAP06-TEE", "qty": 5, "unit_cost": -1}]', now())$$,
    'IE004', NULL, 'a negative unit cost is refused with IE004, not a constraint error, or integrations could not tell why');
SELECT throws_ok($$SELECT erp.create_po('TAP06-SUP', 'TAP06-DC', '[{"sku": "TAP06-TEE", "qty": 5, "unit_cost": "cheap"}]', now())$$,
    'IE004', NULL, 'a unit cost that is no number is refused with IE004');
SELECT throws_ok($$SELECT erp.create_po('TAP06-SUP', 'TAP06-DC', '[{"sku": "TAP06-TEE", "qty": 5}]', NULL)$$,
    'IE004', 'purchase order from "TAP06-SUP" needs an expected_at date', 'a purchase order without a date is refused with IE004');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP06-TEE", "qty": 1, "lot": "L1", "expires_on": "2031-01-01"}]')$$, po),
    'IE003', 'sku "TAP06-TEE" is not lot-tracked, but a lot or expiry was given',
    'a lot given for an item that is not lot-tracked is refused, or it would be silently dropped') FROM tap06;
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP06-TEE", "qty": 1, "expires_on": "2031-13-01"}]')$$, po),
    'IE004', 'invalid expires_on "2031-13-01"', 'a date that does not exist is refused with IE004, not a date parser error') FROM tap06;
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused calls changed nothing');

-- a partner of the 3PL
CREATE ROLE tap06_partner;
GRANT erp_operator TO tap06_partner;
GRANT SELECT ON tap06 TO tap06_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap06_partner', node_id FROM erp.node WHERE code = 'TAP06-3PL';
INSERT INTO erp.event (kind, node_id) SELECT 'tap06', node_id FROM erp.node WHERE code = 'TAP06-DC';
UPDATE before SET b = pg_temp.books();
SET LOCAL ROLE tap06_partner;
SELECT throws_ok(format('SELECT erp.delay_po(%s, now() + interval ''30 days'')', po), 'IE009', NULL,
    'a partner cannot delay another node''s purchase order, or it could move dates it cannot even see') FROM tap06;
SELECT results_eq($$SELECT node FROM erp.replenishment WHERE sku = 'TAP06-TEE'$$, $$VALUES ('TAP06-3PL')$$,
    'a partner sees only its own node in erp.replenishment, or other nodes'' positions would leak (with wrong numbers)');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'tap06'), 0::bigint,
    'a partner does not see events about other nodes');
SELECT is((SELECT count(*) FROM erp.purchase_order WHERE node_id <> (SELECT node_id FROM erp.node WHERE code = 'TAP06-3PL')), 0::bigint,
    'a partner does not see other nodes'' purchase orders');
SELECT is(erp.visible_nodes(), ARRAY[(SELECT node_id FROM erp.node WHERE code = 'TAP06-3PL')],
    'erp.visible_nodes() is the partner''s node list');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the partner''s refused delay changed nothing');
SELECT is(erp.visible_nodes(), NULL, 'a superuser is no partner: erp.visible_nodes() is NULL');
SELECT is((SELECT count(*) FROM erp.replenishment WHERE sku = 'TAP06-TEE'), 2::bigint, 'everyone else sees both nodes');

SELECT * FROM finish();
ROLLBACK;
