-- 27-four-eyes-membership.sql (found by the break-it pass of issue 9): four eyes
-- compares the adjustment's created_by with the approver's login by name only.
-- An approver who is a member of a second login (GRANT brk27_alt TO
-- brk27_approver: it may SET ROLE to it, so the database knows they are one
-- person's) adjusts as the second login and approves as itself.
-- Expected: IE009 (the approver can act as the creator).  Actual (1ccb86a):
-- applied, created_by brk27_alt, decided_by brk27_approver.
-- (The superuser's session takes the role it SETs as the identity, as a login would.)
BEGIN;
SELECT plan(7);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK27-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK27-DC', 'warehouse');
SELECT erp.receive('BRK27-TEE', 'BRK27-DC', 100);
CREATE ROLE brk27_alt;
CREATE ROLE brk27_approver;
GRANT erp_operator TO brk27_alt;
GRANT erp_operator, erp_approver TO brk27_approver;
GRANT brk27_alt TO brk27_approver;
CREATE TEMP TABLE brk27 (adjustment_id bigint);
GRANT ALL ON brk27 TO PUBLIC;

SET ROLE brk27_alt;
INSERT INTO brk27 SELECT erp.adjust('BRK27-TEE', 'BRK27-DC', -40, 'shrinkage');
RESET ROLE;
SELECT is((SELECT status::text FROM erp.adjustment WHERE adjustment_id = (SELECT adjustment_id FROM brk27)),
          'pending_approval', '(a write-off of 200.00 waits for an approver)');
SET ROLE brk27_approver;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT adjustment_id FROM brk27)), 'IE009', NULL,
                 'an approver cannot approve what a login it may SET ROLE to created');
RESET ROLE;

-- (gov2) nothing changed; the other direction; a third person; a dropped creator
SELECT results_eq(format($$SELECT status::text, decided_by IS NULL, (SELECT count(*) FROM erp.stock_move WHERE ref = 'adjustment:%s')
                             FROM erp.adjustment WHERE adjustment_id = %s$$,
                         (SELECT adjustment_id FROM brk27), (SELECT adjustment_id FROM brk27)),
                  $$VALUES ('pending_approval', true, 0::bigint)$$,
                  'the refused approval changed nothing: still pending, no move');
CREATE ROLE brk27_clerk;
GRANT erp_operator TO brk27_clerk;
GRANT brk27_approver TO brk27_clerk;
SET ROLE brk27_clerk;
INSERT INTO brk27 SELECT erp.adjust('BRK27-TEE', 'BRK27-DC', -30, 'shrinkage');
RESET ROLE;
SET ROLE brk27_approver;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT max(adjustment_id) FROM brk27)), 'IE009', NULL,
                 'an approver that the creator may SET ROLE to is refused too (membership the other way)');
RESET ROLE;
CREATE ROLE brk27_other;
GRANT erp_operator, erp_approver TO brk27_other;
SET ROLE brk27_other;
SELECT lives_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT adjustment_id FROM brk27 ORDER BY 1 LIMIT 1)),
                'a third person, a member of neither, approves (both share erp_operator, which does not count)');
RESET ROLE;
CREATE ROLE brk27_gone;
GRANT erp_operator TO brk27_gone;
SET ROLE brk27_gone;
INSERT INTO brk27 SELECT erp.adjust('BRK27-TEE', 'BRK27-DC', -25, 'shrinkage');
RESET ROLE;
DROP ROLE brk27_gone;
SET ROLE brk27_other;
SELECT lives_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT max(adjustment_id) FROM brk27)),
                'the adjustment of a dropped creator is approved by another person (compared by name only)');
RESET ROLE;
SELECT is((SELECT string_agg(status::text || ':' || COALESCE(decided_by::text, '-'), ',' ORDER BY adjustment_id)
             FROM erp.adjustment WHERE adjustment_id IN (SELECT adjustment_id FROM brk27)),
          'applied:brk27_other,pending_approval:-,applied:brk27_other',
          'exactly the third person''s approvals were applied');
SELECT * FROM finish();
ROLLBACK;
