-- Found by the break-it pass of issue 11; fixed in a4d0512: this test now guards the fix.
-- 91_break11b_partner_rename.sql: renaming a partner's role lifts its restriction.
-- erp.node_access lists partners by role NAME (role_name text) and consumers
-- belong to a role by name (erp.event_consumer.owner_name); ALTER ROLE ...
-- RENAME leaves both behind.  After "ALTER ROLE tap91_3pl RENAME TO
-- tap91_3pl_new", the same role is no partner any more: it sees every node's
-- events (and stock, orders: erp.visible_nodes() is NULL), and the consumer it
-- created belongs to nobody it can act as (IE009), while a new role created
-- under the old name would inherit both the node list and the consumer's
-- cursor.  Expected: the role keeps its restriction and its consumer (key them
-- by role oid, or refuse the rename of a role listed in erp.node_access).
BEGIN;
SELECT plan(5);

INSERT INTO erp.node (code) VALUES ('T91-MINE'), ('T91-OTHER');
INSERT INTO erp.event (kind, node_id) SELECT 'tap91_' || lower(code), node_id FROM erp.node WHERE code LIKE 'T91-%';
CREATE ROLE tap91_3pl IN ROLE erp_operator;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap91_3pl', node_id FROM erp.node WHERE code = 'T91-MINE';
-- the events are written by this (uncommitted) transaction: no stamps yet, so the
-- consumer is created and returns nothing; what matters is whose it is
SET ROLE tap91_3pl;
SELECT is((SELECT string_agg(kind, ',') FROM erp.event WHERE kind LIKE 'tap91_%'), 'tap91_t91-mine',
          'the partner sees its node''s event only');
SELECT lives_ok($$SELECT * FROM erp.read_events('tap91-feed')$$, 'the partner creates its consumer');
RESET ROLE;

ALTER ROLE tap91_3pl RENAME TO tap91_3pl_new;
SET ROLE tap91_3pl_new;
SELECT is((SELECT string_agg(kind, ',') FROM erp.event WHERE kind LIKE 'tap91_%'), 'tap91_t91-mine',
          'renamed, the same role still sees its node''s event only');
SELECT ok((SELECT erp.visible_nodes()) IS NOT NULL, 'renamed, the same role is still a partner');
SELECT lives_ok($$SELECT * FROM erp.read_events('tap91-feed')$$, 'renamed, the same role still reads its own consumer');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
