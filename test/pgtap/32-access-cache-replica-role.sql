-- 32-access-cache-replica-role.sql (break-kernel): the partner rule's cache of
-- erp.node_access (src/access.c: grants kept per backend, dropped on a relcache
-- invalidation of erp.node_access that its statement trigger erp.reload_rules
-- sends).  The trigger is an ORIGIN trigger: a change written under
-- session_replication_role = replica -- a logical replication subscriber's apply
-- worker, a data-only restore -- sends nothing, and every session that has read
-- erp.node_access keeps the old partner list for good.  Governance rule 2: role
-- names are resolved at every check, "in every session, pooled ones included".
-- A role listed as a partner must see its nodes only at its next check; a partner
-- moved to another node must no longer act on the old one (IE009).
BEGIN;
SELECT plan(5);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP32-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('TAP32-DC', 'warehouse'), ('TAP32-3PL', '3pl'), ('TAP32-3PL-B', '3pl');
SELECT erp.receive('TAP32-TEE', 'TAP32-DC', 10), erp.receive('TAP32-TEE', 'TAP32-3PL', 7);
CREATE ROLE tap32_partner;
GRANT erp_operator TO tap32_partner;

-- the session reads erp.node_access (the partner rule is cached): not yet a partner
SET LOCAL ROLE tap32_partner;
SELECT is(erp.visible_nodes(), NULL, '(not listed: no partner, sees everything)');
RESET ROLE;

-- listed by a replicated change
SET LOCAL session_replication_role = replica;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap32_partner', node_id FROM erp.node WHERE code = 'TAP32-3PL';
SET LOCAL session_replication_role = origin;

SET LOCAL ROLE tap32_partner;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT node_id FROM erp.node WHERE code = 'TAP32-3PL')],
    'a role listed in erp.node_access under replica role is a partner of its node at its next check');
SELECT is((SELECT count(*)::int FROM erp.stock_balance b JOIN erp.node n USING (node_id) WHERE n.code = 'TAP32-DC'), 0,
    'the new partner does not see another node''s stock');
RESET ROLE;

-- moved to another node by a replicated change
SET LOCAL session_replication_role = replica;
UPDATE erp.node_access SET node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP32-3PL-B') WHERE role_name = 'tap32_partner';
SET LOCAL session_replication_role = origin;

SET LOCAL ROLE tap32_partner;
SELECT throws_ok($$SELECT erp.move('TAP32-TEE', 'TAP32-3PL', 1, 'available', 'damaged', 'damage')$$, 'IE009', NULL,
    'a partner moved to another node under replica role can no longer move stock at its old node (IE009)');
RESET ROLE;
SELECT is(erp.atp('TAP32-TEE', 'TAP32-3PL'), 7::bigint, 'and nothing moved there');

SELECT * FROM finish();
ROLLBACK;
