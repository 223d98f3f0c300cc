-- Found by the break-it pass of issue 11; fixed in a4d0512: this test now guards the fix.
-- 90_break11b_queue_partner_leak.sql: erp.approval_queue shows a partner a refund at
-- another partner's node.  A return shipped from N1 and received at N2 (the
-- customer brought it to the other store) waits for a refund approval at N2.  A
-- partner of N1 may not see the return (erp.rma_visible: not every node of its
-- lines is N1's; erp.rma shows it nothing), yet its approval queue lists the
-- refund, at node N2, with its value: the view reads erp.rma_line, whose row
-- level security admits a line by its expected node (node_id = N1), and places
-- the row at COALESCE(received_node_id, node_id) = N2.  doc/feeds.md: a
-- partner sees its nodes only (39_queues: "nor the returns and approvals of
-- another node").  Likely fix: filter the refund rows by the node they are
-- shown at, or by erp.rma_visible.
BEGIN;
SELECT plan(4);

INSERT INTO erp.item (sku, unit_cost, unit_price, high_value) VALUES ('QB-H', 500, 900, true);
INSERT INTO erp.node (code) VALUES ('QB-N1'), ('QB-N2');
INSERT INTO erp.channel (code) VALUES ('QB-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'QB-WEB' AND n.code LIKE 'QB-%';
CREATE ROLE qb_p1;
CREATE ROLE qb_clerk;
GRANT erp_operator, erp_reader TO qb_p1, qb_clerk;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'qb_p1', node_id FROM erp.node WHERE code = 'QB-N1';
SELECT erp.receive('QB-H', 'QB-N1', 2);
CREATE TEMP TABLE qb (name text PRIMARY KEY, id bigint);
GRANT ALL ON qb TO PUBLIC;
INSERT INTO qb VALUES ('o', erp.capture_order('QB-WEB', 'qb-o', '[{"sku": "QB-H", "qty": 1}]'));
SELECT count(*) FROM erp.allocate((SELECT id FROM qb WHERE name = 'o'));
SELECT erp.pick((SELECT id FROM qb WHERE name = 'o'), 'QB-H', 1), erp.pack((SELECT id FROM qb WHERE name = 'o')),
       erp.ship((SELECT id FROM qb WHERE name = 'o'));
INSERT INTO qb VALUES ('r', erp.authorize_return((SELECT id FROM qb WHERE name = 'o'),
                                                 '[{"sku": "QB-H", "qty": 1, "reason": "changed_mind"}]'));
SELECT erp.receive_return((SELECT id FROM qb WHERE name = 'r'), 'QB-N2');
SET ROLE qb_clerk;
SELECT erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = (SELECT id FROM qb WHERE name = 'r')), 'new');
RESET ROLE;

SELECT results_eq($$SELECT kind, node, value FROM erp.approval_queue WHERE node LIKE 'QB-%'$$,
                  $$VALUES ('refund', 'QB-N2', 900.00::numeric)$$,
                  'the business sees the refund waiting at N2, where the return arrived');
SET ROLE qb_p1;
SELECT is((SELECT count(*) FROM erp.rma WHERE rma_id = (SELECT id FROM qb WHERE name = 'r')), 0::bigint,
          'a partner of N1 may not see the return (one of its nodes is N2)');
SELECT is((SELECT count(*) FROM erp.approval_queue WHERE node = 'QB-N2'), 0::bigint,
          'a partner of N1 sees no approval at N2');
SELECT is((SELECT count(*) FROM erp.approval_queue WHERE node LIKE 'QB-%' AND node <> 'QB-N1'), 0::bigint,
          'every row of a partner''s approval queue is at one of its nodes');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
