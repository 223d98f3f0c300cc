-- 24_dashboard: erp.dashboard, the operations lead's one row.  Created after the
-- valuation (21_valuation.sql): its inventory_value is the value on hand from the
-- cost entries (erp.inventory_value), no longer the units at today's unit_cost.

CREATE VIEW erp.dashboard WITH (security_invoker = true) AS
SELECT
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance
      WHERE state NOT IN ('incoming', 'in_transit', 'return_pending'))::bigint AS units_on_hand,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available')::bigint AS units_available,
    (SELECT COALESCE(sum(v.value), 0) FROM erp.inventory_value v)::numeric(14,2) AS inventory_value,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state IN ('incoming', 'in_transit', 'return_pending'))::bigint
        AS units_inbound,
    (SELECT count(*) FROM erp.sales_order WHERE created_at >= date_trunc('day', pg_catalog.now()))::bigint AS orders_today,
    (SELECT count(*) FROM erp.sales_order WHERE status NOT IN ('shipped', 'cancelled'))::bigint AS orders_open,
    (SELECT count(*) FROM erp.shipment WHERE shipped_at >= date_trunc('day', pg_catalog.now()))::bigint AS shipments_today,
    (SELECT round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2)
       FROM erp.order_line ol JOIN erp.sales_order o ON o.order_id = ol.order_id
      WHERE o.status <> 'cancelled') AS unit_fill_rate_pct,
    (SELECT COALESCE(sum(qty_backordered), 0) FROM erp.order_line)::bigint AS units_backordered,
    (SELECT round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / NULLIF(count(*), 0), 2)
       FROM (SELECT count(DISTINCT node_id) AS nodes FROM erp.shipment_line GROUP BY order_id) p) AS split_rate_pct,
    (SELECT count(*) FROM erp.rma WHERE status NOT IN ('closed', 'expired'))::bigint AS returns_open,
    (SELECT count(*) FROM erp.rma_line WHERE refund_status = 'awaiting_approval')::bigint AS refunds_awaiting_approval,
    (SELECT count(*) FROM erp.adjustment WHERE status = 'pending_approval')::bigint AS adjustments_awaiting_approval,
    (SELECT round(100.0 * count(*) FILTER (WHERE variance = 0) / NULLIF(count(*), 0), 2) FROM erp.cycle_count)
        AS count_accuracy_pct,
    (SELECT round((extract(epoch FROM avg(available_at - received_at)) / 3600)::numeric, 2)
       FROM erp.rma_line WHERE available_at IS NOT NULL AND received_at IS NOT NULL) AS return_cycle_hours,
    (SELECT count(*) FROM erp.event WHERE at >= pg_catalog.now() - interval '24 hours')::bigint AS events_24h,
    (SELECT count(*) FROM erp.policy_change WHERE changed_at >= pg_catalog.now() - interval '7 days')::bigint
        AS policy_changes_7d;
COMMENT ON VIEW erp.dashboard IS
    'One row for the operations lead: stock on hand, available, inbound; the value on hand from the cost entries (erp.inventory_value: in transit counted at its destination); orders today and open; shipments today; unit fill rate; backordered units; split shipment rate; open returns; refunds and adjustments waiting for approval; count accuracy; return cycle time; events of the last 24 hours; policy changes of the last 7 days (erp.policy_audit)';
