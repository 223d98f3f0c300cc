-- 22-break-unit-cost-threshold.sql (breaker, issue 9 follow-up): the one
-- adjustment threshold values an adjustment at erp.item.unit_cost, which an
-- erp_admin edits freely and erp.policy_change does not record.  An admin who
-- is also an operator sets a laptop's cost to 0, writes off three laptops
-- (2,460.00) with erp.adjust - applied at once, no approver - and puts the cost
-- back: no trace in erp.policy_change / erp.policy_audit (the adjustment row
-- says value 0.00).  Expected: the write-off waits for an approver (or the
-- cost change is recorded as a policy change).  Actual (1ccb86a): applied.
BEGIN;
SELECT plan(2);

INSERT INTO erp.item (sku, unit_cost, unit_price, high_value) VALUES ('BRK22-LAP', 820, 1199, true);
INSERT INTO erp.node (code, kind) VALUES ('BRK22-DC', 'warehouse');
SELECT erp.receive('BRK22-LAP', 'BRK22-DC', 5);
CREATE ROLE brk22_admin;
GRANT erp_admin, erp_operator TO brk22_admin;
CREATE TEMP TABLE brk22 (policy_changes bigint, adjustment_id bigint);
GRANT ALL ON brk22 TO PUBLIC;
INSERT INTO brk22 (policy_changes) SELECT count(*) FROM erp.policy_change;

SET ROLE brk22_admin;
UPDATE brk22 SET adjustment_id = erp.adjust('BRK22-LAP', 'BRK22-DC', -3, 'shrinkage');
SELECT is((SELECT status::text FROM erp.adjustment WHERE adjustment_id = (SELECT adjustment_id FROM brk22)),
          'pending_approval', '(at its cost, writing off three laptops waits for an approver)');
UPDATE erp.item SET unit_cost = 0 WHERE sku = 'BRK22-LAP';
UPDATE brk22 SET adjustment_id = erp.adjust('BRK22-LAP', 'BRK22-DC', -3, 'shrinkage');
UPDATE erp.item SET unit_cost = 820 WHERE sku = 'BRK22-LAP';
RESET ROLE;

SELECT ok((SELECT status::text FROM erp.adjustment WHERE adjustment_id = (SELECT adjustment_id FROM brk22)) = 'pending_approval'
          OR (SELECT count(*) FROM erp.policy_change) > (SELECT policy_changes FROM brk22),
          'the write-off after the admin zeroed the cost waits for an approver, or the cost change is recorded in erp.policy_change');
SELECT * FROM finish();
ROLLBACK;
