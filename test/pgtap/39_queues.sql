-- 39_queues.sql: the queues the apps read (issue 11, deliverable 6; doc/feeds.md,
-- "Queues"): what a warehouse, a returns desk and an approver see after a
-- scenario, and a partner seeing its own node only.
BEGIN;
SELECT plan(9);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('Q39-A', 5, 10), ('Q39-B', 5, 10);
INSERT INTO erp.item (sku, unit_cost, unit_price, high_value) VALUES ('Q39-H', 500, 900, true);
INSERT INTO erp.node (code) VALUES ('Q39-N1'), ('Q39-N2');
INSERT INTO erp.channel (code) VALUES ('Q39-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'Q39-WEB' AND n.code LIKE 'Q39-%';
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 10) ON CONFLICT (kind) DO UPDATE SET max_auto_value = 10;
CREATE ROLE q39_partner;
CREATE ROLE q39_clerk;
GRANT erp_operator, erp_reader TO q39_partner, q39_clerk;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'q39_partner', node_id FROM erp.node WHERE code = 'Q39-N2';
SELECT erp.receive('Q39-A', 'Q39-N1', 10), erp.receive('Q39-B', 'Q39-N2', 10), erp.receive('Q39-H', 'Q39-N1', 2);

CREATE TEMP TABLE q39 (name text PRIMARY KEY, id bigint);
GRANT ALL ON q39 TO PUBLIC;
CREATE FUNCTION pg_temp.id(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM q39 WHERE name = n $$;
CREATE FUNCTION pg_temp.order_of(ref text, lines jsonb, prio integer) RETURNS bigint LANGUAGE sql AS
$$ INSERT INTO q39 VALUES (ref, erp.capture_order('Q39-WEB', ref, lines, NULL, prio)) RETURNING id $$;
-- o1: 2 of A (at N1); o2, more urgent: 1 of A and 1 of B (split: N1 and N2); o3: picked
-- in full (nothing left to pick); o4: captured, not allocated; o5: 3 of B (N2)
SELECT pg_temp.order_of('o1', '[{"sku": "Q39-A", "qty": 2}]', 0);
SELECT pg_temp.order_of('o2', '[{"sku": "Q39-A", "qty": 1}, {"sku": "Q39-B", "qty": 1}]', 5);
SELECT pg_temp.order_of('o3', '[{"sku": "Q39-A", "qty": 1}]', 9);
SELECT pg_temp.order_of('o4', '[{"sku": "Q39-A", "qty": 1}]', 9);
SELECT pg_temp.order_of('o5', '[{"sku": "Q39-B", "qty": 3}]', 0);
SELECT pg_temp.order_of('o6', '[{"sku": "Q39-H", "qty": 1}]', 0);
SELECT (SELECT count(*) FROM erp.allocate(pg_temp.id(o))) FROM unnest(ARRAY['o1', 'o2', 'o3', 'o5', 'o6']) o;
SELECT erp.pick(pg_temp.id('o3'), 'Q39-A', 1);
SELECT erp.pick(pg_temp.id('o5'), 'Q39-B', 1);

SELECT results_eq(
    $$SELECT order_id, priority, lines, units FROM erp.pick_queue WHERE node = 'Q39-N1'$$,
    format('VALUES (%s::bigint, 5, 1::bigint, 1::bigint), (%s, 0, 1, 2), (%s, 0, 1, 1)',
           pg_temp.id('o2'), pg_temp.id('o1'), pg_temp.id('o6')),
    'N1''s pick queue: the urgent split order first, then by age (then id); not the order picked in full nor the one not allocated');
SELECT results_eq(
    $$SELECT order_id, lines, units FROM erp.pick_queue WHERE node = 'Q39-N2'$$,
    format('VALUES (%s::bigint, 1::bigint, 1::bigint), (%s, 1, 2)', pg_temp.id('o2'), pg_temp.id('o5')),
    'N2''s: the split order''s line there, and what is still to pick of a partly picked order');
SELECT ok((SELECT bool_and(age >= interval '0') FROM erp.pick_queue WHERE node LIKE 'Q39-%'), 'every row has an age');

-- a return of o6's unit, received and inspected: its refund waits for an approver
-- (a high-value item); and a large adjustment that waits too
SELECT erp.pick(pg_temp.id('o6'), 'Q39-H', 1), erp.pack(pg_temp.id('o6')), erp.ship(pg_temp.id('o6'));
INSERT INTO q39 VALUES ('r1', erp.authorize_return(pg_temp.id('o6'), '[{"sku": "Q39-H", "qty": 1, "reason": "changed_mind"}]'));
SELECT results_eq(
    format($$SELECT node, rma_id, units_expected, units_to_inspect FROM erp.returns_desk WHERE rma_id = %s$$, pg_temp.id('r1')),
    format($$VALUES ('Q39-N1', %s::bigint, 1::bigint, 0::bigint)$$, pg_temp.id('r1')),
    'the returns desk: the authorised return, expected at the node that shipped it');
SELECT erp.receive_return(pg_temp.id('r1'));
SELECT results_eq(
    format($$SELECT node, units_expected, units_to_inspect FROM erp.returns_desk WHERE rma_id = %s$$, pg_temp.id('r1')),
    $$VALUES ('Q39-N1', 0::bigint, 1::bigint)$$,
    'received: it now waits for inspection');
SET ROLE q39_clerk;
SELECT erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = pg_temp.id('r1')), 'new');
SELECT erp.adjust('Q39-A', 'Q39-N1', -5, 'water damage');
RESET ROLE;
SELECT is((SELECT count(*) FROM erp.returns_desk WHERE rma_id = pg_temp.id('r1')), 0::bigint,
          'inspected: it leaves the returns desk');
SELECT results_eq(
    $$SELECT kind, node, requested_by::text COLLATE "default", value FROM erp.approval_queue WHERE node = 'Q39-N1'$$,
    $$VALUES ('adjustment', 'Q39-N1', 'q39_clerk', 25.00::numeric), ('refund', 'Q39-N1', 'q39_clerk', 900.00)$$,
    'the approval queue: the adjustment and the refund (oldest first, then by kind), with who asked and the value at stake');

-- a partner of N2 sees N2's queue only, and only the orders it may act on
SET ROLE q39_partner;
SELECT results_eq(
    $$SELECT node, order_id FROM erp.pick_queue WHERE node LIKE 'Q39-%'$$,
    format($$VALUES ('Q39-N2', %s::bigint)$$, pg_temp.id('o5')),
    'a partner of N2: N2''s order only (the split order is not all its own, N1''s are not its)');
SELECT is((SELECT count(*) FROM erp.approval_queue WHERE node = 'Q39-N1') + (SELECT count(*) FROM erp.returns_desk WHERE node = 'Q39-N1'),
          0::bigint, 'nor the returns and approvals of another node');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
