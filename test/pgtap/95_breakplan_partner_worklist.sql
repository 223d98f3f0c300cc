-- 95_breakplan_partner_worklist.sql (break-it pass on issue 15, helper breakplan).
-- erp.worklist's return_inspection rows read erp.rma_line with the caller's
-- row security, which shows a partner a line when EITHER its node (where it
-- shipped from) OR its received node is the partner's.  The project's return
-- rule (governance.md, 5.) gives a partner a return only when every node of
-- its lines is its own (erp.rma_visible), and erp.approval_queue and
-- erp.returns_desk apply it.  The worklist does not: a return shipped from
-- the 3PL and received at the shop's DC shows the 3PL's partner a worklist
-- row "received at <DC> ... not inspected (worth 20.00)" with node = the DC,
-- while erp.returns_desk shows it nothing and erp.rma_visible says false.
-- FAILS on the code as merged (c8cb77e): assertion 4.
BEGIN;
SELECT plan(5);

INSERT INTO erp.node (code) VALUES ('BPW-DC'), ('BPW-3PL');
INSERT INTO erp.channel (code) VALUES ('BPW-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'BPW-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'BPW-WEB' AND n.code LIKE 'BPW-%';
INSERT INTO erp.item (sku, unit_price) VALUES ('BPW-A', 10);
CREATE ROLE bpw_partner;
GRANT erp_operator, erp_reader TO bpw_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'bpw_partner', node_id FROM erp.node WHERE code = 'BPW-3PL';

-- shipped from the 3PL (the only stock), returned to the DC three days ago, not inspected
SELECT erp.receive('BPW-A', 'BPW-3PL', 10);
CREATE TEMP TABLE bpw (o bigint, r bigint);
GRANT SELECT ON bpw TO PUBLIC;
INSERT INTO bpw (o) VALUES (erp.capture_order('BPW-WEB', 'BPW-R1', '[{"sku": "BPW-A", "qty": 2}]'));
SELECT count(*) FROM erp.allocate((SELECT o FROM bpw));
SELECT erp.pick((SELECT o FROM bpw), 'BPW-A', 2), erp.pack((SELECT o FROM bpw)), erp.ship((SELECT o FROM bpw));
UPDATE bpw SET r = erp.authorize_return(o, '[{"sku": "BPW-A", "qty": 2, "reason": "changed_mind"}]');
SELECT erp.receive_return((SELECT r FROM bpw), 'BPW-DC');
UPDATE erp.rma_line SET received_at = now() - interval '3 days' WHERE rma_id = (SELECT r FROM bpw);

SELECT results_eq($$SELECT kind, node, value FROM erp.worklist WHERE kind = 'return_inspection' AND node LIKE 'BPW-%'$$,
    $$VALUES ('return_inspection', 'BPW-DC', 20.00)$$,
    'the business sees the uninspected return at the DC on its worklist');
SET LOCAL ROLE bpw_partner;
SELECT is(erp.rma_visible((SELECT r FROM bpw)), false, 'by the return rule the return is not the 3PL partner''s (it came back to the DC)');
SELECT is_empty($$SELECT * FROM erp.returns_desk WHERE rma_id = (SELECT r FROM bpw)$$, 'so erp.returns_desk does not show it to the partner');
SELECT is_empty($$SELECT kind, ref, node, why FROM erp.worklist WHERE node IS DISTINCT FROM 'BPW-3PL'$$,
    'nor should erp.worklist show the partner a row of another node (it shows the DC''s uninspected return)');
RESET ROLE;
SELECT is((SELECT count(*) FROM erp.worklist WHERE kind = 'return_inspection' AND node = 'BPW-DC'), 1::bigint, 'reading changed nothing');

SELECT * FROM finish();
ROLLBACK;
