-- demo/hour.sql: one trading hour.  Variables: hour, orders, capacity, promo (0/1).
-- Every step goes through the extension's functions, as the shop's systems would.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET application_name = 'demo-day';

-- 1. orders arrive from the four channels (Amazon triples during its promotion)
--    and are allocated at once; 1-3 lines each, best sellers first
CREATE TEMP TABLE hour_orders AS
SELECT erp.capture_order(ch.code, format('%s-%s-%s', ch.code, :hour, g), l.lines,
                         jsonb_build_object('lat', 47.5 + random() * 7, 'lon', 6.5 + random() * 8),
                         CASE WHEN random() < 0.03 THEN 5 ELSE 0 END) AS order_id
  FROM generate_series(1, :orders) g
 CROSS JOIN LATERAL (SELECT CASE
            WHEN r < CASE WHEN :promo = 1 THEN 0.55 ELSE 0.25 END THEN 'AMAZON'
            WHEN r < CASE WHEN :promo = 1 THEN 0.75 ELSE 0.55 END THEN 'ZALANDO'
            WHEN r < 0.985 THEN 'WEB' ELSE 'B2B' END AS code
          FROM (SELECT random() + g * 0 AS r) x) ch
 CROSS JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object('sku', d.sku,
                         'qty', CASE WHEN ch.code = 'B2B' THEN 6 WHEN random() < 0.15 THEN 2 ELSE 1 END)) AS lines
          FROM generate_series(1, 1 + (random() * random() * 3)::int + g * 0) k
         CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 2.2) * :skus)::int + k * 0 AS rank) pick
          JOIN demo_sku d ON d.rank = pick.rank
       ) l;
SELECT count(*) AS reservations FROM hour_orders o, LATERAL erp.allocate(o.order_id) a \gset

-- 2. the warehouses work through allocated orders, oldest first, up to capacity:
--    a few picks come up short, the rest is picked, packed and shipped
CREATE TEMP TABLE hour_work AS
SELECT order_id FROM erp.sales_order WHERE status IN ('allocated', 'partially_allocated')
 ORDER BY priority DESC, created_at, order_id LIMIT :capacity;
SELECT count(erp.short_pick(r.order_id, i.sku, 1))
  FROM (SELECT DISTINCT ON (r.order_id) r.* FROM hour_work w JOIN erp.reservation r USING (order_id)
         WHERE r.qty > r.qty_picked AND random() < 0.004 ORDER BY r.order_id, r.reservation_id) r
  JOIN erp.item i ON i.item_id = r.item_id;
SELECT count(erp.pick(r.order_id, i.sku, r.qty - r.qty_picked))
  FROM hour_work w JOIN erp.reservation r USING (order_id) JOIN erp.item i ON i.item_id = r.item_id
 WHERE r.qty > r.qty_picked
   AND (SELECT status FROM erp.sales_order o WHERE o.order_id = w.order_id) IN ('allocated', 'partially_allocated', 'picking');
SELECT count(erp.pack(w.order_id)) FROM hour_work w
 WHERE (SELECT status FROM erp.sales_order o WHERE o.order_id = w.order_id) = 'picking'
   AND NOT EXISTS (SELECT 1 FROM erp.reservation r WHERE r.order_id = w.order_id AND r.qty > r.qty_picked);
SELECT count(erp.ship(w.order_id, CASE WHEN random() < 0.6 THEN 'DHL' ELSE 'DPD' END, 'TRK' || w.order_id))
  AS shipped FROM hour_work w
 WHERE (SELECT status FROM erp.sales_order o WHERE o.order_id = w.order_id) = 'packed' \gset

-- customer service cancels orders nothing could be allocated to for two hours
SELECT count(erp.cancel_order(o.order_id)) FROM erp.sales_order o
 WHERE o.status = 'open' AND o.created_at < now() - interval '2 hours';

-- 3. returns: customers of earlier hours send back apparel at ~25 %, the rest at ~6 %
CREATE TEMP TABLE hour_rma AS
SELECT erp.authorize_return(s.order_id, s.lines) AS rma_id
  FROM (SELECT sl.order_id,
               jsonb_agg(jsonb_build_object('sku', i.sku, 'qty', 1,
                   'reason', (ARRAY['too_small', 'too_large', 'changed_mind', 'not_as_described', 'defective',
                                    'damaged_in_transit'])[1 + floor(random() * 6)::int])) AS lines
          FROM erp.shipment_line sl JOIN erp.item i ON i.item_id = sl.item_id
          JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id
         WHERE sl.order_id < (SELECT min(order_id) FROM hour_orders)   -- shipped in an earlier hour
           AND sh.shipped_at >= (SELECT t0 FROM demo_clock)               -- of the day (not demo/history.sql's)
           AND sl.order_id % 14 = :hour % 14                              -- each order is looked at once
           AND NOT EXISTS (SELECT 1 FROM erp.rma r WHERE r.order_id = sl.order_id)
           AND random() < CASE WHEN i.category = 'apparel' THEN 0.25 ELSE 0.06 END
         GROUP BY sl.order_id) s;
SELECT count(*) AS returns FROM hour_rma \gset
-- parcels of earlier authorisations arrive; most are inspected the same hour
SELECT count(erp.receive_return(r.rma_id)) FROM erp.rma r
 WHERE r.status = 'authorized' AND r.rma_id NOT IN (SELECT rma_id FROM hour_rma) AND random() < 0.7;
SELECT count(erp.inspect_return(l.rma_line_id,
       (ARRAY['new', 'new', 'new', 'opened', 'opened', 'used', 'damaged', 'defective', 'missing_parts'])
           [1 + floor(random() * 9)::int]::erp.item_condition))
  FROM erp.rma_line l WHERE l.qty_received > l.qty_inspected AND random() < 0.85
   AND l.received_at >= (SELECT t0 FROM demo_clock);   -- the day's; the history's waiting ones stay waiting
SELECT count(erp.complete_refurbish(l.rma_line_id)) FROM erp.rma_line l
 WHERE l.disposition = 'refurbish' AND l.available_at IS NULL AND random() < 0.5;
SELECT count(erp.return_to_vendor(l.rma_line_id)) FROM erp.rma_line l
 WHERE l.disposition = 'vendor_return' AND l.vendor_returned_at IS NULL AND random() < 0.5;
-- the approver clears most of the refunds waiting for approval
SET ROLE demo_approver;
SELECT count(erp.approve_refund(l.rma_line_id)) FROM erp.rma_line l
 WHERE l.refund_status = 'awaiting_approval' AND random() < 0.6;
RESET ROLE;

-- 4. what the hour looked like
INSERT INTO demo_hour
SELECT :hour, (SELECT count(*) FROM hour_orders), :reservations, :shipped, :returns,
       d.orders_open, d.units_backordered, d.unit_fill_rate_pct, d.split_rate_pct, d.units_available,
       (SELECT count(*) FROM erp.event)
  FROM erp.dashboard d;
DROP TABLE hour_orders, hour_work, hour_rma;
