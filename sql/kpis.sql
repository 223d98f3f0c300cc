-- kpis: a small retailer's week, read through every view of 12_intelligence.sql
-- (SPEC.md section 9): the channel feed, the eight KPI views and the dashboard.
--
-- A webshop and a store till sell four items from a distribution centre and a
-- store.  Orders are allocated in full, split over the two nodes and shipped,
-- backordered, left short and cancelled; customers return things that are
-- restocked, refurbished or disposed of, and refunded at once or after an
-- approver; two nodes are counted, with exact and inexact results, and one
-- adjustment waits for approval.  Then every view is read, and before each read
-- a comment works its numbers out by hand from the week.  Whatever depends on
-- the clock is made exact: the returns desk's times are set to fixed moments,
-- and the order, shipment and event times are set relative to now() in the
-- transaction that reads the views (now() does not move inside a transaction).
-- A partner role then sees only its own node.  The week ends with erp.verify()
-- finding no inconsistency.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_kpi_partner;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never

-- Every order line: what was asked, allocated, backordered and shipped.
\set orders 'SELECT o.external_ref AS ref, c.code AS channel, o.status, l.line_no, i.sku, l.qty, l.unit_price, l.qty_allocated AS alloc, l.qty_backordered AS backord, l.qty_shipped AS shipped, l.status AS line_status FROM erp.sales_order o JOIN erp.channel c ON c.channel_id = o.channel_id JOIN erp.order_line l ON l.order_id = o.order_id JOIN erp.item i ON i.item_id = l.item_id ORDER BY o.order_id, l.line_no;'
-- Which node shipped what.
\set shipped 'SELECT o.external_ref AS ref, i.sku, n.code AS node, sl.qty FROM erp.shipment_line sl JOIN erp.sales_order o ON o.order_id = sl.order_id JOIN erp.item i ON i.item_id = sl.item_id JOIN erp.node n ON n.node_id = sl.node_id ORDER BY o.order_id, i.sku, n.code;'
-- Every RMA line and what became of it.
\set returns 'SELECT l.rma_id AS rma, o.external_ref AS ref, r.status AS rma_status, i.sku, i.category, n.code AS node, l.reason, l.qty, l.qty_received AS rcvd, l.condition, l.disposition, l.refund_amount, l.refund_status FROM erp.rma_line l JOIN erp.rma r ON r.rma_id = l.rma_id JOIN erp.sales_order o ON o.order_id = r.order_id JOIN erp.item i ON i.item_id = l.item_id JOIN erp.node n ON n.node_id = l.node_id ORDER BY l.rma_line_id;'
-- The stock picture.
\set picture 'SELECT sku, node, available, reserved, inspection, incoming, return_pending, on_hand, inbound, safety_stock FROM erp.availability ORDER BY sku, node;'

------------------------------------------------------------------------------
-- Master data: four items in three categories (one retired), two nodes, two
-- channels; two mugs kept back as safety stock at the DC, two ring-fenced for
-- the till; adjustments above 10.00 wait for an approver
------------------------------------------------------------------------------
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price) VALUES
    ('TEE', 'Organic tee', 'apparel', 5.00, 20.00),
    ('MUG', 'Stoneware mug', 'home', 3.00, 12.00),
    ('CHARGER', 'USB-C charger', 'electronics', 9.00, 25.00);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, allow_backorder)
VALUES ('LAMP', 'Desk lamp', 'home', 18.00, 45.00, true);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, active)
VALUES ('CAP', 'Baseball cap', 'apparel', 4.00, 15.00, false);
INSERT INTO erp.node (code, name, kind) VALUES
    ('DC', 'Distribution centre', 'warehouse'),
    ('STORE', 'High Street store', 'store');
INSERT INTO erp.channel (code, name, kind) VALUES
    ('WEB', 'Webshop', 'storefront'),
    ('SHOP', 'Store till', 'pos');
-- the webshop ships from the DC first, then the store; the till sells the store's stock
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('WEB', 'DC', 1), ('WEB', 'STORE', 2), ('SHOP', 'STORE', 1)) v(channel, node, rank)
  JOIN erp.channel c ON c.code = v.channel JOIN erp.node n ON n.code = v.node;
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 2 FROM erp.item i, erp.node n WHERE i.sku = 'MUG' AND n.code = 'DC';
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 2 FROM erp.item i, erp.channel c WHERE i.sku = 'MUG' AND c.code = 'SHOP';
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 10.00);
INSERT INTO erp.supplier (code, name) VALUES ('LAMPCO', 'Lamp maker');
SELECT sku, category, unit_cost, unit_price, allow_backorder, active FROM erp.item ORDER BY item_id;

-- Helpers: pick, pack and ship everything an order holds; an order by its
-- reference; an RMA line by its RMA and sku.
CREATE FUNCTION pg_temp.ship(o bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT i.sku, sum(r.qty - r.qty_picked) AS qty FROM erp.reservation r
               JOIN erp.item i ON i.item_id = r.item_id
              WHERE r.order_id = o GROUP BY i.sku ORDER BY i.sku LOOP
        PERFORM erp.pick(o, p.sku, p.qty::bigint);
    END LOOP;
    PERFORM erp.pack(o);
    RETURN erp.ship(o, 'DHL', 'TRK-' || o);
END
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.line(rma bigint, item text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT l.rma_line_id FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
           WHERE l.rma_id = rma AND i.sku = item $$;

------------------------------------------------------------------------------
-- Opening stock: DC 10 tees, 20 mugs, 2 lamps, 1 charger; store 6 tees, 12 mugs.
-- Ten lamps are on order from the supplier, due 1 June 2031.
------------------------------------------------------------------------------
SELECT count(erp.receive(sku, node, qty, ref => 'opening')) AS receipts
  FROM (VALUES ('TEE', 'DC', 10), ('TEE', 'STORE', 6), ('MUG', 'DC', 20), ('MUG', 'STORE', 12),
               ('LAMP', 'DC', 2), ('CHARGER', 'DC', 1)) v(sku, node, qty);
SELECT erp.create_po('LAMPCO', 'DC', '[{"sku": "LAMP", "qty": 10, "unit_cost": 18.00}]',
                     '2031-06-01 09:00+00') > 0 AS po_created;
:picture

------------------------------------------------------------------------------
-- Orders
------------------------------------------------------------------------------
-- W-1001: 4 tees and 2 mugs, all at the DC, shipped
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'W-1001', '[{"sku": "TEE", "qty": 4}, {"sku": "MUG", "qty": 2}]'));
SELECT pg_temp.ship(pg_temp.ord('W-1001')) > 0 AS shipped;
-- W-1002: 9 tees; the DC has 6 left and the store 6, neither has 9: split, 6 + 3, shipped
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'W-1002', '[{"sku": "TEE", "qty": 9}]'));
SELECT pg_temp.ship(pg_temp.ord('W-1002')) > 0 AS shipped;
-- W-1003: 5 lamps; 2 at the DC, the other 3 backordered (lamps allow backorders)
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'W-1003', '[{"sku": "LAMP", "qty": 5}]'));
-- W-1004: 3 chargers and a mug; 1 charger exists: the charger line is short
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'W-1004', '[{"sku": "CHARGER", "qty": 3}, {"sku": "MUG", "qty": 1}]'));
-- W-1005: 2 tees from the store, then cancelled: its 2 tees go back
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'W-1005', '[{"sku": "TEE", "qty": 2}]'));
SELECT erp.cancel_order(pg_temp.ord('W-1005'));
-- S-2001: 3 mugs at the till, shipped (handed over)
SELECT * FROM erp.allocate(erp.capture_order('SHOP', 'S-2001', '[{"sku": "MUG", "qty": 3}]'));
SELECT pg_temp.ship(pg_temp.ord('S-2001')) > 0 AS shipped;
-- S-2002: a tee, allocated; S-2003: a mug, captured and not allocated yet
SELECT * FROM erp.allocate(erp.capture_order('SHOP', 'S-2002', '[{"sku": "TEE", "qty": 1}]'));
SELECT erp.capture_order('SHOP', 'S-2003', '[{"sku": "MUG", "qty": 1}]') > 0 AS captured;
:orders
:shipped

------------------------------------------------------------------------------
-- Returns
------------------------------------------------------------------------------
-- RMA 1 (W-1001): 2 tees too small and 2 mugs unwanted, both as new: restocked,
-- refunds 2 x 20.00 = 40.00 and 2 x 12.00 = 24.00, approved at once
SELECT erp.authorize_return(pg_temp.ord('W-1001'), '[{"sku": "TEE", "qty": 2, "reason": "too_small"},
                                                     {"sku": "MUG", "qty": 2, "reason": "changed_mind"}]') AS rma_1 \gset
SELECT erp.receive_return(:rma_1);
SELECT erp.inspect_return(pg_temp.line(:rma_1, 'TEE'), 'new');
SELECT erp.inspect_return(pg_temp.line(:rma_1, 'MUG'), 'new');
-- RMA 2 (W-1002): a tee worn: refurbished, 15% fee: 20.00 x 0.85 = 17.00; the
-- refurbishment is done and it is sellable again
SELECT erp.authorize_return(pg_temp.ord('W-1002'), '[{"sku": "TEE", "qty": 1, "reason": "changed_mind"}]') AS rma_2 \gset
SELECT erp.receive_return(:rma_2);
SELECT erp.inspect_return(pg_temp.line(:rma_2, 'TEE'), 'used');
SELECT erp.complete_refurbish(pg_temp.line(:rma_2, 'TEE'));
-- RMA 3 (S-2001): a mug broken in transit: refunded on receipt (12.00), disposed of
SELECT erp.authorize_return(pg_temp.ord('S-2001'), '[{"sku": "MUG", "qty": 1, "reason": "damaged_in_transit"}]') AS rma_3 \gset
SELECT erp.receive_return(:rma_3);
SELECT erp.inspect_return(pg_temp.line(:rma_3, 'MUG'), 'damaged');
-- RMA 4 (S-2001): a mug "unwanted" that comes back broken: disposed of, and its
-- refund (12.00) waits for an approver (manual policy)
SELECT erp.authorize_return(pg_temp.ord('S-2001'), '[{"sku": "MUG", "qty": 1, "reason": "changed_mind"}]') AS rma_4 \gset
SELECT erp.receive_return(:rma_4);
SELECT erp.inspect_return(pg_temp.line(:rma_4, 'MUG'), 'damaged');
-- RMA 5 (S-2001): a mug authorised, not back yet (return_pending at the store)
SELECT erp.authorize_return(pg_temp.ord('S-2001'), '[{"sku": "MUG", "qty": 1, "reason": "wrong_item"}]') AS rma_5 \gset
-- RMA 6 (W-1002): a tee received, not inspected yet (in inspection at the DC)
SELECT erp.authorize_return(pg_temp.ord('W-1002'), '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]') AS rma_6 \gset
SELECT erp.receive_return(:rma_6);
:returns

------------------------------------------------------------------------------
-- Cycle counts: at the DC 2 tees found of 3 (-1, 5.00, applied), 19 mugs of 19
-- (exact), 1 charger of 0 (+1, 9.00, applied); at the store 2 tees of 2
-- (exact), 5 mugs of 9 (-4, 12.00 > 10.00: waits for an approver)
------------------------------------------------------------------------------
SELECT erp.count('TEE', 'DC', 2) > 0 AS counted;
SELECT erp.count('MUG', 'DC', 19) > 0 AS counted;
SELECT erp.count('CHARGER', 'DC', 1) > 0 AS counted;
SELECT erp.count('TEE', 'STORE', 2) > 0 AS counted;
SELECT erp.count('MUG', 'STORE', 5) > 0 AS counted;
SELECT i.sku, n.code AS node, cc.system_qty, cc.counted_qty, cc.variance, cc.unit_cost, a.status AS adjustment, a.value
  FROM erp.cycle_count cc
  JOIN erp.item i ON i.item_id = cc.item_id
  JOIN erp.node n ON n.node_id = cc.node_id
  LEFT JOIN erp.adjustment a ON a.adjustment_id = cc.adjustment_id
 ORDER BY cc.cycle_count_id;

------------------------------------------------------------------------------
-- The end of the week: the stock, the ledger per node, the outbox
------------------------------------------------------------------------------
:picture
-- units moved per node (a move counts at its from node, or its to node when it
-- comes from outside) and event
SELECT n.code AS node, m.event, count(*) AS moves, sum(m.qty) AS units
  FROM erp.stock_move m JOIN erp.node n ON n.node_id = COALESCE(m.from_node_id, m.to_node_id)
 GROUP BY ROLLUP (n.code, m.event) ORDER BY n.code, m.event;
SELECT e.event_id, e.kind, o.external_ref AS ref, e.payload
  FROM erp.event e LEFT JOIN erp.sales_order o ON o.order_id = e.order_id ORDER BY e.event_id;

------------------------------------------------------------------------------
-- The clock.  The returns desk's log: when each return line arrived, was
-- refunded and was sellable again (line: received -> refunded, available):
--   RMA 1 tee  Mon 10:00 -> refunded 12:00 (2 h), available 13:00 (3 h)
--   RMA 1 mug  Mon 10:00 -> refunded 14:00 (4 h), available 16:00 (6 h)
--   RMA 2 tee  Tue 09:00 -> refunded 10:00 (1 h), available Wed 09:00 (24 h)
--   RMA 3 mug  Tue 12:00 -> refunded 12:00 (0 h, on receipt), disposed of
--   RMA 4 mug  Wed 08:00 -> refund awaiting approval, disposed of
--   RMA 6 tee  Thu 08:00 -> not inspected yet
------------------------------------------------------------------------------
UPDATE erp.rma_line l
   SET received_at = v.received::timestamptz, refunded_at = v.refunded::timestamptz,
       available_at = v.available::timestamptz
  FROM (VALUES (pg_temp.line(:rma_1, 'TEE'), '2026-11-16 10:00+00', '2026-11-16 12:00+00', '2026-11-16 13:00+00'),
               (pg_temp.line(:rma_1, 'MUG'), '2026-11-16 10:00+00', '2026-11-16 14:00+00', '2026-11-16 16:00+00'),
               (pg_temp.line(:rma_2, 'TEE'), '2026-11-17 09:00+00', '2026-11-17 10:00+00', '2026-11-18 09:00+00'),
               (pg_temp.line(:rma_3, 'MUG'), '2026-11-17 12:00+00', '2026-11-17 12:00+00', NULL),
               (pg_temp.line(:rma_4, 'MUG'), '2026-11-18 08:00+00', NULL, NULL),
               (pg_temp.line(:rma_6, 'TEE'), '2026-11-19 08:00+00', NULL, NULL)) v(line, received, refunded, available)
 WHERE l.rma_line_id = v.line;
SELECT l.rma_id AS rma, i.sku, l.received_at IS NOT NULL AS received,
       round(extract(epoch FROM l.refunded_at - l.received_at) / 3600, 2) AS refund_hours,
       round(extract(epoch FROM l.available_at - l.received_at) / 3600, 2) AS available_hours
  FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id ORDER BY l.rma_line_id;

-- From here to COMMIT, now() is one moment: the ages below are exact.
-- Orders were captured (hours ago): W-1001 50, W-1002 49, W-1003 80, W-1004 30,
-- W-1005 0, S-2001 26, S-2002 0, S-2003 60; shipments left: W-1001 48, W-1002 47,
-- S-2001 0; an order's events happened when the order was captured, the others now.
BEGIN;
UPDATE erp.sales_order o SET created_at = now() - make_interval(hours => v.age)
  FROM (VALUES ('W-1001', 50), ('W-1002', 49), ('W-1003', 80), ('W-1004', 30), ('W-1005', 0),
               ('S-2001', 26), ('S-2002', 0), ('S-2003', 60)) v(ref, age)
 WHERE o.external_ref = v.ref;
UPDATE erp.shipment s SET shipped_at = now() - make_interval(hours => v.age)
  FROM (VALUES ('W-1001', 48), ('W-1002', 47), ('S-2001', 0)) v(ref, age)
 WHERE s.order_id = pg_temp.ord(v.ref);
UPDATE erp.event e SET at = COALESCE((SELECT o.created_at FROM erp.sales_order o WHERE o.order_id = e.order_id), now());
SELECT o.external_ref AS ref, o.status, round(extract(epoch FROM now() - o.created_at) / 3600, 1) AS age_hours
  FROM erp.sales_order o ORDER BY o.order_id;

------------------------------------------------------------------------------
-- erp.channel_availability: per channel and active item, erp.atp(sku, NULL,
-- channel) = sum over the channel's nodes of max(available - safety stock -
-- other channels' ring-fences, 0).  CAP is retired: no rows.
--   WEB (DC, STORE); the till's ring-fence of 2 mugs is kept back at each node:
--     TEE     DC 2 + STORE 2                       = 4
--     MUG     DC 19 - 2 safety - 2 fence = 15, STORE 9 - 2 fence = 7   = 22
--     LAMP    DC 0 (2 reserved for W-1003)         = 0
--     CHARGER DC 1 (found by the count)            = 1
--   SHOP (STORE only); no other channel fences anything, its own fence is its own:
--     TEE 2, MUG 9, LAMP 0, CHARGER 0
------------------------------------------------------------------------------
SELECT channel, sku, atp FROM erp.channel_availability ORDER BY channel, sku;
-- every row is what erp.atp says for that sku and channel: 0 mismatches of 8 rows
SELECT count(*) AS rows, count(*) FILTER (WHERE ca.atp IS DISTINCT FROM erp.atp(ca.sku, NULL, ca.channel)) AS mismatches
  FROM erp.channel_availability ca;

------------------------------------------------------------------------------
-- erp.kpi_inventory_accuracy, per node:
--   DC:    3 counts, 1 exact (MUG) -> count_accuracy 1 / 3 = 33.33;
--          system 3 + 19 + 0 = 22; |variance| 1 + 0 + 1 = 2;
--          unit_accuracy = (1 - 2 / (max(3,2) + max(19,19) + max(0,1) = 23)) x 100 = 91.30;
--          variance_value = 1 x 5.00 + 1 x 9.00 = 14.00
--   STORE: 2 counts, 1 exact (TEE) -> 50.00; system 2 + 9 = 11; |variance| 4;
--          unit_accuracy = (1 - 4 / (2 + 9 = 11)) x 100 = 63.64; 4 x 3.00 = 12.00
--          (the adjustment waits for approval, the variance counts all the same)
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_inventory_accuracy ORDER BY node;

------------------------------------------------------------------------------
-- erp.kpi_fill_rate, per channel, cancelled W-1005 left out:
--   WEB:  4 orders, 6 lines; ordered 4 + 2 + 9 + 5 + 3 + 1 = 24;
--         allocated 4 + 2 + 9 + 2 + 1 + 1 = 19; shipped 4 + 2 + 9 = 15;
--         backordered 3 (lamps); short lines 1 (chargers);
--         unit fill rate = 19 / 24 = 79.17; line fill rate = 4 full lines / 6 = 66.67
--   SHOP: 3 orders, 3 lines; ordered 3 + 1 + 1 = 5; allocated 3 + 1 + 0 = 4;
--         shipped 3; unit fill rate = 4 / 5 = 80.00; line fill rate = 2 / 3 = 66.67
--   (returns do not change what was allocated or shipped)
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_fill_rate ORDER BY channel;

------------------------------------------------------------------------------
-- erp.kpi_order_aging, orders not shipped or cancelled, per status:
--   allocated:           S-2002 (0 h)              -> 1 under 24 h; avg 0.0, oldest 0.0
--   open:                S-2003 (60 h)             -> 1 in 48-72 h; avg 60.0, oldest 60.0
--   partially_allocated: W-1004 (30 h), W-1003 (80 h) -> 1 in 24-48 h, 1 over 72 h;
--                        avg (30 + 80) / 2 = 55.0, oldest 80.0
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_order_aging ORDER BY status;

------------------------------------------------------------------------------
-- erp.kpi_backorder_exposure: LAMP only: 1 order (W-1003), 3 units backordered,
-- revenue at risk 3 x 45.00 = 135.00, waiting 80.0 h; inbound 10 (incoming on
-- the purchase order), which is due 1 June 2031 09:00 UTC (shown in the test's
-- time zone, PST8PDT: 02:00 PDT)
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_backorder_exposure ORDER BY sku;

------------------------------------------------------------------------------
-- erp.kpi_return_cycle_time, lines received and sellable again, per category:
--   apparel: RMA 1 tee 3 h (restocked), RMA 2 tee 24 h (refurbished) -> 2 lines;
--            avg (3 + 24) / 2 = 13.50; median 13.50;
--            p90 = 3 + 0.9 x (24 - 3) = 21.90
--   home:    RMA 1 mugs 6 h -> 1 line; 6.00, 6.00, 6.00
--   (the disposed mugs and the tee in inspection are never available: left out)
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_return_cycle_time ORDER BY category;

------------------------------------------------------------------------------
-- erp.kpi_refund_latency, over the 6 lines received (RMA 5 is not back):
--   refunds 4 (RMA 1 tee, RMA 1 mug, RMA 2, RMA 3); awaiting approval 1 (RMA 4);
--   received, not refunded (pending) 1 (RMA 6);
--   refunded 40.00 + 24.00 + 17.00 + 12.00 = 93.00;
--   hours 2, 4, 1, 0: avg 7 / 4 = 1.75; median (1 + 2) / 2 = 1.50;
--   p90 = sorted 0, 1, 2, 4 at position 0.9 x 3 = 2.7: 2 + 0.7 x (4 - 2) = 3.40
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_refund_latency;

------------------------------------------------------------------------------
-- erp.kpi_split_shipments, orders that shipped, per channel:
--   WEB:  W-1001 (DC), W-1002 (DC + STORE) -> 2 shipped, 1 split: 50.00;
--         nodes per order (1 + 2) / 2 = 1.50
--   SHOP: S-2001 (STORE) -> 1 shipped, 0 split: 0.00; 1.00
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_split_shipments ORDER BY channel;

------------------------------------------------------------------------------
-- erp.kpi_adjustment_rate, per node, from the ledger above:
--   DC:    moved 33 received + 10 on order + 16 allocated + 12 picked + 12 packed
--          + 12 shipped + 6 authorised back + 6 received back + 5 dispositions
--          + 1 refurbished + 2 adjusted = 115; adjusted 1 tee out + 1 charger in = 2;
--          rate 2 / 115 = 1.739; nothing pending; applied 5.00 + 9.00 = 14.00
--   STORE: moved 18 received + 9 allocated + 2 released + 6 picked + 6 packed
--          + 6 shipped + 3 authorised back + 2 received back + 2 disposed = 54;
--          adjusted 0: 0.000; 1 pending approval (the mugs); applied 0.00
------------------------------------------------------------------------------
SELECT * FROM erp.kpi_adjustment_rate ORDER BY node;

------------------------------------------------------------------------------
-- erp.dashboard, one row:
--   units_on_hand   = on_hand of the picture: 2 + 2 + 20 + 9 + 3 + 3 = 39
--   units_available = 1 + 0 + 19 + 9 + 2 + 2 = 33
--   inventory_value = tees 6 x 5.00 + mugs 29 x 3.00 + lamps 2 x 18.00
--                     + chargers 2 x 9.00 = 30 + 87 + 36 + 18 = 171.00
--   units_inbound   = 10 lamps incoming + 1 mug return_pending = 11
--   orders_today    = W-1005, S-2002 (captured now) = 2
--   orders_open     = W-1003, W-1004, S-2002, S-2003 = 4
--   shipments_today = S-2001 = 1
--   unit_fill_rate_pct = (19 + 4) / (24 + 5) = 79.31
--   units_backordered  = 3
--   split_rate_pct     = 1 split of 3 shipped orders = 33.33
--   returns_open       = RMA 4 (inspected, refund waiting), 5 (authorised), 6 (received) = 3
--   refunds_awaiting_approval = 1; adjustments_awaiting_approval = 1
--   count_accuracy_pct = 2 exact of 5 counts = 40.00
--   return_cycle_hours = (3 + 6 + 24) / 3 = 11.00
--   events_24h = the refund and the adjustment approvals (now); the stockouts and
--                the backorder happened 30 h and more ago = 2
--   policy_changes_7d = the adjustment threshold set to 10.00 at the start = 1
------------------------------------------------------------------------------
SELECT * FROM erp.dashboard;

------------------------------------------------------------------------------
-- erp.policy_audit: who changed which policy, what changed, before and after
-- (when: changed_at, left out here because it is today)
------------------------------------------------------------------------------
SELECT changed_by, table_name, operation, changed_columns, old_row, new_row - 'approval_policy_id' AS new_row
  FROM erp.policy_audit;
COMMIT;

------------------------------------------------------------------------------
-- security_invoker: the views run as the querying role.  A partner who may see
-- only the store gets the store's rows and nothing of the DC.
------------------------------------------------------------------------------
CREATE ROLE regress_kpi_partner;
GRANT erp_reader TO regress_kpi_partner;
INSERT INTO erp.node_access (role_name, node_id)
SELECT 'regress_kpi_partner', node_id FROM erp.node WHERE code = 'STORE';
SET ROLE regress_kpi_partner;
-- STORE only: 2 counts, 1 exact, 50.00, ... as above
SELECT * FROM erp.kpi_inventory_accuracy ORDER BY node;
-- STORE only: 54 units moved, 1 adjustment pending
SELECT * FROM erp.kpi_adjustment_rate ORDER BY node;
RESET ROLE;
DELETE FROM erp.node_access;
DROP ROLE regress_kpi_partner;
-- granting and withdrawing the partner's node are policy changes too
SELECT changed_by, table_name, operation, changed_columns
  FROM erp.policy_audit WHERE table_name = 'node_access' ORDER BY policy_change_id;

------------------------------------------------------------------------------
-- Closing: the books balance
------------------------------------------------------------------------------
SELECT * FROM erp.verify();
