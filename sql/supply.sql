-- supply: a fortnight of purchasing, transfers, replenishment and counting at a
-- small retailer (SPEC.md sections 1, 4, 7 and 8).
--
-- Suppliers confirm purchase orders (their units are incoming at once) and
-- deliver them in parts; a lot-tracked item arrives with its lots and an item
-- that needs a quality check lands in quarantine.  A supplier runs late with
-- hoodies that customers are already waiting for: the delay names the orders at
-- risk, and the preorder promise moves with it.  The store is restocked by a
-- transfer (inbound while in transit), the replenishment view turns the stock
-- policy into suggestions whose formula is checked by hand, and those become
-- purchase orders.  Cycle counts correct small variances at once; a large one
-- waits for an approver.  Every refused call shows its message, its SQLSTATE and,
-- right after, proof that nothing changed.  The fortnight ends with erp.verify()
-- finding no inconsistency.
--
-- Times: every expected date is an offset in hours from t0 (the hour the
-- scenario starts), so the output never shows a timestamp, only differences.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_supply_approver;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never
SET application_name = 'regress-supply';
SELECT date_trunc('hour', now()) AS t0 \gset

-- The stock picture: the states purchasing, transfers and counts touch, per sku and node.
\set picture 'SELECT sku, node, available, reserved, quarantined, incoming, in_transit, on_hand, inbound, atp FROM erp.availability ORDER BY sku, node;'
-- Every purchase order line: who delivers what where, how much arrived, and when it is due.
CREATE TEMP VIEW po_lines AS
SELECT p.purchase_order_id AS po, s.code AS supplier, n.code AS node, p.status, l.line_no, i.sku, l.qty,
       l.qty_received AS received, l.unit_cost, p.expected_at - :'t0'::timestamptz AS due_after_t0,
       p.received_at IS NOT NULL AS received_stamp
  FROM erp.purchase_order p
  JOIN erp.supplier s ON s.supplier_id = p.supplier_id
  JOIN erp.node n ON n.node_id = p.node_id
  JOIN erp.purchase_order_line l ON l.purchase_order_id = p.purchase_order_id
  JOIN erp.item i ON i.item_id = l.item_id;
\set pos 'SELECT * FROM po_lines ORDER BY po, line_no;'
-- Every transfer.
\set transfers 'SELECT t.transfer_id, i.sku, f.code AS from_node, d.code AS to_node, t.qty, t.status, t.received_at IS NOT NULL AS received_stamp FROM erp.transfer t JOIN erp.item i ON i.item_id = t.item_id JOIN erp.node f ON f.node_id = t.from_node_id JOIN erp.node d ON d.node_id = t.to_node_id ORDER BY t.transfer_id;'
-- Counts, adjustments and their decisions.
\set counts 'SELECT c.cycle_count_id AS count_id, i.sku, n.code AS node, l.lot_code AS lot, c.system_qty, c.counted_qty, c.variance, c.unit_cost, c.counted_by, a.adjustment_id AS adj, a.qty_delta, a.value, a.status, a.created_by, a.decided_by, a.move_id IS NOT NULL AS moved FROM erp.cycle_count c JOIN erp.item i ON i.item_id = c.item_id JOIN erp.node n ON n.node_id = c.node_id LEFT JOIN erp.lot l ON l.lot_id = c.lot_id LEFT JOIN erp.adjustment a ON a.adjustment_id = c.adjustment_id ORDER BY c.cycle_count_id;'
-- How much of everything there is: a refused call must leave all of it as it was.
\set books 'SELECT (SELECT count(*) FROM erp.purchase_order) AS pos, (SELECT string_agg(status::text, '','' ORDER BY purchase_order_id) FROM erp.purchase_order) AS po_statuses, (SELECT coalesce(sum(qty_received), 0) FROM erp.purchase_order_line) AS po_received, (SELECT count(*) FROM erp.transfer) AS transfers, (SELECT count(*) FROM erp.lot) AS lots, (SELECT count(*) FROM erp.cycle_count) AS counts, (SELECT string_agg(status::text, '','' ORDER BY adjustment_id) FROM erp.adjustment) AS adjustments, (SELECT count(*) FROM erp.stock_move) AS moves, (SELECT coalesce(sum(qty), 0) FROM erp.stock_move) AS units_moved, (SELECT count(*) FROM erp.event) AS events;'
-- The outbox, as integrations see it (the timestamps in payloads left out).
CREATE TEMP VIEW outbox AS
SELECT e.event_id, e.kind, i.sku, n.code AS node, o.external_ref AS order_ref,
       e.payload - 'was_expected_at' - 'expected_at' AS payload
  FROM erp.event e
  LEFT JOIN erp.item i ON i.item_id = e.item_id
  LEFT JOIN erp.node n ON n.node_id = e.node_id
  LEFT JOIN erp.sales_order o ON o.order_id = e.order_id;
\set events 'SELECT * FROM outbox ORDER BY event_id;'


------------------------------------------------------------------------------
-- Master data: six items, a warehouse and a store, a webshop and a till, two suppliers
------------------------------------------------------------------------------
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder)
VALUES ('TEE-M', 'Organic tee, size M', 6.50, 19.90, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price)
VALUES ('MUG', 'Stoneware mug', 3.10, 12.00),
       ('LAPTOP-13', 'Laptop 13 inch', 820.00, 1199.00);
-- hoodies may be backordered and promised from stock on its way (preorders)
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder, allow_preorder)
VALUES ('HOODIE', 'Heavy hoodie', 15.00, 49.00, true, true);
-- vitamins are kept per lot; chargers go through a quality check on receipt
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked)
VALUES ('VITC-60', 'Vitamin C, 60 tablets', 2.00, 8.50, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, requires_qc)
VALUES ('CHARGER', 'USB-C charger 65W', 9.00, 25.00, true);
INSERT INTO erp.node (code, name, kind)
VALUES ('DC-EAST', 'East distribution centre', 'warehouse'),
       ('STORE-01', 'High Street store', 'store');
-- the webshop ships from the DC first; the store's till sells only what the store holds
INSERT INTO erp.channel (code, name, kind) VALUES ('WEB', 'Webshop', 'storefront'), ('POS', 'Store till', 'pos');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'DC-EAST' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'WEB';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'POS' AND n.code = 'STORE-01';
INSERT INTO erp.supplier (code, name, lead_time_days)
VALUES ('ACME', 'Acme Apparel', 10), ('BOLT', 'Bolt Wholesale', 4);
:picture
:books

------------------------------------------------------------------------------
-- Acme confirms 60 tees (at a negotiated 6.10) and 24 mugs (at the
-- item's cost) for the DC, due in a week: the units are incoming at once
------------------------------------------------------------------------------
SELECT erp.create_po('ACME', 'DC-EAST',
                     '[{"sku": "TEE-M", "qty": 60, "unit_cost": 6.10}, {"sku": "MUG", "qty": 24}]',
                     :'t0'::timestamptz + interval '168 hours') AS po;
:pos
:picture

-- The first 40 tees arrive
SELECT erp.receive_po(1, '[{"sku": "TEE-M", "qty": 40}]');
:pos
:picture

-- IE004: 21 more tees are on the van, but only 20 are still due
SELECT erp.receive_po(1, '[{"sku": "TEE-M", "qty": 21}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:pos
:picture
:books

-- IE003: a delivery that also holds vitamins, which are not on this order:
-- the whole receipt is refused, the five tees with it
SELECT erp.receive_po(1, '[{"sku": "TEE-M", "qty": 5}, {"sku": "VITC-60", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE003: a purchase order nobody created
SELECT erp.receive_po(999, '[{"sku": "TEE-M", "qty": 5}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: a receipt with no lines, and one of zero units
SELECT erp.receive_po(1, '[]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive_po(1, '[{"sku": "TEE-M", "qty": 0}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:pos
:picture
:books

-- The rest arrives; without lines, everything outstanding is received
SELECT erp.receive_po(1);
:pos
:picture

-- IE010: a received purchase order can be neither received again nor delayed
SELECT erp.receive_po(1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.delay_po(1, :'t0'::timestamptz + interval '240 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:pos
:books

-- Refused purchase orders: IE003 for an unknown supplier, node or sku
SELECT erp.create_po('NOBODY', 'DC-EAST', '[{"sku": "TEE-M", "qty": 10}]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.create_po('ACME', 'DC-WEST', '[{"sku": "TEE-M", "qty": 10}]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.create_po('ACME', 'DC-EAST', '[{"sku": "TEE-M", "qty": 10}, {"sku": "HAT-L", "qty": 5}]',
                     :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... and IE004 for a bad quantity or no lines at all
SELECT erp.create_po('ACME', 'DC-EAST', '[{"sku": "TEE-M", "qty": 0}]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.create_po('ACME', 'DC-EAST', '[{"sku": "TEE-M", "qty": -3}]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.create_po('ACME', 'DC-EAST', '[{"sku": "TEE-M", "qty": 2.5}]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.create_po('ACME', 'DC-EAST', '[]', :'t0'::timestamptz + interval '168 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:pos
:picture
:books

------------------------------------------------------------------------------
-- Bolt confirms 40 vitamins (kept per lot) and 10 chargers (quality check)
------------------------------------------------------------------------------
SELECT erp.create_po('BOLT', 'DC-EAST', '[{"sku": "VITC-60", "qty": 40}, {"sku": "CHARGER", "qty": 10}]',
                     :'t0'::timestamptz + interval '96 hours') AS po;

-- IE003: "receive everything" cannot work for vitamins, whose lot is printed on
-- the boxes; the chargers of the same call are not received either
SELECT erp.receive_po(2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE003: nor can a line of vitamins without its lot
SELECT erp.receive_po(2, '[{"sku": "VITC-60", "qty": 25, "expires_on": "2031-03-31"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:pos
:picture
:books

-- 25 vitamins of lot L2031-03 and all chargers arrive.  The vitamins'
-- incoming units had no lot: the receipt closes that expectation (po_received)
-- and receives the lot from outside; the chargers go to quarantine.
SELECT erp.receive_po(2, '[{"sku": "VITC-60", "qty": 25, "lot": "L2031-03", "expires_on": "2031-03-31"},
                           {"sku": "CHARGER", "qty": 10}]');
SELECT i.sku, l.lot_code AS lot, m.qty, fn.code AS from_node, m.from_state, tn.code AS to_node, m.to_state, m.event
  FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id
  LEFT JOIN erp.lot l ON l.lot_id = m.lot_id
  LEFT JOIN erp.node fn ON fn.node_id = m.from_node_id
  LEFT JOIN erp.node tn ON tn.node_id = m.to_node_id
 WHERE m.ref = 'po:2' ORDER BY m.move_id;
:pos
:picture

-- The other 15 vitamins come from a later lot: the order is received
SELECT erp.receive_po(2, '[{"sku": "VITC-60", "qty": 15, "lot": "L2031-09", "expires_on": "2031-09-30"}]');
SELECT i.sku, l.lot_code, to_char(l.expires_on, 'YYYY-MM-DD') AS expires_on
  FROM erp.lot l JOIN erp.item i ON i.item_id = l.item_id ORDER BY l.lot_code;
:pos
-- the chargers pass their check and are released for sale
SELECT erp.move('CHARGER', 'DC-EAST', 10, 'quarantined', 'available', 'release_hold', ref => 'qc:po:2') > 0 AS released;
:picture

------------------------------------------------------------------------------
-- Customers want hoodies the shop does not have yet: two webshop orders
-- are backordered.  Acme confirms 20 hoodies for the DC (due at hour 120) and
-- 12 for the store (due at hour 240).
------------------------------------------------------------------------------
SELECT erp.capture_order('WEB', 'W-1', '[{"sku": "HOODIE", "qty": 3, "unit_price": 49.00}]') AS order_id;
SELECT erp.capture_order('WEB', 'W-2', '[{"sku": "HOODIE", "qty": 2, "unit_price": 49.00},
                                         {"sku": "TEE-M", "qty": 1, "unit_price": 19.90}]') AS order_id;
SELECT * FROM erp.allocate(1);
SELECT * FROM erp.allocate(2);
SELECT o.external_ref, o.status AS order_status, l.line_no, i.sku, l.qty, l.qty_allocated, l.qty_backordered, l.status
  FROM erp.sales_order o JOIN erp.order_line l ON l.order_id = o.order_id JOIN erp.item i ON i.item_id = l.item_id
 ORDER BY o.order_id, l.line_no;
SELECT erp.create_po('ACME', 'DC-EAST', '[{"sku": "HOODIE", "qty": 20}]', :'t0'::timestamptz + interval '120 hours') AS po;
SELECT erp.create_po('ACME', 'STORE-01', '[{"sku": "HOODIE", "qty": 12}]', :'t0'::timestamptz + interval '240 hours') AS po;

-- A preorder promise: with a promise date, hoodies due by then count.  Without
-- a date nothing inbound is promised; by hour 200 the DC's 20 are due; by hour
-- 300 the store's 12 too (all nodes).
SELECT erp.atp('HOODIE', 'DC-EAST') AS now_at_dc,
       erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '100 hours') AS by_h100_at_dc,
       erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '200 hours') AS by_h200_at_dc,
       erp.atp('HOODIE', at => :'t0'::timestamptz + interval '200 hours') AS by_h200_anywhere,
       erp.atp('HOODIE', at => :'t0'::timestamptz + interval '300 hours') AS by_h300_anywhere;

-- Acme will deliver the DC's hoodies a week late (hour 288, not 120).
-- The supplier_delay event names the orders waiting for hoodies.
SELECT erp.delay_po(3, :'t0'::timestamptz + interval '288 hours');
SELECT po, supplier, node, status, sku, qty, due_after_t0 FROM po_lines WHERE po = 3;
:events
SELECT (payload->>'expected_at')::timestamptz - (payload->>'was_expected_at')::timestamptz AS delayed_by,
       (payload->>'expected_at')::timestamptz - :'t0'::timestamptz AS now_due_after_t0
  FROM erp.event WHERE kind = 'supplier_delay';
-- the promise moves with the delivery: by hour 200 the DC can promise no hoodie
-- any more, by hour 300 it can again
SELECT erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '200 hours') AS by_h200_at_dc,
       erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '300 hours') AS by_h300_at_dc;
-- items that do not allow preorders promise only what is on the shelf, however
-- late the date: Bolt's 30 tees due at hour 48 do not count
SELECT erp.create_po('BOLT', 'DC-EAST', '[{"sku": "TEE-M", "qty": 30}]', :'t0'::timestamptz + interval '48 hours') AS po;
SELECT erp.atp('TEE-M', 'DC-EAST') AS tees_now,
       erp.atp('TEE-M', 'DC-EAST', at => :'t0'::timestamptz + interval '300 hours') AS tees_by_h300;

-- IE003: delaying a purchase order nobody created
SELECT erp.delay_po(999, :'t0'::timestamptz + interval '288 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

------------------------------------------------------------------------------
-- Transfers.  25 tees go from the DC to the store; the store opens with
-- 6 hoodies and sends 4 of them to the DC for the waiting webshop orders.
------------------------------------------------------------------------------
SELECT erp.receive('HOODIE', 'STORE-01', 6, ref => 'opening') > 0 AS opened;
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-01', 25) AS transfer_id;
SELECT erp.transfer('HOODIE', 'STORE-01', 'DC-EAST', 4) AS transfer_id;
-- in transit the units are inbound at the destination, not on hand anywhere
:transfers
:picture
-- hoodies in transit to the DC count for a preorder promise (by hour 200 the
-- delayed purchase order does not); tees in transit do not (no preorders)
SELECT erp.atp('HOODIE', 'DC-EAST') AS hoodies_now,
       erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '200 hours') AS hoodies_by_h200,
       erp.atp('HOODIE', 'DC-EAST', at => :'t0'::timestamptz + interval '300 hours') AS hoodies_by_h300,
       erp.atp('TEE-M', 'STORE-01', at => :'t0'::timestamptz + interval '300 hours') AS store_tees_by_h300;

-- The van reaches the store: the tees are available there
SELECT erp.receive_transfer(1);
:transfers
:picture

-- IE010: the same transfer cannot be received twice
SELECT erp.receive_transfer(1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE003: a transfer nobody sent, a sku and a node nobody created
SELECT erp.receive_transfer(999);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.transfer('HAT-L', 'DC-EAST', 'STORE-01', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-99', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: a transfer needs two different nodes
SELECT erp.transfer('TEE-M', 'DC-EAST', 'DC-EAST', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE001: the store has 2 hoodies left, not 3
SELECT erp.transfer('HOODIE', 'STORE-01', 'DC-EAST', 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: zero units
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-01', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:transfers
:picture
:books

------------------------------------------------------------------------------
-- Replenishment.  The stock policy per item and node (reorder point,
-- order-up-to level, supplier, lead time), then a week of sales.
------------------------------------------------------------------------------
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, supplier_id)
SELECT i.item_id, n.node_id, v.rp, v.upto, v.lead, s.supplier_id
  FROM (VALUES ('TEE-M', 'DC-EAST', 60, 120, NULL, 'ACME'),
               ('HOODIE', 'DC-EAST', 30, 60, 21, 'ACME'),
               ('MUG', 'DC-EAST', 10, 40, NULL, 'BOLT'),
               ('CHARGER', 'DC-EAST', 12, 20, NULL, 'BOLT'),
               ('TEE-M', 'STORE-01', 10, 30, NULL, 'ACME'),
               ('VITC-60', 'STORE-01', 5, 20, NULL, NULL)) v(sku, node, rp, upto, lead, supplier)
  JOIN erp.item i ON i.sku = v.sku JOIN erp.node n ON n.code = v.node
  LEFT JOIN erp.supplier s ON s.code = v.supplier;

-- Orders ship: W-3 (14 tees) and W-4 (5 tees) from the DC, P-1 (21 tees) at the
-- store's till.  W-3 takes the DC's tees (34 available + 30 inbound = 64) below
-- its reorder point of 60: one low_stock event; W-4 finds them below already:
-- none.  P-1 takes the store's below 10: one low_stock event.
CREATE FUNCTION pg_temp.ship_order(p_channel text, p_ref text, p_sku text, p_qty bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order(p_channel, p_ref, jsonb_build_array(
                    jsonb_build_object('sku', p_sku, 'qty', p_qty, 'unit_price', 19.90)));
    a record;
BEGIN
    FOR a IN SELECT * FROM erp.allocate(o) LOOP
        PERFORM erp.pick(o, a.sku, a.qty);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN (SELECT status::text FROM erp.sales_order WHERE order_id = o);
END
$$;
SELECT pg_temp.ship_order('WEB', 'W-3', 'TEE-M', 14) AS w3,
       pg_temp.ship_order('WEB', 'W-4', 'TEE-M', 5) AS w4,
       pg_temp.ship_order('POS', 'P-1', 'TEE-M', 21) AS p1;
SELECT kind, sku, node, order_ref, payload FROM outbox WHERE kind = 'low_stock' ORDER BY event_id;
-- W-4 shipped 40 days ago after all (a late booking): outside the 28-day demand window
UPDATE erp.shipment SET shipped_at = now() - interval '40 days'
 WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE external_ref = 'W-4');
:picture

-- The replenishment view.  By hand, position = available + inbound - backordered:
--   TEE-M   DC-EAST : 15 + 30 (Bolt's tees) - 0 = 45 < 60 -> 120 - 45 = 75;
--                     demand 14 / 28 = 0.50 a day (W-4 is too old), cover 15 / 0.50 = 30.0 days;
--                     (15 + 30) / 0.50 = 90 days > 10 days lead time: medium
--   HOODIE  DC-EAST : 0 + 20 (Acme) + 4 (in transit) - 5 (W-1 3, W-2 2) = 19 < 30 -> 60 - 19 = 41;
--                     nothing available and orders waiting: stockout
--   MUG     DC-EAST : 24 + 0 - 0 = 24 >= 10 -> 0; low
--   CHARGER DC-EAST : 10 + 0 - 0 = 10 < 12 -> 20 - 10 = 10; medium
--   TEE-M   STORE-01: 4 + 0 - 0 = 4 < 10 -> 30 - 4 = 26; demand 21 / 28 = 0.75 a day,
--                     cover 4 / 0.75 = 5.3 days < 10 days lead time: high
--   VITC-60 STORE-01: 0 + 0 - 0 = 0 < 5 -> 20 - 0 = 20; medium (but no supplier)
SELECT sku, node, on_hand, available, inbound, backordered, avg_daily_demand, reorder_point, order_up_to,
       suggested_qty, days_of_cover, stockout_risk, lead_time_days
  FROM erp.replenishment ORDER BY node, sku;
-- the same formula, recomputed from the view's own columns
SELECT sku, node, available + inbound - backordered AS position, reorder_point, order_up_to, suggested_qty,
       suggested_qty = CASE WHEN available + inbound - backordered < reorder_point
                            THEN order_up_to - (available + inbound - backordered) ELSE 0 END AS formula_holds
  FROM erp.replenishment ORDER BY node, sku;

-- The suggestions become purchase orders: one per supplier and node (Acme for
-- the DC: hoodies and tees; Acme for the store: tees; Bolt for the DC:
-- chargers), each due after the longest lead time of its lines.  The vitamins
-- have no supplier and are left to the buyer.
SELECT erp.create_replenishment_pos() AS purchase_orders;
SELECT p.purchase_order_id AS po, s.code AS supplier, n.code AS node, p.status, i.sku, l.qty, l.unit_cost,
       p.expected_at - p.created_at AS lead_time
  FROM erp.purchase_order p JOIN erp.supplier s ON s.supplier_id = p.supplier_id
  JOIN erp.node n ON n.node_id = p.node_id
  JOIN erp.purchase_order_line l ON l.purchase_order_id = p.purchase_order_id
  JOIN erp.item i ON i.item_id = l.item_id
 WHERE p.purchase_order_id > 5 ORDER BY p.purchase_order_id, l.line_no;
-- now incoming, the ordered units close every gap but the vitamins'; a second
-- run finds nothing to order
SELECT sku, node, available, inbound, backordered, suggested_qty, stockout_risk
  FROM erp.replenishment ORDER BY node, sku;
SELECT erp.create_replenishment_pos() AS purchase_orders;

-- The hoodies reach the DC, and the waiting orders get stock: W-1 takes 3 of
-- the DC's 4; W-2's two come from the store, the one node that can fill them
SELECT erp.receive_transfer(2);
SELECT erp.allocate_pending() AS orders_served;
SELECT o.external_ref, o.status AS order_status, i.sku, l.qty, l.qty_allocated, l.qty_backordered, l.status
  FROM erp.sales_order o JOIN erp.order_line l ON l.order_id = o.order_id JOIN erp.item i ON i.item_id = l.item_id
 WHERE o.external_ref IN ('W-1', 'W-2') ORDER BY o.order_id, l.line_no;
:transfers

------------------------------------------------------------------------------
-- Cycle counts.  A variance worth at most 100.00 (no approval policy
-- row yet) is adjusted at once; a larger one waits for an approver.
------------------------------------------------------------------------------
SELECT erp.receive('LAPTOP-13', 'DC-EAST', 5, ref => 'opening') > 0 AS opened;
SET ROLE erp_operator;
-- one mug is missing: 1 x 3.10 = 3.10, adjusted at once
SELECT erp.count('MUG', 'DC-EAST', 23) AS count_id;
-- the store finds two more tees than the books say: 2 x 6.50 = 13.00, adjusted in
SELECT erp.count('TEE-M', 'STORE-01', 6) AS count_id;
-- lot L2031-09 is gone entirely (a count of 0): 15 x 2.00 = 30.00, adjusted at once
SELECT erp.count('VITC-60', 'DC-EAST', 0, 'L2031-09') AS count_id;
-- the chargers are all there: no variance, no adjustment
SELECT erp.count('CHARGER', 'DC-EAST', 10) AS count_id;
-- two laptops are missing: 2 x 820.00 = 1640.00 waits for an approver
SELECT erp.count('LAPTOP-13', 'DC-EAST', 3) AS count_id;
RESET ROLE;
:counts
SELECT kind, sku, node, payload FROM outbox WHERE kind = 'adjustment_approval_needed' ORDER BY event_id;
-- the adjustments applied are moves of the counting role, from the counting app;
-- the laptops have not moved
SELECT i.sku, n.code AS node, m.qty, m.from_state, m.to_state, m.event, m.actor, m.application_name
  FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id
  JOIN erp.node n ON n.node_id = coalesce(m.from_node_id, m.to_node_id)
 WHERE m.event = 'adjust' ORDER BY m.move_id;
:picture

-- Refused counts: IE004 for a negative count, IE003 for a lot-tracked item
-- without its lot, a lot given for an item not kept per lot, an unknown lot,
-- sku or node
SELECT erp.count('MUG', 'DC-EAST', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.count('VITC-60', 'DC-EAST', 20);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.count('MUG', 'DC-EAST', 20, 'L2031-03');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.count('VITC-60', 'DC-EAST', 20, 'L2099-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.count('HAT-L', 'DC-EAST', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.count('MUG', 'DC-WEST', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:counts
:books

-- IE009: an operator may not approve the laptops' adjustment
SET ROLE erp_operator;
SELECT erp.approve_adjustment(4);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
:counts
:picture
:books

-- an approver applies it: two laptops are written off, by the approver
CREATE ROLE regress_supply_approver;
GRANT erp_approver TO regress_supply_approver;
SET ROLE regress_supply_approver;
SELECT erp.approve_adjustment(4);
RESET ROLE;
:counts
SELECT i.sku, m.qty, m.from_state, m.to_state, m.event, m.ref, m.actor
  FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id WHERE m.ref = 'adjustment:4';
:picture

-- IE010: an applied adjustment cannot be approved again; IE003: nor one nobody made
SET ROLE regress_supply_approver;
SELECT erp.approve_adjustment(4);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.approve_adjustment(999);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
:counts
:books

-- IE001: a recount finds no laptop at all (3 x 820.00 waits for approval), but
-- before the approver gets to it the three turn up damaged and are moved to
-- damaged: the write-off of available laptops finds none and stays pending
SELECT erp.count('LAPTOP-13', 'DC-EAST', 0) AS count_id;
SELECT erp.move('LAPTOP-13', 'DC-EAST', 3, 'available', 'damaged', 'damage', ref => 'incident:9') > 0 AS damaged;
SET ROLE regress_supply_approver;
SELECT erp.approve_adjustment(5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
:counts
:books

-- The shop's own approval policy: adjustments up to 12.40 need no approver
-- (the threshold itself included): four mugs missing, 4 x 3.10 = 12.40
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 12.40);
SELECT erp.count('MUG', 'DC-EAST', 19) AS count_id;
-- ... while five tees, 5 x 6.50 = 32.50, now wait
SELECT erp.count('TEE-M', 'STORE-01', 1) AS count_id;
:counts

------------------------------------------------------------------------------
-- End of the fortnight: the purchase orders, the outbox, the picture, and the
-- books balance
------------------------------------------------------------------------------
SELECT po, supplier, node, status, line_no, sku, qty, received FROM po_lines ORDER BY po, line_no;
:events
:picture
SELECT * FROM erp.verify();
DROP ROLE regress_supply_approver;
