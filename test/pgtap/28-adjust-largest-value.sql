-- 28-adjust-largest-value.sql (review of the 0.3.0 tests): an adjustment whose
-- value (units x unit cost) numeric(14,2) cannot hold is refused with IE004
-- (src/counts.c, AdjustmentValue) - by erp.adjust and by erp.count alike - and
-- records nothing: no adjustment, no count, no move.  The refusal had no test.
BEGIN;
SELECT plan(6);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP28-GOLD', 999999999999.00, 999999999999.00);
INSERT INTO erp.node (code, kind) VALUES ('TAP28-DC', 'warehouse');

-- one unit is worth 999,999,999,999.00, which fits; two are not
SELECT throws_ok($$SELECT erp.adjust('TAP28-GOLD', 'TAP28-DC', 2, 'found')$$,
    'IE004', 'adjustment of 2 units of sku "TAP28-GOLD" worth 1999999999998.00 is beyond the largest value',
    'an adjustment of 2 x 999,999,999,999.00 is refused with IE004, not 22003 when its value is stored');
SELECT throws_ok($$SELECT erp.count('TAP28-GOLD', 'TAP28-DC', 2)$$,
    'IE004', NULL,
    'a count finding 2 x 999,999,999,999.00 more than the books is refused with IE004 too');
SELECT is((SELECT count(*) FROM erp.adjustment a JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP28-GOLD'),
    0::bigint, 'the refused adjustment and count recorded no adjustment');
SELECT is((SELECT count(*) FROM erp.cycle_count c JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP28-GOLD'),
    0::bigint, 'and no count');
SELECT is((SELECT count(*) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP28-GOLD'),
    0::bigint, 'and moved nothing');
-- the bound is the largest value, not a smaller one: a single unit is adjusted
SELECT lives_ok($$SELECT erp.adjust('TAP28-GOLD', 'TAP28-DC', 1, 'found')$$,
    'an adjustment of one unit worth 999,999,999,999.00 is accepted');

SELECT * FROM finish();
ROLLBACK;
