-- 97_breakplan_split_line_node.sql (break-it pass on issue 15, helper breakplan).
-- erp.allocate splits a line across nodes when no node has all of it, but
-- erp.demand_history places the whole line at ONE node: min(node_id) of its
-- reservations (else of its shipment lines).  A line of 10 held 6 at the DC
-- and 4 at the 3PL is 10 units of DC demand and none of the 3PL's: per-node
-- forecasts (erp.forecast(sku, node => ...), the snapshots, and so
-- erp.replenishment's fc_ columns, which are per node) plan the 3PL on
-- nothing while it serves 40% of the line, and the DC on 4 units too many.
-- The documentation says "the node that holds the line (its reservation)";
-- a split line has two.  Expected: each node's part at that node (6 and 4).
-- FAILS on the code as merged (c8cb77e): assertions 2 and 3.
BEGIN;
SELECT plan(3);

INSERT INTO erp.node (code) VALUES ('BPL-DC'), ('BPL-3PL');
INSERT INTO erp.channel (code) VALUES ('BPL-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'BPL-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'BPL-WEB' AND n.code LIKE 'BPL-%';
INSERT INTO erp.item (sku, unit_price) VALUES ('BPL-A', 10);
SELECT erp.receive('BPL-A', 'BPL-DC', 6), erp.receive('BPL-A', 'BPL-3PL', 4);
SELECT results_eq($$SELECT node, qty FROM erp.allocate(erp.capture_order('BPL-WEB', 'BPL-O1', '[{"sku": "BPL-A", "qty": 10}]')) ORDER BY node$$,
    $$VALUES ('BPL-3PL', 4::bigint), ('BPL-DC', 6::bigint)$$,
    'the line of 10 is allocated 6 at the DC and 4 at the 3PL');
SELECT is((SELECT sum(qty) FROM erp.demand_history WHERE sku = 'BPL-A' AND node = 'BPL-3PL'), 4::numeric,
    'the 3PL''s demand history holds its 4 units (it holds none)');
SELECT is((SELECT sum(qty) FROM erp.demand_history WHERE sku = 'BPL-A' AND node = 'BPL-DC'), 6::numeric,
    'the DC''s holds its 6 (it holds all 10)');

SELECT * FROM finish();
ROLLBACK;
