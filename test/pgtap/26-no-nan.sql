-- 26-no-nan.sql (found by the break-it pass of issue 9): numeric columns of the
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
SELECT plan(8);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK26-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK26-DC', 'warehouse');
CREATE ROLE brk26_admin;
GRANT erp_admin, erp_operator TO brk26_admin;
DELETE FROM erp.approval_policy WHERE kind = 'adjustment';

SET ROLE brk26_admin;
SELECT throws_ok($$INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 'NaN')$$,
                 '23514', NULL, 'an adjustment threshold of NaN is refused');
SELECT throws_ok($$UPDATE erp.item SET unit_cost = 'NaN' WHERE sku = 'BRK26-TEE'$$,
                 '23514', NULL, 'a unit cost of NaN is refused');
SELECT throws_ok($$UPDATE erp.item SET unit_price = 'NaN' WHERE sku = 'BRK26-TEE'$$,
                 '23514', NULL, 'a unit price of NaN is refused');
RESET ROLE;

-- (gov2) nothing changed; infinity; every numeric column of the extension
SELECT results_eq($$SELECT unit_cost, unit_price FROM erp.item WHERE sku = 'BRK26-TEE'$$,
                  $$VALUES (5.00::numeric, 20.00::numeric)$$, 'the refused updates changed nothing');
SELECT is((SELECT count(*) FROM erp.approval_policy WHERE kind = 'adjustment'), 0::bigint, 'no NaN threshold was stored');
SELECT throws_ok($$UPDATE erp.item SET unit_cost = 'Infinity' WHERE sku = 'BRK26-TEE'$$,
                 '22003', NULL, 'a unit cost of Infinity is refused (numeric(14,2) cannot hold it)');
SELECT throws_ok($$INSERT INTO erp.disposition_rule (priority, disposition, min_unit_value) VALUES (1, 'restock', 'NaN')$$,
                 '23514', NULL, 'a disposition rule with a NaN bound is refused');
SELECT is(ARRAY(SELECT c.relname || '.' || a.attname
                  FROM pg_catalog.pg_attribute a
                  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'erp'
                 WHERE a.atttypid = 'numeric'::regtype AND a.attnum > 0 AND NOT a.attisdropped
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                                    WHERE k.conrelid = c.oid AND k.contype = 'c'
                                      AND k.conname = c.relname || '_' || a.attname || '_not_nan')
                 ORDER BY 1), '{}'::text[],
          'every numeric column of a table in erp has its <table>_<column>_not_nan constraint');
SELECT * FROM finish();
ROLLBACK;
