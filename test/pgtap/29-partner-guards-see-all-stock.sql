-- 29-partner-guards-see-all-stock.sql (issue 10): the master-data guards run as
-- the extension's owner so that they see every node's stock, whatever the
-- caller may see (82_guards.sql: "sees every node's stock and documents,
-- whatever row level security shows the administrator").  With erp.stock_balance
-- a table under row level security, its superuser owner bypassed the partner
-- rule; erp.stock_balance is now a view that applies the partner rule itself,
-- by the session's partner identity, whoever runs it.  An administrator that is
-- also a partner (listed in erp.node_access for its own node) must still be
-- refused making an item with stock at another node lot-tracked, or a kit:
-- those units would be stranded.  And a SECURITY DEFINER function of a role
-- that bypasses row level security reads every node's balances, as it reads
-- every node's ledger rows.
BEGIN;
SELECT plan(9);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP29-TEE', 5, 20), ('TAP29-BOX', 5, 20), ('TAP29-CAP', 1, 4);
INSERT INTO erp.node (code, kind) VALUES ('TAP29-DC', 'warehouse'), ('TAP29-3PL', '3pl');
SELECT erp.receive('TAP29-TEE', 'TAP29-DC', 100), erp.receive('TAP29-BOX', 'TAP29-DC', 3),
       erp.receive('TAP29-CAP', 'TAP29-3PL', 7);
CREATE ROLE tap29_3pl_admin;
GRANT erp_admin, erp_operator TO tap29_3pl_admin;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap29_3pl_admin', node_id FROM erp.node WHERE code = 'TAP29-3PL';
-- the whole database's units, read by the superuser's own function
CREATE FUNCTION pg_temp.all_units() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$
    SELECT (SELECT sum(qty) FROM erp.stock_balance b JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP29-%')
           || '/' || (SELECT sum(qty) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP29-%')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.all_units() TO PUBLIC;

SET LOCAL ROLE tap29_3pl_admin;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT node_id FROM erp.node WHERE code = 'TAP29-3PL')],
    '(the administrator is a partner of TAP29-3PL)');
SELECT is((SELECT count(*)::int FROM erp.stock_balance b JOIN erp.node n USING (node_id) WHERE n.code = 'TAP29-DC'), 0,
    '(it does not see TAP29-DC''s stock itself: the checks below are not vacuous)');
SELECT throws_ok($$UPDATE erp.item SET lot_tracked = true WHERE sku = 'TAP29-TEE'$$, 'IE010', NULL,
    'a partner administrator cannot make an item lot-tracked while another node holds it without a lot, or those units would be stranded');
SELECT throws_ok($$INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
                   SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c WHERE k.sku = 'TAP29-BOX' AND c.sku = 'TAP29-CAP'$$,
    'IE010', NULL,
    'a partner administrator cannot make an item a kit while another node holds it, or its units would be outside every availability');
SELECT is(pg_temp.all_units(), '110/110',
    'a SECURITY DEFINER function of the superuser, called by a partner, reads every node''s balances as it reads every node''s ledger rows');
RESET ROLE;
SELECT is((SELECT lot_tracked FROM erp.item WHERE sku = 'TAP29-TEE'), false, 'the item is not lot-tracked');
SELECT is((SELECT count(*)::int FROM erp.item_component c JOIN erp.item k ON k.item_id = c.kit_item_id WHERE k.sku = 'TAP29-BOX'), 0,
    'the item is not a kit');
SELECT is(erp.atp('TAP29-TEE', 'TAP29-DC'), 100::bigint, 'its 100 units can still be promised');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
