-- demo/valuation.sql: the finance side of the demo's day (issue 14, doc/finance.md).
--   -v step=landed  (after the 17:00 receipts) a container's bills: freight and duty
--                   spread over Textil's purchase orders received today (units already
--                   sold revalue through COGS), and freight on Volta's open purchase
--                   orders, spread when they arrive; the refurbishment bench's cost on
--                   the returned units in refurbishment;
--   -v step=report  (after the day) what finance reads: the value on hand from the cost
--                   entries, margin by channel and category, return cost by reason,
--                   the slowest turns and the markdown candidates, and the cost
--                   reconciliation (erp.verify_costs(), empty).
-- scripts/demo.sh runs both steps.
\set ON_ERROR_STOP on
SELECT :'step' = 'landed' AS is_landed, :'step' = 'report' AS is_report \gset

\if :is_landed
-- one container brought Textil's deliveries: 1,200.00 freight by volume where every
-- item has one, else by quantity, and 8% duty by value
SELECT count(erp.add_landed_cost(b.purchase_order_id, 'freight', 1200.00, b.basis)) AS freight_bills
  FROM (SELECT po.purchase_order_id,
               CASE WHEN bool_and(i.volume IS NOT NULL) THEN 'volume' ELSE 'qty' END AS basis
          FROM erp.purchase_order po JOIN erp.supplier s USING (supplier_id)
          JOIN erp.purchase_order_line l USING (purchase_order_id) JOIN erp.item i ON i.item_id = l.item_id
         WHERE s.code = 'TEXTIL' AND po.status = 'received' AND po.received_at >= date_trunc('day', now())
         GROUP BY po.purchase_order_id) b;
SELECT count(erp.add_landed_cost(b.purchase_order_id, 'duty', b.duty, 'value')) AS duty_bills
  FROM (SELECT po.purchase_order_id, round(0.08 * sum(l.qty * l.unit_cost), 2) AS duty
          FROM erp.purchase_order po JOIN erp.supplier s USING (supplier_id)
          JOIN erp.purchase_order_line l USING (purchase_order_id)
         WHERE s.code = 'TEXTIL' AND po.status = 'received' AND po.received_at >= date_trunc('day', now())
         GROUP BY po.purchase_order_id
        HAVING sum(l.qty * l.unit_cost) > 0) b;
-- the refurbishment bench bills its parts and labour: 6.00 a unit on the returned units
-- in refurbishment now (they leave with it when they sell again)
SELECT count(erp.add_refurbishment_cost(r.sku, r.node, 6.00 * r.units, 'refurbishment bench')) AS refurbishment_bills
  FROM (SELECT i.sku, n.code AS node, sum(b.qty) AS units
          FROM erp.stock_balance b JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id)
         WHERE b.state = 'refurbish' GROUP BY i.sku, n.code HAVING sum(b.qty) > 0) r;
-- Volta's late delivery: its freight is known before the goods arrive
SELECT count(erp.add_landed_cost(po.purchase_order_id, 'freight', 350.00, 'qty')) AS freight_bills_before_receipt
  FROM erp.purchase_order po JOIN erp.supplier s USING (supplier_id)
 WHERE s.code = 'VOLTA' AND po.status = 'open';
\endif

\if :is_report
\echo 'Inventory value (cost entries), by node'
SELECT node, sum(qty) AS units, sum(value) AS value FROM erp.inventory_value GROUP BY node ORDER BY node;
\echo 'Margin by channel and category'
SELECT * FROM erp.kpi_margin ORDER BY channel, category;
\echo 'Return cost by reason and category'
SELECT * FROM erp.kpi_return_cost ORDER BY total_cost DESC LIMIT 15;
\echo 'Aging (all skus)'
SELECT age_bucket, sum(qty) AS units, sum(value) AS value FROM erp.inventory_aging GROUP BY age_bucket ORDER BY min(age_bucket);
\echo 'Slowest turns'
SELECT * FROM erp.kpi_inventory_turns WHERE turns IS NOT NULL ORDER BY turns LIMIT 10;
\echo 'Markdown candidates'
SELECT * FROM erp.markdown_candidates ORDER BY value DESC LIMIT 10;
\echo 'Cost reconciliation (no rows = the cost entries add up)'
SELECT * FROM erp.verify_costs();
\endif
