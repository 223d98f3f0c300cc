-- demo/orchestration.sql: order orchestration on the demo's shop (issue 17,
-- doc/orchestration.md), after the trading day (demo/setup.sql's channels WEB and B2B,
-- nodes DC-BER and 3PL-LEJ).  Not wired into scripts/demo.sh yet (the lead does it):
--   psql -v ON_ERROR_STOP=1 -f demo/orchestration.sql
-- 1. service levels: the nodes' cut-offs, a promise per service;
-- 2. a wholesale order by EDI (X12 850 in, 855 out) for a B2B customer with a price list;
-- 3. a storefront order that arrives on a fraud hold, skipped by allocation, released;
-- 4. a parcel the carrier returns to sender: back through inspection;
-- 5. what the report shows: held orders, late shipments, the worklist's orchestration rows.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- 1. Service levels ---------------------------------------------------------------------------
INSERT INTO erp.node_cutoff (node_id, cutoff, time_zone)
SELECT node_id, CASE code WHEN 'DC-BER' THEN '15:00'::time ELSE '17:00'::time END, 'Europe/Berlin'
  FROM erp.node WHERE code IN ('DC-BER', '3PL-LEJ')
ON CONFLICT (node_id) DO NOTHING;
-- the best seller at DC-BER today
SELECT i.sku AS demo_sku FROM erp.availability a JOIN erp.item i USING (item_id)
 WHERE a.node = 'DC-BER' AND a.atp > 20 AND NOT i.lot_tracked AND i.sku NOT IN (SELECT k.sku FROM erp.item k JOIN erp.item_component c ON c.kit_item_id = k.item_id)
 ORDER BY a.atp DESC, i.sku LIMIT 1 \gset
\echo 'Promise dates for 2 units of' :'demo_sku' 'on WEB, ordered Friday 2026-12-04 at 13:00 Berlin'
SELECT s AS service, erp.promise(:'demo_sku', 2, 'WEB', NULL, s, '2026-12-04 12:00+00') AS delivered_by
  FROM unnest(ARRAY['express', 'standard', 'economy']) s;

-- 2. A wholesale order by EDI ------------------------------------------------------------------
INSERT INTO erp.price_list (code, name) VALUES ('DEMO-TRADE', 'Trade prices') ON CONFLICT (code) DO NOTHING;
INSERT INTO erp.price_break (price_list_id, item_id, min_qty, unit_price)
SELECT p.price_list_id, i.item_id, b.min_qty, round(i.unit_price * b.factor, 2)
  FROM erp.price_list p, erp.item i, (VALUES (1, 0.70), (24, 0.60)) b(min_qty, factor)
 WHERE p.code = 'DEMO-TRADE' AND i.sku = :'demo_sku'
ON CONFLICT (price_list_id, item_id, min_qty) DO NOTHING;
INSERT INTO erp.customer (code, name, payment_terms, credit_limit, ship_complete, price_list_id)
SELECT 'CORNER', 'Corner Shop Hamburg', 'net30', 5000.00, true, price_list_id FROM erp.price_list WHERE code = 'DEMO-TRADE'
ON CONFLICT (code) DO NOTHING;
\echo 'A wholesale 850 of 24 units by EDI, allocated, acknowledged by an 855'
SELECT format(E'ISA*00*%s*00*%s*ZZ*%s*ZZ*%s*261204*0900*U*00401*000000901*0*P*:~\n'
              'GS*PO*CORNERSHOP*INVENTORYERP*20261204*0900*901*X*004010~\n'
              'ST*850*0001~\nBEG*00*SA*CS-9001**20261204~\nN1*ST*Corner Shop*92*STORE-HH~\n'
              'N3*1 Main Street~\nN4*Hamburg**20095*DE~\nPO1*1*24*EA***SK*%s~\nCTT*1~\nSE*8*0001~\n'
              'GE*1*901~\nIEA*1*000000901~\n',
              repeat(' ', 10), repeat(' ', 10), rpad('CORNERSHOP', 15), rpad('INVENTORYERP', 15), :'demo_sku') AS po850 \gset
SELECT po_number, order_id AS edi_order, created FROM erp.edi_850_in('B2B', :'po850') \gset
SELECT :'po_number' AS po_number, :edi_order AS order_id;
SELECT line_no, sku, node, qty, order_status FROM erp.allocate(:edi_order);
SELECT erp.edi_855_out(:edi_order) AS x12_855;
\echo 'The same order placed by the customer itself: its price break (24 units: 60%) and ship-complete'
SELECT erp.capture_order('B2B', 'CS-9002', jsonb_build_array(jsonb_build_object('sku', :'demo_sku', 'qty', 24)),
                         '{"customer": "CORNER", "service": "standard"}') AS b2b_order \gset
SELECT o.ship_complete, c.code AS customer, l.qty, l.unit_price
  FROM erp.sales_order o JOIN erp.customer c USING (customer_id) JOIN erp.order_line l USING (order_id)
 WHERE o.order_id = :b2b_order;
SELECT line_no, sku, node, qty, order_status FROM erp.allocate(:b2b_order);

-- 3. A fraud hold, released ------------------------------------------------------------------
SELECT erp.capture_order('WEB', 'WEB-FRAUD-1', jsonb_build_array(jsonb_build_object('sku', :'demo_sku', 'qty', 1)),
                         '{"hold": "fraud", "lat": 52.52, "lon": 13.40}') AS fraud_order \gset
SELECT erp.allocate_pending() AS served_while_held;
SELECT o.status, (SELECT count(*) FROM erp.reservation r WHERE r.order_id = o.order_id) AS reservations,
       h.reason, h.note
  FROM erp.sales_order o JOIN erp.order_hold h USING (order_id) WHERE o.order_id = :fraud_order;
\echo 'The fraud review clears it'
SELECT erp.release_order(:fraud_order) AS released;
SELECT erp.allocate_pending() AS served_after_release;
SELECT status FROM erp.sales_order WHERE order_id = :fraud_order;

-- 4. A parcel returned to sender ---------------------------------------------------------------
SELECT s.shipment_id AS rts_shipment FROM erp.shipment s JOIN erp.sales_order o USING (order_id)
  JOIN erp.channel c USING (channel_id)
 WHERE c.code = 'WEB' AND NOT EXISTS (SELECT 1 FROM erp.rma r WHERE r.order_id = s.order_id)
   AND NOT EXISTS (SELECT 1 FROM erp.shipment_line sl JOIN erp.item_component k ON k.kit_item_id = sl.item_id
                    WHERE sl.shipment_id = s.shipment_id)
 ORDER BY s.shipment_id LIMIT 1 \gset
SELECT erp.carrier_event(:rts_shipment, 'picked_up', now() - interval '2 hours') IS NOT NULL AS picked_up,
       erp.carrier_event(:rts_shipment, 'failed', now() - interval '1 hour', '{"reason": "address not found"}') IS NOT NULL AS failed;
SELECT kind, ref, node, value FROM erp.worklist WHERE kind = 'carrier_exception';
SELECT erp.carrier_event(:rts_shipment, 'returned_to_sender', now()) AS rts_scan;
SELECT t.status, r.status AS rma_status, sum(l.qty_received) AS units_back, min(l.reason) AS reason
  FROM erp.shipment_tracking t JOIN erp.rma r USING (rma_id) JOIN erp.rma_line l ON l.rma_id = r.rma_id
 WHERE t.shipment_id = :rts_shipment GROUP BY t.status, r.status;

-- 4b. Express orders against their ship-by time -----------------------------------------------
-- two express storefront orders of the best seller, picked, packed and shipped at DC-BER; the
-- second one waited in the warehouse past its ship-by (the simulated clock: its ship-by is
-- set back as if it had been captured yesterday), so the late-shipment KPI counts it
SELECT erp.capture_order('WEB', 'DEMO-EXPRESS-1', format('[{"sku": "%s", "qty": 1}]', :'demo_sku')::jsonb,
                         '{"service": "express"}') AS express_1 \gset
SELECT erp.capture_order('WEB', 'DEMO-EXPRESS-2', format('[{"sku": "%s", "qty": 1}]', :'demo_sku')::jsonb,
                         '{"service": "express"}') AS express_2 \gset
SELECT count(*) AS reserved FROM erp.allocate(:express_1);
SELECT count(*) AS reserved FROM erp.allocate(:express_2);
UPDATE erp.order_service SET ship_by = now() - interval '20 hours' WHERE order_id = :express_2;
SELECT erp.pick(:express_1, :'demo_sku', 1);
SELECT erp.pack(:express_1);
SELECT erp.ship(:express_1, 'DHL Express', 'EXP-1') > 0 AS shipped;
SELECT erp.pick(:express_2, :'demo_sku', 1);
SELECT erp.pack(:express_2);
SELECT erp.ship(:express_2, 'DHL Express', 'EXP-2') > 0 AS shipped;
-- and a storefront order that waits for its payment: still on hold at the end of the day
SELECT erp.capture_order('WEB', 'DEMO-PAYMENT-1', format('[{"sku": "%s", "qty": 1}]', :'demo_sku')::jsonb,
                         '{"hold": "payment"}') AS payment_order \gset

-- 5. What the report shows ---------------------------------------------------------------------
\echo 'Held orders'
SELECT h.order_id, o.external_ref, h.reason, h.held_at::timestamp(0) AS held_at, h.note
  FROM erp.order_hold h JOIN erp.sales_order o USING (order_id) WHERE h.released_at IS NULL ORDER BY h.order_id;
\echo 'Late shipments'
SELECT * FROM erp.kpi_late_shipments ORDER BY channel, service;
\echo 'Customers'
SELECT * FROM erp.kpi_customer_margin ORDER BY customer;
\echo 'Order aging with holds'
SELECT status, orders, on_hold, oldest_hold_hours FROM erp.kpi_order_aging ORDER BY status;
SELECT count(*) AS verify_problems FROM erp.verify();
