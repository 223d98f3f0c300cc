-- 22-cost-changes-recorded.sql (found by the break-it pass of issue 9): the one
-- adjustment threshold values an adjustment at erp.item.unit_cost, which an
-- erp_admin edits freely and erp.policy_change does not record.  An admin who
-- is also an operator sets a laptop's cost to 0, writes off three laptops
-- (2,460.00) with erp.adjust - applied at once, no approver - and puts the cost
-- back: no trace in erp.policy_change / erp.policy_audit (the adjustment row
-- says value 0.00).  Expected: the write-off waits for an approver (or the
-- cost change is recorded as a policy change).  Actual (1ccb86a): applied.
BEGIN;
SELECT plan(5);

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
-- (gov2) what is recorded: both cost changes, by the admin's login, naming the column
SELECT results_eq($$SELECT changed_by::text COLLATE "default", operation, changed_columns, old_row->>'unit_cost', new_row->>'unit_cost'
                      FROM erp.policy_audit WHERE table_name = 'item' AND new_row->>'sku' = 'BRK22-LAP'
                     ORDER BY policy_change_id$$,
                  $$VALUES ('brk22_admin', 'UPDATE', ARRAY['unit_cost']::text[], '820.00', '0.00'),
                           ('brk22_admin', 'UPDATE', ARRAY['unit_cost']::text[], '0.00', '820.00')$$,
                  'zeroing and restoring the cost are both recorded in erp.policy_change, with who and the values');
UPDATE erp.item SET title = 'a laptop', category = 'it' WHERE sku = 'BRK22-LAP';
UPDATE erp.item SET unit_cost = 820 WHERE sku = 'BRK22-LAP';
SELECT is((SELECT count(*) FROM erp.policy_change WHERE table_name = 'item' AND new_row->>'sku' = 'BRK22-LAP'), 2::bigint,
          'a change of the title or category, or an update that changes no value, is not a policy change');
UPDATE erp.item SET high_value = false, allow_backorder = true WHERE sku = 'BRK22-LAP';
SELECT is((SELECT changed_columns FROM erp.policy_audit WHERE table_name = 'item' AND new_row->>'sku' = 'BRK22-LAP'
            ORDER BY policy_change_id DESC LIMIT 1), ARRAY['allow_backorder', 'high_value']::text[],
          'turning high_value off (refund approval) and backorders on is recorded');
SELECT * FROM finish();
ROLLBACK;
