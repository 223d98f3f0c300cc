-- 25-channel-node-recorded.sql (found by the break-it pass of issue 9): the partner
-- rule gives a partner every order that holds no stock yet on a channel one of
-- its nodes fulfils (src/access.c, AccessOrderOwn).  So erp.channel_node is an
-- access grant, like erp.node_access: an erp_admin who attaches the partner's
-- node to the shop's channel lets the partner see and cancel every captured,
-- not yet allocated order of that channel.  erp.node_access changes are
-- recorded in erp.policy_change; erp.channel_node changes are not.
-- Expected: the grant is recorded (or refused).  Actual (1ccb86a): no record
-- (and the partner may then cancel the shop's order: erp.cancel_order works).
BEGIN;
SELECT plan(5);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK25-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK25-DC', 'warehouse'), ('BRK25-3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('BRK25-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'BRK25-WEB' AND n.code = 'BRK25-DC';
CREATE ROLE brk25_admin;
CREATE ROLE brk25_partner;
GRANT erp_admin, erp_operator TO brk25_admin;
GRANT erp_operator TO brk25_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'brk25_partner', node_id FROM erp.node WHERE code = 'BRK25-3PL';
SELECT erp.capture_order('BRK25-WEB', 'BRK25-1', '[{"sku": "BRK25-TEE", "qty": 1}]') AS o \gset
CREATE TEMP TABLE brk25 (n bigint);
GRANT ALL ON brk25 TO PUBLIC;
INSERT INTO brk25 SELECT count(*) FROM erp.policy_change;

SET ROLE brk25_partner;
SELECT is((SELECT count(*) FROM erp.sales_order WHERE order_id = :o), 0::bigint, '(the partner does not see the shop''s order)');
RESET ROLE;
SET ROLE brk25_admin;
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 9 FROM erp.channel c, erp.node n WHERE c.code = 'BRK25-WEB' AND n.code = 'BRK25-3PL';
RESET ROLE;
SELECT cmp_ok((SELECT count(*) FROM erp.policy_change), '>', (SELECT n FROM brk25),
              'attaching the partner''s node to the shop''s channel (an access grant) is recorded in erp.policy_change');
-- (gov2) who, what, and the other channel tables
SELECT results_eq($$SELECT changed_by::text COLLATE "default", operation, (new_row->>'rank')::int
                      FROM erp.policy_change WHERE changed_by = 'brk25_admin' ORDER BY policy_change_id$$,
                  $$VALUES ('brk25_admin', 'INSERT', 9)$$,
                  'one row by the admin: it attached a node to a channel, with the row attached');
SET ROLE brk25_admin;
DELETE FROM erp.channel_node WHERE rank = 9;
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 5 FROM erp.item i, erp.channel c WHERE i.sku = 'BRK25-TEE' AND c.code = 'BRK25-WEB';
RESET ROLE;
SELECT results_eq($$SELECT table_name::text COLLATE "default", operation FROM erp.policy_change
                     WHERE changed_by = 'brk25_admin' ORDER BY policy_change_id$$,
                  $$VALUES ('channel_node', 'INSERT'), ('channel_node', 'DELETE'), ('channel_reserve', 'INSERT')$$,
                  'detaching the node and ring-fencing stock for the channel are recorded too');
SELECT is((SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = 'erp.stock_policy'::regclass AND NOT t.tgisinternal
              AND t.tgfoid = 'erp.record_policy_change()'::regprocedure), 0::bigint,
          'erp.stock_policy (planning parameters) is deliberately not recorded');
SELECT * FROM finish();
ROLLBACK;
