-- 23-lot-tracked-guard.sql (found by the break-it pass of issue 9): 0.3.0 refuses
-- making an item with stock into a kit (IE010), but an erp_admin may still set
-- lot_tracked on an item whose stock has no lot.  Afterwards the 100 units on
-- hand are stranded: erp.atp says 0, a new order goes short, and every move,
-- count and transfer of them is refused ("a lot is required") - erp.verify()
-- stays empty.  Expected: the change refused (IE010) while lot-less stock
-- exists.  Actual (1ccb86a): accepted.
BEGIN;
SELECT plan(3);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK23-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK23-DC', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('BRK23-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'BRK23-WEB' AND n.code = 'BRK23-DC';
CREATE ROLE brk23_admin;
GRANT erp_admin, erp_operator TO brk23_admin;
SELECT erp.receive('BRK23-TEE', 'BRK23-DC', 100);

SET ROLE brk23_admin;
SELECT throws_ok($$UPDATE erp.item SET lot_tracked = true WHERE sku = 'BRK23-TEE'$$, 'IE010', NULL,
                 'an item whose stock has no lot cannot become lot-tracked');
RESET ROLE;
SELECT is(erp.atp('BRK23-TEE', 'BRK23-DC'), 100::bigint, 'its 100 units can still be promised');
SELECT erp.capture_order('BRK23-WEB', 'BRK23-1', '[{"sku": "BRK23-TEE", "qty": 1}]') AS o \gset
SELECT count(*) FROM erp.allocate(:o);
SELECT is((SELECT status::text FROM erp.order_line WHERE order_id = :o), 'allocated', 'and allocated');

SELECT * FROM finish();
ROLLBACK;
