-- returns: a day at the returns desk of a shop selling apparel, electronics and
-- home goods (SPEC.md sections 1, 5 and 6).
--
-- Last week's orders were captured, allocated, picked, packed and shipped from
-- the distribution centre.  Today customers send things back: tees that are too
-- small, opened jeans, used headphones, a defective charger, a laptop nobody
-- wants, lamps broken in transit (dropped off at the store, one at a time), a
-- vase that turned out to be defective, and a kit that never came back.  Every
-- disposition the default rules know is shown (restock, restock with a fee,
-- refurbish, vendor return, quarantine, dispose), then a rule of the shop's own
-- beats a default one.  Each refund shows its amount (unit price x qty x
-- (1 - fee/100)) and whether it waits for an approver; an approver releases
-- the ones that wait, an operator may not.  The stock picture is shown after
-- every step.  Every refused call shows its message, its SQLSTATE and, right
-- after, proof that nothing changed.  The day ends with erp.verify() finding
-- no inconsistency.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_approver;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never

-- The stock picture: the states returns pass through, per sku and node.
\set picture 'SELECT sku, node, available, return_pending, inspection, quarantined, refurbish, vendor_return, on_hand, inbound FROM erp.availability ORDER BY sku, node;'
-- Every RMA, with the order it belongs to.
\set rmas 'SELECT r.rma_id, o.external_ref AS order_ref, r.status, r.closed_at IS NOT NULL AS closed FROM erp.rma r JOIN erp.sales_order o ON o.order_id = r.order_id ORDER BY r.rma_id;'
-- Every RMA line: what was authorised, what arrived where, what became of it, and its refund.
\set lines 'SELECT l.rma_line_id AS line, l.rma_id AS rma, i.sku, l.reason, l.qty, l.qty_received AS rcvd, l.qty_inspected AS insp, l.qty_expired AS expd, n.code AS at_node, l.condition, l.disposition, l.unit_price, l.restocking_fee_pct AS fee_pct, l.refund_amount, l.refund_status, l.approved_by FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id LEFT JOIN erp.node n ON n.node_id = l.received_node_id ORDER BY l.rma_line_id;'
-- Which of a line's moments have happened (the times themselves change every run).
\set stamps 'SELECT l.rma_line_id AS line, i.sku, l.received_at IS NOT NULL AS received, l.inspected_at IS NOT NULL AS inspected, l.available_at IS NOT NULL AS available, l.refunded_at IS NOT NULL AS refunded, l.vendor_returned_at IS NOT NULL AS to_vendor FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id ORDER BY l.rma_line_id;'
-- The outbox, as integrations see it.
\set events 'SELECT e.event_id, e.kind, i.sku, n.code AS node, e.rma_id, e.payload FROM erp.event e LEFT JOIN erp.item i ON i.item_id = e.item_id LEFT JOIN erp.node n ON n.node_id = e.node_id ORDER BY e.event_id;'
-- How long the ledger is.
\set ledger 'SELECT count(*) AS moves, coalesce(sum(qty), 0) AS units_moved FROM erp.stock_move;'

------------------------------------------------------------------------------
-- Master data: three categories, one high-value laptop, a kit, two nodes, a webshop
------------------------------------------------------------------------------
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price) VALUES
    ('TEE-S', 'Organic tee, size S', 'apparel', 6.50, 19.90),
    ('JEANS-32', 'Slim jeans, W32', 'apparel', 21.00, 59.00),
    ('HEADPHONES', 'Wireless headphones', 'electronics', 95.00, 180.00),
    ('CHARGER', 'USB-C charger 65W', 'electronics', 9.00, 25.00),
    ('LAMP', 'Desk lamp', 'home', 18.00, 45.00),
    ('VASE', 'Glass vase', 'home', 11.00, 30.00),
    ('HOME-SET', 'Lamp and vase gift set', 'home', 0, 70.00);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, high_value)
VALUES ('LAPTOP-13', 'Laptop 13 inch', 'electronics', 820.00, 1199.00, true);
-- the gift set is a kit: one lamp and one vase
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
 WHERE k.sku = 'HOME-SET' AND c.sku IN ('LAMP', 'VASE');
INSERT INTO erp.node (code, name, kind)
VALUES ('DC-EAST', 'East distribution centre', 'warehouse'),
       ('STORE-01', 'High Street store', 'store');
INSERT INTO erp.channel (code, name, kind) VALUES ('WEB', 'Webshop', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'DC-EAST' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n;
SELECT sku, category, unit_price, high_value FROM erp.item ORDER BY sku;

-- The rules that route returns, as shipped: the first match by priority wins.
SELECT priority, reason, condition, category, disposition, refund_policy, restocking_fee_pct, builtin
  FROM erp.disposition_rule ORDER BY priority;

------------------------------------------------------------------------------
-- Last week: opening stock, and six orders shipped from the DC
------------------------------------------------------------------------------
SELECT count(erp.receive(sku, 'DC-EAST', qty, ref => 'opening')) AS receipts
  FROM (VALUES ('TEE-S', 40), ('JEANS-32', 15), ('HEADPHONES', 8), ('CHARGER', 30),
               ('LAPTOP-13', 3), ('LAMP', 12), ('VASE', 10)) v(sku, qty);

-- Ana's order, step by step: capture, allocate, pick (scanning each sku), pack, ship.
SELECT erp.capture_order('WEB', 'W-1001',
    '[{"sku": "TEE-S", "qty": 3, "unit_price": 19.90}, {"sku": "JEANS-32", "qty": 1, "unit_price": 59.00}]') AS ana \gset
SELECT * FROM erp.allocate(:ana);
SELECT erp.pick(:ana, 'TEE-S', 3);
SELECT erp.pick(:ana, 'JEANS-32', 1);
SELECT erp.pack(:ana);
SELECT erp.ship(:ana, 'DHL', 'TRK-1001') > 0 AS shipped;

-- The other orders go through the same steps.
CREATE FUNCTION pg_temp.ship_order(ref text, lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('WEB', ref, lines);
    p record;
BEGIN
    FOR p IN SELECT a.sku, sum(a.qty) AS qty FROM erp.allocate(o) a GROUP BY a.sku ORDER BY a.sku LOOP
        PERFORM erp.pick(o, p.sku, p.qty::bigint);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o, 'DHL', 'TRK-' || ref);
    RETURN o;
END
$$;
SELECT pg_temp.ship_order('W-1002', '[{"sku": "HEADPHONES", "qty": 2, "unit_price": 180.00},
                                      {"sku": "CHARGER", "qty": 2, "unit_price": 25.00}]') AS ben \gset
SELECT pg_temp.ship_order('W-1003', '[{"sku": "LAPTOP-13", "qty": 1, "unit_price": 1199.00}]') AS cleo \gset
SELECT pg_temp.ship_order('W-1004', '[{"sku": "LAMP", "qty": 2, "unit_price": 45.00},
                                      {"sku": "VASE", "qty": 2, "unit_price": 30.00}]') AS dan \gset
-- Eve bought the gift set at a discount: 66.00 instead of 70.00
SELECT pg_temp.ship_order('W-1005', '[{"sku": "HOME-SET", "qty": 1, "unit_price": 66.00}]') AS eve \gset
SELECT pg_temp.ship_order('W-0950', '[{"sku": "JEANS-32", "qty": 1, "unit_price": 59.00}]') AS gus \gset
-- Gus's jeans actually left 60 days ago (as superuser, to simulate the passing of time)
UPDATE erp.shipment SET shipped_at = now() - interval '60 days' WHERE order_id = :gus;

SELECT o.external_ref, o.status, i.sku, l.qty, l.unit_price, l.qty_shipped
  FROM erp.sales_order o JOIN erp.order_line l ON l.order_id = o.order_id
  JOIN erp.item i ON i.item_id = l.item_id
 ORDER BY o.external_ref, l.line_no;
-- Before any return: 3 tees, 1 jeans (+1 for Gus), 2 headphones, 2 chargers, 1 laptop,
-- 3 lamps (2 + 1 in the set), 3 vases (2 + 1 in the set) have left the DC.
:picture
:ledger

------------------------------------------------------------------------------
-- 09:00 Ana: two tees too small, the jeans too large
------------------------------------------------------------------------------
SELECT erp.authorize_return(:ana, '[{"sku": "TEE-S", "qty": 2, "reason": "too_small"},
                                    {"sku": "JEANS-32", "qty": 1, "reason": "too_large"}]') AS rma_ana \gset
-- the units are expected back where they shipped from: return_pending (inbound) at DC-EAST
:picture
:rmas
:lines

-- IE008: over-return: three tees shipped, two are authorised, two more cannot be
SELECT erp.authorize_return(:ana, '[{"sku": "TEE-S", "qty": 2, "reason": "changed_mind"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE008: the same jeans cannot be returned a second time
SELECT erp.authorize_return(:ana, '[{"sku": "JEANS-32", "qty": 1, "reason": "changed_mind"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE008: and nothing that was never on the order
SELECT erp.authorize_return(:ana, '[{"sku": "LAMP", "qty": 1, "reason": "changed_mind"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE003: a reason nobody defined, a sku nobody created, an order that does not exist
SELECT erp.authorize_return(:ana, '[{"sku": "TEE-S", "qty": 1, "reason": "did_not_like_colour"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.authorize_return(:ana, '[{"sku": "TEE-XL", "qty": 1, "reason": "too_small"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.authorize_return(999999, '[{"sku": "TEE-S", "qty": 1, "reason": "too_small"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: no units, or no lines at all
SELECT erp.authorize_return(:ana, '[{"sku": "TEE-S", "qty": 0, "reason": "too_small"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.authorize_return(:ana, '[]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing changed: still one RMA, the same lines, the same ledger (a refused
-- authorisation may use up an RMA number, so the next RMA is not number 2)
:rmas
:lines
:ledger

-- 10:00 the parcel arrives at the DC: everything expected goes to inspection
SELECT erp.receive_return(:rma_ana);
:picture
:rmas

-- inspection: the tees are as new -> restock, full refund 2 x 19.90 = 39.80
SELECT rma_line_id AS ana_tees FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_ana AND i.sku = 'TEE-S' \gset
SELECT rma_line_id AS ana_jeans FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_ana AND i.sku = 'JEANS-32' \gset
SELECT erp.inspect_return(:ana_tees, 'new');
-- the jeans were worn once: opened apparel is restocked with a 10% fee: 59.00 x 0.90 = 53.10
SELECT erp.inspect_return(:ana_jeans, 'opened');
-- both refunds are below the 250.00 threshold: approved at once; the RMA is closed
:picture
:rmas
:lines
:stamps

-- IE010: the tees were inspected already; inspecting them twice would move stock twice
SELECT erp.inspect_return(:ana_tees, 'used');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE010: a closed RMA receives nothing more
SELECT erp.receive_return(:rma_ana);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE010: the refund of the tees was approved automatically; nothing waits for an approver
SELECT erp.approve_refund(:ana_tees);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:picture
:lines
:ledger

------------------------------------------------------------------------------
-- 11:00 Ben: the headphones are not as described, one charger is defective
------------------------------------------------------------------------------
SELECT erp.authorize_return(:ben, '[{"sku": "HEADPHONES", "qty": 2, "reason": "not_as_described"},
                                    {"sku": "CHARGER", "qty": 1, "reason": "defective"}]') AS rma_ben \gset
SELECT rma_line_id AS ben_headphones FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_ben AND i.sku = 'HEADPHONES' \gset
SELECT rma_line_id AS ben_charger FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_ben AND i.sku = 'CHARGER' \gset
SELECT erp.receive_return(:rma_ben);
:picture

-- the headphones were used: refurbish, 15% fee: 2 x 180.00 x 0.85 = 306.00, above the
-- 250.00 threshold, so the refund waits for an approver (event refund_approval_needed)
SELECT erp.inspect_return(:ben_headphones, 'used');
-- the charger is defective: back to the vendor, full refund 25.00, approved at once
SELECT erp.inspect_return(:ben_charger, 'defective');
:picture
:rmas
:lines
:events

-- the refurbishment is done: the headphones are sellable again
SELECT erp.complete_refurbish(:ben_headphones);
-- the carrier collects the charger for the vendor: it leaves the books
SELECT erp.return_to_vendor(:ben_charger);
:picture
:stamps

-- IE010: done twice, or on a line routed elsewhere
SELECT erp.complete_refurbish(:ben_headphones);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.return_to_vendor(:ben_charger);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.complete_refurbish(:ben_charger);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:picture
:ledger

------------------------------------------------------------------------------
-- 12:00 Cleo sends back the laptop, unopened
------------------------------------------------------------------------------
SELECT erp.authorize_return(:cleo, '[{"sku": "LAPTOP-13", "qty": 1, "reason": "changed_mind"}]') AS rma_cleo \gset
SELECT rma_line_id AS cleo_laptop FROM erp.rma_line WHERE rma_id = :rma_cleo \gset
SELECT erp.receive_return(:rma_cleo);
-- new: restocked; but a high-value item's refund (1199.00) always waits for an approver
SELECT erp.inspect_return(:cleo_laptop, 'new');
:picture
:rmas
:lines

-- IE009: an operator may not release refunds
SET ROLE erp_operator;
SELECT erp.approve_refund(:cleo_laptop);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.approve_refund(:ben_headphones);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nothing changed: both refunds still wait, both RMAs are still only inspected
:rmas
:lines

-- the finance lead, a member of erp_approver, releases both
CREATE ROLE regress_approver;
GRANT erp_approver TO regress_approver;
SET ROLE regress_approver;
SELECT erp.approve_refund(:cleo_laptop);
SELECT erp.approve_refund(:ben_headphones);
RESET ROLE;
:rmas
:lines
:stamps

------------------------------------------------------------------------------
-- 13:00 Dan: both lamps arrived broken, one vase is not wanted
------------------------------------------------------------------------------
SELECT erp.authorize_return(:dan, '[{"sku": "LAMP", "qty": 2, "reason": "damaged_in_transit"},
                                    {"sku": "VASE", "qty": 1, "reason": "changed_mind"}]') AS rma_dan \gset
SELECT rma_line_id AS dan_lamps FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_dan AND i.sku = 'LAMP' \gset
SELECT rma_line_id AS dan_vase FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_dan AND i.sku = 'VASE' \gset
:picture

-- Dan drops the first lamp off at the store: a partial receipt, at another node.
-- The lamp that arrived becomes a line of its own (received, inspected and
-- refunded on its own); a return damaged in transit is refunded on receipt:
-- 45.00, approved at once
SELECT erp.receive_return(:rma_dan, 'STORE-01', '[{"sku": "LAMP", "qty": 1}]');
-- one lamp in inspection at the store, one lamp and the vase still expected at the DC
:picture
:rmas
:lines

-- IE007: Dan's bag also holds a tee that is not on the RMA: refused, and the
-- discrepancy is recorded in erp.event even though the call fails
SELECT erp.receive_return(:rma_dan, 'STORE-01', '[{"sku": "TEE-S", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE007: a label nobody can read is recorded too
SELECT erp.receive_return(:rma_dan, 'STORE-01', '[{"sku": "???", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE008: two lamps were authorised, one has arrived: two more cannot
SELECT erp.receive_return(:rma_dan, 'STORE-01', '[{"sku": "LAMP", "qty": 2}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing changed but the two discrepancy events
:picture
:lines
:ledger
SELECT e.kind, i.sku, n.code AS node, e.order_id = :dan AS dans_order, e.rma_id = :rma_dan AS dans_rma, e.payload
  FROM erp.event e LEFT JOIN erp.item i ON i.item_id = e.item_id LEFT JOIN erp.node n ON n.node_id = e.node_id
 WHERE e.kind = 'return_discrepancy' ORDER BY e.event_id;

-- the second lamp arrives at the store too: refunded on receipt, 45.00
SELECT erp.receive_return(:rma_dan, 'STORE-01', '[{"sku": "LAMP", "qty": 1}]');
-- the vase arrives at the DC, the node that shipped it
SELECT erp.receive_return(:rma_dan);
:picture
:rmas
:lines

-- the lamps are broken: damaged_in_transit (rule 100) disposes of them, before rule 500
-- (damaged: dispose, manual refund) is even tried; the refunds were made on receipt
SELECT l.rma_line_id = :dan_lamps AS first_line, erp.inspect_return(l.rma_line_id, 'damaged')
  FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_dan AND i.sku = 'LAMP' ORDER BY l.rma_line_id;
-- the vase was opened; no rule covers opened home goods but the last one: quarantine,
-- and a manual refund of 30.00 that waits for an approver
SELECT erp.inspect_return(:dan_vase, 'opened');
:picture
:rmas
:lines
SELECT e.kind, i.sku, e.payload FROM erp.event e LEFT JOIN erp.item i ON i.item_id = e.item_id
 WHERE e.kind = 'refund_approval_needed' ORDER BY e.event_id;

SET ROLE regress_approver;
SELECT erp.approve_refund(:dan_vase);
RESET ROLE;
:rmas
:stamps

------------------------------------------------------------------------------
-- 14:00 the shop's own rule: a defective home item under 50.00 is not worth
-- shipping back to the vendor: dispose of it and refund on inspection
------------------------------------------------------------------------------
INSERT INTO erp.disposition_rule (priority, condition, category, max_unit_value, disposition, refund_policy)
VALUES (350, 'defective', 'home', 50.00, 'dispose', 'on_inspection');
SELECT priority, reason, condition, category, min_unit_value, max_unit_value, disposition,
       refund_policy, restocking_fee_pct, builtin
  FROM erp.disposition_rule ORDER BY priority;

-- IE010: the shipped rules themselves cannot be changed or deleted
UPDATE erp.disposition_rule SET restocking_fee_pct = 0 WHERE priority = 300;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.disposition_rule WHERE priority = 400;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT priority, disposition, restocking_fee_pct FROM erp.disposition_rule WHERE builtin ORDER BY priority;

-- Dan's second vase cracked after a week: defective.  A second RMA of the same order
SELECT erp.authorize_return(:dan, '[{"sku": "VASE", "qty": 1, "reason": "defective"}]') AS rma_dan2 \gset
SELECT rma_line_id AS dan_vase2 FROM erp.rma_line WHERE rma_id = :rma_dan2 \gset
-- IE008: the same vases cannot be returned again, whichever RMA they are on
SELECT erp.authorize_return(:dan, '[{"sku": "VASE", "qty": 1, "reason": "defective"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:rmas
SELECT erp.receive_return(:rma_dan2);
-- the charger (electronics) went to the vendor by rule 400; the vase takes the new
-- rule 350 first, in this same session: disposed of, refund 30.00 on inspection
SELECT erp.inspect_return(:dan_vase2, 'defective');
:picture
:rmas
:lines

------------------------------------------------------------------------------
-- 15:00 Eve never sent the gift set back
------------------------------------------------------------------------------
-- a kit comes back as its components, its price shared by their list prices:
-- lamp 66.00 x 45/75 = 39.60, vase 66.00 x 30/75 = 26.40
SELECT erp.authorize_return(:eve, '[{"sku": "HOME-SET", "qty": 1, "reason": "changed_mind"}]') AS rma_eve \gset
:picture
:lines

-- her RMA runs out (as superuser, to simulate the passing of time) and expires:
-- the units still expected leave the books; nothing arrived, so the RMA is expired
UPDATE erp.rma SET expires_at = now() - interval '1 day' WHERE rma_id = :rma_eve;
SELECT erp.expire_returns() AS expired;
-- IE010: an expired RMA receives nothing
SELECT erp.receive_return(:rma_eve);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:picture
:rmas
:lines
-- nothing else is due: a second run expires nothing
SELECT erp.expire_returns() AS expired;

-- Eve calls again: the units of the expired RMA never came back, so they are returnable
SELECT erp.authorize_return(:eve, '[{"sku": "HOME-SET", "qty": 1, "reason": "changed_mind"}]') AS rma_eve2 \gset
SELECT rma_line_id AS eve_lamp FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_eve2 AND i.sku = 'LAMP' \gset
SELECT rma_line_id AS eve_vase FROM erp.rma_line l JOIN erp.item i USING (item_id)
 WHERE l.rma_id = :rma_eve2 AND i.sku = 'VASE' \gset
SELECT erp.receive_return(:rma_eve2);
SELECT erp.inspect_return(:eve_lamp, 'new');
SELECT erp.inspect_return(:eve_vase, 'new');
:picture
:rmas
:lines

------------------------------------------------------------------------------
-- 16:00 Gus wants to return jeans that shipped 60 days ago
------------------------------------------------------------------------------
-- IE008: outside the 30-day return window
SELECT erp.authorize_return(:gus, '[{"sku": "JEANS-32", "qty": 1, "reason": "too_small"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:rmas
:ledger
-- IE004: a return window must be a number of days
SELECT erp.authorize_return(:gus, '[{"sku": "JEANS-32", "qty": 1, "reason": "too_small"}]', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- customer service grants a 90-day window as a goodwill gesture: the jeans are expected
SELECT erp.authorize_return(:gus, '[{"sku": "JEANS-32", "qty": 1, "reason": "too_small"}]', 90) AS rma_gus \gset
:picture
:rmas

------------------------------------------------------------------------------
-- End of the day: the RMAs, every line and refund, the events, the picture,
-- and the books balance
------------------------------------------------------------------------------
:rmas
:lines
:stamps
:events
SELECT refund_status, count(*) AS lines, sum(refund_amount) AS amount
  FROM erp.rma_line GROUP BY refund_status ORDER BY refund_status;
:picture
:ledger
SELECT m.event, count(*) AS moves, sum(m.qty) AS units
  FROM erp.stock_move m WHERE m.ref LIKE 'rma:%' GROUP BY m.event ORDER BY m.event;
SELECT * FROM erp.verify();

DROP ROLE regress_approver;
