-- 26-break-nan-values.sql (breaker, issue 9 follow-up): numeric columns of the
-- configuration accept 'NaN', and PostgreSQL orders NaN above every number, so
-- CHECK (x >= 0) lets it through:
--   * erp.approval_policy.max_auto_value = 'NaN': "value > threshold" is then
--     never true - an operator conjures 1,000,000 units with erp.receive and
--     writes off 900,000 with erp.adjust, applied at once (the policy_change
--     row says "NaN", not "unlimited");
--   * erp.item.unit_cost = 'NaN': the dashboard's inventory value becomes NaN
--     and every receipt of the item is refused ("worth NaN is beyond the
--     largest value").
-- Expected: NaN refused (IE004 or a CHECK violation).  Actual (1ccb86a): accepted.
BEGIN;
SELECT plan(3);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK26-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK26-DC', 'warehouse');
CREATE ROLE brk26_admin;
GRANT erp_admin, erp_operator TO brk26_admin;
DELETE FROM erp.approval_policy WHERE kind = 'adjustment';

SET ROLE brk26_admin;
SELECT throws_ok($$INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 'NaN')$$,
                 NULL, NULL, 'an adjustment threshold of NaN is refused');
SELECT throws_ok($$UPDATE erp.item SET unit_cost = 'NaN' WHERE sku = 'BRK26-TEE'$$,
                 NULL, NULL, 'a unit cost of NaN is refused');
SELECT throws_ok($$UPDATE erp.item SET unit_price = 'NaN' WHERE sku = 'BRK26-TEE'$$,
                 NULL, NULL, 'a unit price of NaN is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
