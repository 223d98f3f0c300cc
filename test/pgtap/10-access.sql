-- The one partner rule of src/access.c, through a superuser's SET ROLE (the
-- way a DBA looks through a partner's eyes; test/shell/partner_login.sh logs
-- in as the partner itself): who is a partner (the role SET, its memberships
-- inheriting or not), which nodes it has, a role dropped and created again or
-- created after its node_access row, and the order and return rules that the
-- document functions and row level security share.  Refusals: IE009, and
-- nothing changes.
BEGIN;
SELECT plan(35);

INSERT INTO erp.item (sku, unit_cost) VALUES ('TAP10-TEE', 5);
INSERT INTO erp.node (code) VALUES ('TAP10-A'), ('TAP10-B');
INSERT INTO erp.channel (code) VALUES ('TAP10-CA'), ('TAP10-CB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE (c.code, n.code) IN (('TAP10-CA', 'TAP10-A'), ('TAP10-CB', 'TAP10-B'));
SELECT erp.receive('TAP10-TEE', 'TAP10-A', 10), erp.receive('TAP10-TEE', 'TAP10-B', 10);
CREATE TEMP TABLE tap10 (name text PRIMARY KEY, id bigint);
INSERT INTO tap10 VALUES
    ('A', (SELECT node_id FROM erp.node WHERE code = 'TAP10-A')),
    ('B', (SELECT node_id FROM erp.node WHERE code = 'TAP10-B')),
    ('held at A', erp.capture_order('TAP10-CA', 'TAP10-1', '[{"sku": "TAP10-TEE", "qty": 1}]')),
    ('held at B', erp.capture_order('TAP10-CB', 'TAP10-2', '[{"sku": "TAP10-TEE", "qty": 1}]')),
    ('new on A''s channel', erp.capture_order('TAP10-CA', 'TAP10-3', '[{"sku": "TAP10-TEE", "qty": 1}]')),
    ('new on B''s channel', erp.capture_order('TAP10-CB', 'TAP10-4', '[{"sku": "TAP10-TEE", "qty": 1}]'));
SELECT count(*) FROM tap10, LATERAL erp.allocate(id) WHERE name LIKE 'held at %';
GRANT SELECT ON tap10 TO PUBLIC;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT sum(qty) FROM erp.stock_balance) || '/' ||
           (SELECT string_agg(status::text, ',' ORDER BY order_id) FROM erp.sales_order)
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.books() AS b;

-- the partner role (no login), its person (a login, inheriting), a NOINHERIT
-- member given only what it needs directly, and the partner's rows
CREATE ROLE tap10_partner;
CREATE ROLE tap10_person LOGIN IN ROLE tap10_partner, erp_operator;
CREATE ROLE tap10_noinherit NOINHERIT IN ROLE tap10_partner;
GRANT USAGE ON SCHEMA erp TO tap10_noinherit;
GRANT SELECT ON erp.stock_balance, erp.sales_order, erp.reservation, erp.channel_node TO tap10_noinherit;
GRANT EXECUTE ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text, text)
    TO tap10_noinherit;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap10_partner', id FROM tap10 WHERE name = 'A';
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap10_other', id FROM tap10 WHERE name = 'B';

SELECT is(erp.visible_nodes(), NULL, 'a superuser is no partner: it sees every node');

SET LOCAL ROLE tap10_person;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'a member of the partner role has the partner''s nodes');
SELECT throws_ok($$SELECT erp.move('TAP10-TEE', 'TAP10-B', 1, 'available', 'damaged', 'damage')$$, 'IE009',
    'role "tap10_person" has no access to node "TAP10-B"',
    'a partner cannot move stock at another node, or it could write off what is not its own');
SELECT lives_ok($$SELECT erp.move('TAP10-TEE', 'TAP10-A', 1, 'available', 'damaged', 'damage')$$,
    'a partner moves stock at its own node');
SELECT is((SELECT actor FROM erp.stock_move ORDER BY move_id DESC LIMIT 1), 'tap10_person',
    'the ledger records the partner as the actor');
SELECT is((SELECT array_agg(DISTINCT node_id) FROM erp.stock_balance), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'row level security shows the partner its own node''s balances only');
SELECT is(erp.atp('TAP10-TEE', 'TAP10-B'), 0::bigint, 'a partner is promised nothing from another node');
SELECT is((SELECT array_agg(role_name::text ORDER BY role_name) FROM erp.node_access WHERE role_name::text LIKE 'tap10%'),
    ARRAY['tap10_partner'], 'a partner sees its own listing in erp.node_access, not the other partners''');
RESET ROLE;
UPDATE before SET b = pg_temp.books();

-- the order rule, the same for row level security and the document functions
SET LOCAL ROLE tap10_person;
SELECT ok(erp.order_visible((SELECT id FROM tap10 WHERE name = 'held at A')), 'an order held at its node is the partner''s');
SELECT ok(NOT erp.order_visible((SELECT id FROM tap10 WHERE name = 'held at B')), 'an order held at another node is not');
SELECT ok(erp.order_visible((SELECT id FROM tap10 WHERE name = 'new on A''s channel')),
    'an order holding nothing is the partner''s when its channel is fulfilled by its node');
SELECT ok(NOT erp.order_visible((SELECT id FROM tap10 WHERE name = 'new on B''s channel')),
    'an order holding nothing on another node''s channel is not');
SELECT results_eq($$SELECT order_id FROM erp.sales_order WHERE external_ref LIKE 'TAP10-%' ORDER BY 1$$,
    $$SELECT id FROM tap10 WHERE name IN ('held at A', 'new on A''s channel') ORDER BY 1$$,
    'row level security shows exactly the orders erp.order_visible (and so every document function) allows');
RESET ROLE;

-- an order held at both nodes is no partner's
SELECT erp.receive('TAP10-TEE', 'TAP10-A', 1) IS NOT NULL AS topped_up;
INSERT INTO tap10 VALUES ('split', erp.capture_order('TAP10-CA', 'TAP10-5', '[{"sku": "TAP10-TEE", "qty": 15}]'));
UPDATE erp.channel_node SET rank = 1 WHERE channel_id = (SELECT channel_id FROM erp.channel WHERE code = 'TAP10-CA');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 2 FROM erp.channel c, erp.node n WHERE c.code = 'TAP10-CA' AND n.code = 'TAP10-B';
SELECT is((SELECT count(DISTINCT node) FROM erp.allocate((SELECT id FROM tap10 WHERE name = 'split'))), 2::bigint,
    'the split order holds stock at both nodes');
UPDATE before SET b = pg_temp.books();
SET LOCAL ROLE tap10_person;
SELECT ok(NOT erp.order_visible((SELECT id FROM tap10 WHERE name = 'split')),
    'an order that also holds stock at another node is not the partner''s');
SELECT is_empty($$SELECT 1 FROM erp.sales_order WHERE external_ref = 'TAP10-5'$$,
    'and row level security hides it as well');
RESET ROLE;

-- a NOINHERIT member: restricted by the functions and by row level security
SET LOCAL ROLE tap10_noinherit;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'a NOINHERIT member of the partner role is the partner''s person too');
SELECT throws_ok($$SELECT erp.move('TAP10-TEE', 'TAP10-B', 1, 'available', 'damaged', 'damage')$$, 'IE009', NULL,
    'a NOINHERIT member cannot move stock at another node');
SELECT is((SELECT array_agg(DISTINCT node_id) FROM erp.stock_balance), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'a NOINHERIT member sees its own node''s balances only');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT b FROM before), 'the refused moves changed nothing');

-- a superuser that SETs a group role the partner's person also belongs to is
-- that group, not the person: SET ROLE from a superuser names the identity
SET LOCAL ROLE erp_operator;
SELECT is(erp.visible_nodes(), NULL, 'a superuser acting as erp_operator is no partner');
RESET ROLE;

-- the partner role dropped and created again under the same name
DROP ROLE tap10_partner;
SET LOCAL ROLE tap10_person;
SELECT is(erp.visible_nodes(), NULL,
    'while the partner role does not exist, its former members are no partners (revoke rights first)');
RESET ROLE;
CREATE ROLE tap10_partner;
GRANT tap10_partner TO tap10_person;
SET LOCAL ROLE tap10_person;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'a partner role created again under its name is the partner again, in the same session');
SELECT throws_ok($$SELECT erp.move('TAP10-TEE', 'TAP10-B', 1, 'available', 'damaged', 'damage')$$, 'IE009', NULL,
    'and is refused another node''s stock');
RESET ROLE;

-- a partner role created after its node_access row
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap10_late', id FROM tap10 WHERE name = 'B';
SELECT is(erp.visible_nodes(), NULL, 'a row naming no role yet changes nothing for others');
CREATE ROLE tap10_late IN ROLE erp_operator;
SET LOCAL ROLE tap10_late;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'B')],
    'a role created after its node_access row is the partner from its first check');
SELECT throws_ok($$SELECT erp.move('TAP10-TEE', 'TAP10-A', 1, 'available', 'damaged', 'damage')$$, 'IE009', NULL,
    'and is refused the other node''s stock');
RESET ROLE;

-- a person of two partners sees both; deleting a row takes effect at once
GRANT tap10_late TO tap10_person;
SET LOCAL ROLE tap10_person;
SELECT is(erp.visible_nodes(), (SELECT array_agg(id ORDER BY id) FROM tap10 WHERE name IN ('A', 'B')),
    'a member of two partner roles has both partners'' nodes');
RESET ROLE;
DELETE FROM erp.node_access WHERE role_name = 'tap10_late';
SET LOCAL ROLE tap10_person;
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'a deleted node_access row no longer grants its node, in the same session');
RESET ROLE;

-- the return rule: a return is the partner's when its lines are at its nodes
SELECT erp.pick(id, 'TAP10-TEE', 1), erp.pack(id), erp.ship(id) IS NOT NULL FROM tap10 WHERE name LIKE 'held at %';
INSERT INTO tap10 SELECT 'return of ' || name, erp.authorize_return(id, '[{"sku": "TAP10-TEE", "qty": 1, "reason": "too_small"}]')
  FROM tap10 WHERE name LIKE 'held at %';
SET LOCAL ROLE tap10_person;
SELECT ok(erp.rma_visible((SELECT id FROM tap10 WHERE name = 'return of held at A')), 'a return expected at its node is the partner''s');
SELECT ok(NOT erp.rma_visible((SELECT id FROM tap10 WHERE name = 'return of held at B')), 'a return expected at another node is not');
SELECT results_eq($$SELECT r.rma_id FROM erp.rma r JOIN erp.sales_order o USING (order_id) WHERE o.external_ref LIKE 'TAP10-%'$$,
    $$SELECT id FROM tap10 WHERE name = 'return of held at A'$$,
    'row level security shows exactly the returns erp.rma_visible (and so every return function) allows');
SELECT ok(erp.order_visible((SELECT id FROM tap10 WHERE name = 'held at A')), 'a shipped order of its node stays the partner''s');
RESET ROLE;

-- a hijacked search_path does not change what the partner sees
CREATE SCHEMA tap10_evil AUTHORIZATION tap10_person;
SET LOCAL ROLE tap10_person;
CREATE FUNCTION tap10_evil.always(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR tap10_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tap10_evil.always);
CREATE FUNCTION tap10_evil.never(name, name) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR tap10_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = tap10_evil.never);
CREATE FUNCTION tap10_evil.visible_nodes() RETURNS bigint[] LANGUAGE sql AS 'SELECT NULL::bigint[]';
SET LOCAL search_path = tap10_evil, public, erp, pg_catalog;
SELECT is((SELECT array_agg(DISTINCT node_id) FROM erp.stock_balance), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'with its own = (bigint and name) and visible_nodes() first on the search_path, the partner still sees its own node only');
SELECT is(erp.visible_nodes(), ARRAY[(SELECT id FROM tap10 WHERE name = 'A')],
    'and erp.visible_nodes() still names its node');
RESET search_path;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
