-- 93_breakplan_partner_other_node.sql (break-it pass on issue 15, helper breakplan).
-- A partner (erp.node_access) must see the planning rows of its own nodes
-- only (doc/planning.md: "a partner forecasts from its nodes' demand only";
-- governance.md: "a partner sees and acts on rows of its nodes only").
-- Two views show it rows of another node:
--
-- 1. erp.demand_history: an order not held anywhere (captured, its line short)
--    on a channel the partner's node serves is visible to the partner by the
--    order rule, and the view places its demand at the channel's best-ranked
--    node - the shop's DC, not the partner's.  The partner sees a row with
--    node = the DC, and its erp.forecast(sku) (all its nodes) counts the DC's
--    demand: 7 units it never had to serve.
-- 2. erp.stockout_day replays the moves the caller can see.  A partner sees
--    the moves of a transfer from the DC to its node (either end is visible)
--    but not the DC's receipt, so the replay runs the DC's balance to -5 and
--    the partner sees the DC "out of stock" every day since the transfer,
--    while the DC held 95 units.
--
-- FAILS on the code as merged (c8cb77e): assertions 2, 3 and 5.
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code) VALUES ('BPP-DC'), ('BPP-3PL');
INSERT INTO erp.channel (code) VALUES ('BPP-WEB');
-- the DC is the channel's first node, the 3PL its second
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'BPP-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'BPP-WEB' AND n.code LIKE 'BPP-%';
INSERT INTO erp.item (sku, unit_price) VALUES ('BPP-A', 10), ('BPP-B', 10);
CREATE ROLE bpp_partner;
GRANT erp_operator, erp_reader TO bpp_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'bpp_partner', node_id FROM erp.node WHERE code = 'BPP-3PL';

-- 1. an order of 7 BPP-B captured on the shared channel; no stock anywhere: nothing is held
SELECT lives_ok($$SELECT * FROM erp.allocate(erp.capture_order('BPP-WEB', 'BPP-O1', '[{"sku": "BPP-B", "qty": 7}]'))$$,
    'an order of 7 BPP-B is captured and allocated (short: no stock anywhere)');
-- captured yesterday, so that it is history (erp.forecast reads up to yesterday)
SET LOCAL session_replication_role = replica;
UPDATE erp.sales_order SET created_at = created_at - interval '1 day' WHERE external_ref = 'BPP-O1';
SET LOCAL session_replication_role = origin;
SET LOCAL ROLE bpp_partner;
SELECT is_empty($$SELECT sku, node, day, qty FROM erp.demand_history WHERE sku = 'BPP-B' AND node IS DISTINCT FROM 'BPP-3PL'$$,
    'a partner of the 3PL sees no demand_history row of another node (it sees the order''s 7 units at BPP-DC)');
SELECT is((SELECT sum(qty) FROM erp.forecast('BPP-B', horizon_days => 1)), 0::numeric,
    'nor does its forecast of BPP-B count demand of the DC (no history at the 3PL: 0)');
RESET ROLE;

-- 2. the DC receives 100 BPP-A ten days ago and sends 5 to the 3PL five days ago
SELECT erp.receive('BPP-A', 'BPP-DC', 100);
SET LOCAL session_replication_role = replica;   -- the ledger is append-only: back-date by hand
UPDATE erp.stock_move SET at = at - interval '10 days'
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPP-A');
SET LOCAL session_replication_role = origin;
SELECT erp.receive_transfer(erp.transfer('BPP-A', 'BPP-DC', 'BPP-3PL', 5));
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '5 days'
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'BPP-A') AND from_node_id IS NOT NULL;
SET LOCAL session_replication_role = origin;
SELECT is((SELECT count(*) FROM erp.stockout_day z JOIN erp.node n USING (node_id) JOIN erp.item i USING (item_id)
            WHERE i.sku = 'BPP-A' AND n.code = 'BPP-DC' AND z.day > CURRENT_DATE - 10), 0::bigint,
    'the DC, holding 95 units, had no stockout since its receipt (as the business sees it)');
SET LOCAL ROLE bpp_partner;
SELECT is_empty($$SELECT z.day FROM erp.stockout_day z JOIN erp.node n USING (node_id) WHERE n.code = 'BPP-DC'$$,
    'a partner of the 3PL sees no stockout day of the DC (it sees 6, replayed from the transfer alone)');
SELECT ok(EXISTS (SELECT 1 FROM erp.stockout_day z JOIN erp.node n USING (node_id) WHERE n.code = 'BPP-3PL'),
    'it does see its own node''s stockout days (the 3PL opened the transfer''s day with nothing)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
