-- The KPI views keep counting a backorder while the rest of its line is being
-- picked, and show a partner its own nodes only, promises included.
BEGIN;
SELECT plan(15);

INSERT INTO erp.item (sku, unit_price, allow_backorder) VALUES ('TAP07-LAMP', 30, true);
INSERT INTO erp.node (code) VALUES ('TAP07-DC'), ('TAP07-ST');
INSERT INTO erp.channel (code) VALUES ('TAP07-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'TAP07-WEB' AND n.code LIKE 'TAP07-%';
SELECT erp.receive('TAP07-LAMP', 'TAP07-DC', 2), erp.receive('TAP07-LAMP', 'TAP07-ST', 1);
CREATE TEMP TABLE tap07 AS
SELECT erp.capture_order('TAP07-WEB', 'TAP07-1', '[{"sku": "TAP07-LAMP", "qty": 5}]') AS o;
SELECT count(*) FROM tap07, LATERAL erp.allocate(o);
SELECT erp.pick(o, 'TAP07-LAMP', 3) FROM tap07;

SELECT is((SELECT units_backordered FROM erp.kpi_backorder_exposure WHERE sku = 'TAP07-LAMP'), 2::bigint,
    'the 2 backordered lamps stay exposed while the 3 allocated ones are picked, or the risk would vanish from the view');
SELECT cmp_ok((SELECT units_backordered FROM erp.dashboard), '>=', 2::bigint,
    'the dashboard counts them too');

-- policy changes: on the dashboard and in erp.policy_audit
CREATE TEMP TABLE tap07_before AS SELECT policy_changes_7d AS n FROM erp.dashboard;
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('refund', 500.00)
    ON CONFLICT (kind) DO UPDATE SET max_auto_value = 500.00;
SELECT is((SELECT policy_changes_7d FROM erp.dashboard) - (SELECT n FROM tap07_before), 1::bigint,
    'a change of the refund threshold shows on the dashboard''s policy_changes_7d, or the operations lead would never see it');
SELECT is((SELECT new_row->>'max_auto_value' FROM erp.policy_audit WHERE table_name = 'approval_policy' LIMIT 1), '500.00',
    'erp.policy_audit lists the newest change first, with the row after it');
SELECT columns_are('erp', 'policy_audit',
    ARRAY['policy_change_id', 'changed_at', 'changed_by', 'table_name', 'operation', 'changed_columns', 'old_row', 'new_row'],
    'erp.policy_audit has the documented columns');

-- a transfer DC -> store, received; then four more lamps at the DC
SELECT erp.receive_transfer(erp.transfer('TAP07-LAMP', 'TAP07-DC', 'TAP07-ST', 1))
  FROM (SELECT erp.receive('TAP07-LAMP', 'TAP07-DC', 1)) x;
SELECT erp.receive('TAP07-LAMP', 'TAP07-DC', 4);
CREATE ROLE tap07_store;
GRANT erp_operator TO tap07_store;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap07_store', node_id FROM erp.node WHERE code = 'TAP07-ST';
SET LOCAL ROLE tap07_store;
SELECT is((SELECT atp FROM erp.channel_availability WHERE channel = 'TAP07-WEB' AND sku = 'TAP07-LAMP'), 1::bigint,
    'a partner''s channel feed is promised from its own node only, or it would publish stock it cannot see');
SELECT is(erp.atp('TAP07-LAMP'), 1::bigint, 'erp.atp without a node counts the partner''s node only: its 1 lamp, not the DC''s 4');
SELECT is((SELECT array_agg(node ORDER BY node) FROM erp.kpi_adjustment_rate WHERE node LIKE 'TAP07-%'), ARRAY['TAP07-ST']::text[],
    'a partner sees its own node''s row of the adjustment rate, not the node a transfer came from');
SELECT is((SELECT count(*) FROM erp.rma r JOIN erp.rma_line l USING (rma_id) JOIN erp.node n ON n.node_id = l.node_id
            WHERE n.code <> 'TAP07-ST'), 0::bigint, 'a partner sees no returns of other nodes');
RESET ROLE;
SELECT is(erp.atp('TAP07-LAMP'), 5::bigint, 'everyone else is promised from every node: 1 + 4');

-- erp.create_publication: a name PostgreSQL would refuse or silently truncate is refused first
SELECT throws_ok($$SELECT erp.create_publication(NULL)$$, 'IE004', NULL,
    'a publication needs a name: no undocumented 22004');
SELECT throws_ok($$SELECT erp.create_publication('')$$, 'IE004', NULL,
    'an empty name is refused with IE004, not a syntax error');
SELECT throws_ok($$SELECT erp.create_publication(repeat('p', 64))$$, 'IE004', NULL,
    'a 64-byte name would be truncated to another name: refused');
SELECT erp.create_publication('tap07_pub');
SELECT throws_ok($$SELECT erp.create_publication('tap07_pub')$$, 'IE010', NULL,
    'a name in use is refused with IE010');
SELECT is((SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname LIKE 'tap07%' OR pubname LIKE 'ppp%'), 1::bigint,
    'and the refusals created nothing: only the one publication exists');

SELECT * FROM finish();
ROLLBACK;
