-- demo/events.sql: the day's incidents, run at the hours demo.sh names.
-- Variable: step (supplier_delay, replenish, receive, counts).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET application_name = 'demo-day';
SELECT :'step' = 'supplier_delay' AS is_delay, :'step' = 'replenish' AS is_replenish,
       :'step' = 'receive' AS is_receive, :'step' = 'counts' AS is_counts \gset
\if :is_delay
-- Volta's truck will be a week late: the orders now at risk are named in the event
SELECT erp.delay_po(po.purchase_order_id, po.expected_at + interval '7 days')
  FROM erp.purchase_order po JOIN erp.supplier s USING (supplier_id)
 WHERE s.code = 'VOLTA' AND po.status = 'open' ORDER BY po.purchase_order_id LIMIT 3;
\endif
\if :is_replenish
SELECT erp.create_replenishment_pos() AS purchase_orders_created;
\endif
\if :is_receive
-- Textil's and Home & Co's deliveries arrive early; waiting orders are served
SELECT count(erp.receive_po(po.purchase_order_id)) AS purchase_orders_received
  FROM erp.purchase_order po JOIN erp.supplier s USING (supplier_id)
 WHERE s.code IN ('TEXTIL', 'HOMECO') AND po.status = 'open';
SELECT erp.allocate_pending() AS waiting_orders_served;
\endif
\if :is_counts
-- cycle counts of 150 bins: most are right, a few are off by a unit or two, and one
-- high-value device is 6 short: that adjustment waits for an approver
SELECT count(erp.count(x.sku, x.node, greatest(x.available + x.delta, 0))) AS bins_counted
  FROM (SELECT a.sku, a.node, a.available,
               CASE WHEN random() < 0.8 THEN 0 WHEN random() < 0.5 THEN -1 ELSE 1 END AS delta
          FROM erp.availability a JOIN erp.item i ON i.item_id = a.item_id
         WHERE NOT i.lot_tracked AND a.available > 2 AND NOT i.high_value
         ORDER BY hashtext(a.sku || a.node) LIMIT 150) x;
SELECT erp.count(a.sku, a.node, a.available - 6) AS large_variance_count
  FROM erp.availability a JOIN erp.item i ON i.item_id = a.item_id
 WHERE i.high_value AND a.available > 6 ORDER BY a.sku LIMIT 1;
\endif
