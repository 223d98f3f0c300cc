-- 12_intelligence: what operations leads, analysts and channel feeds read.
-- Every view runs as the querying role (partners see their nodes only) and has
-- plain column types; doc/kpis.md gives each formula with a worked example.

CREATE VIEW erp.channel_availability WITH (security_invoker = true) AS
SELECT c.code AS channel, i.sku, erp.atp(i.sku, NULL, c.code) AS atp, c.channel_id, i.item_id
  FROM erp.channel c
 CROSS JOIN erp.item i
 WHERE i.active;
COMMENT ON VIEW erp.channel_availability IS
    'What to publish to each channel''s feed: erp.atp(sku, NULL, channel) for every active item, the sum over the channel''s nodes of available in lots with enough shelf life - safety stock - other channels'' ring-fences (a kit: whole kits at one node)';

CREATE VIEW erp.kpi_inventory_accuracy WITH (security_invoker = true) AS
SELECT n.code AS node,
       count(*)::bigint AS counts,
       count(*) FILTER (WHERE cc.variance = 0)::bigint AS exact_counts,
       round(100.0 * count(*) FILTER (WHERE cc.variance = 0) / count(*), 2) AS count_accuracy_pct,
       sum(cc.system_qty)::bigint AS system_units,
       sum(abs(cc.variance))::bigint AS variance_units,
       round(100.0 * (1 - sum(abs(cc.variance))::numeric / NULLIF(sum(greatest(cc.system_qty, cc.counted_qty)), 0)), 2)
           AS unit_accuracy_pct,
       sum(abs(cc.variance) * cc.unit_cost)::numeric(14,2) AS variance_value
  FROM erp.cycle_count cc JOIN erp.node n ON n.node_id = cc.node_id
 GROUP BY n.code;
COMMENT ON VIEW erp.kpi_inventory_accuracy IS
    'Per node, from cycle counts: count_accuracy_pct = counts with no variance / counts x 100; unit_accuracy_pct = (1 - sum |variance| / sum max(system, counted)) x 100; variance_value = sum |variance| x unit_cost';

CREATE VIEW erp.kpi_fill_rate WITH (security_invoker = true) AS
SELECT c.code AS channel,
       count(DISTINCT o.order_id)::bigint AS orders,
       count(*)::bigint AS lines,
       sum(ol.qty)::bigint AS units_ordered,
       sum(ol.qty_allocated)::bigint AS units_allocated,
       sum(ol.qty_shipped)::bigint AS units_shipped,
       sum(ol.qty_backordered)::bigint AS units_backordered,
       count(*) FILTER (WHERE ol.status = 'short')::bigint AS short_lines,
       round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2) AS unit_fill_rate_pct,
       round(100.0 * count(*) FILTER (WHERE ol.qty_allocated = ol.qty) / count(*), 2) AS line_fill_rate_pct
  FROM erp.sales_order o
  JOIN erp.order_line ol ON ol.order_id = o.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
 WHERE o.status <> 'cancelled'
 GROUP BY c.code;
COMMENT ON VIEW erp.kpi_fill_rate IS
    'Per channel, orders not cancelled: unit_fill_rate_pct = units allocated (from stock, shipped or not) / units ordered x 100; line_fill_rate_pct = lines allocated in full / lines x 100';

CREATE VIEW erp.kpi_order_aging WITH (security_invoker = true) AS
SELECT o.status::text AS status,
       count(*)::bigint AS orders,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at < interval '24 hours')::bigint AS under_24h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '24 hours'
                          AND pg_catalog.now() - o.created_at < interval '48 hours')::bigint AS from_24h_to_48h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '48 hours'
                          AND pg_catalog.now() - o.created_at < interval '72 hours')::bigint AS from_48h_to_72h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '72 hours')::bigint AS over_72h,
       round((extract(epoch FROM avg(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS avg_age_hours,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours,
       count(h.held_at)::bigint AS on_hold,
       round((extract(epoch FROM max(pg_catalog.now() - h.held_at)) / 3600)::numeric, 1) AS oldest_hold_hours
  FROM erp.sales_order o
  -- an order on hold: since its oldest open hold (erp.order_hold, doc/orchestration.md)
  LEFT JOIN LATERAL (SELECT min(oh.held_at) AS held_at FROM erp.order_hold oh
                      WHERE oh.order_id = o.order_id AND oh.released_at IS NULL) h ON true
 WHERE o.status NOT IN ('shipped', 'cancelled')
 GROUP BY o.status;
COMMENT ON VIEW erp.kpi_order_aging IS
    'Orders not yet shipped or cancelled, per status: how many, by age since capture (< 24 h, 24-48 h, 48-72 h, > 72 h), average and oldest age in hours; how many are on hold and the oldest hold''s age in hours';

CREATE VIEW erp.kpi_backorder_exposure WITH (security_invoker = true) AS
SELECT i.sku,
       count(DISTINCT ol.order_id)::bigint AS orders,
       sum(ol.qty_backordered)::bigint AS units_backordered,
       sum(ol.qty_backordered * ol.unit_price)::numeric(14,2) AS revenue_at_risk,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours,
       COALESCE((SELECT sum(b.qty) FROM erp.stock_balance b
                  WHERE b.item_id = i.item_id AND b.state IN ('incoming', 'in_transit')), 0)::bigint AS inbound,
       (SELECT min(po.expected_at) FROM erp.purchase_order po
          JOIN erp.purchase_order_line pl ON pl.purchase_order_id = po.purchase_order_id
         WHERE pl.item_id = i.item_id AND pl.qty > pl.qty_received
           AND po.status IN ('open', 'partially_received')) AS next_expected_at
  FROM erp.order_line ol
  JOIN erp.sales_order o ON o.order_id = ol.order_id
  JOIN erp.item i ON i.item_id = ol.item_id
 WHERE ol.qty_backordered > 0   -- also while the allocated part of the line is being picked
 GROUP BY i.sku, i.item_id;
COMMENT ON VIEW erp.kpi_backorder_exposure IS
    'Per item with backorders: orders and units waiting, revenue_at_risk = sum backordered x unit price, oldest wait in hours, units inbound (incoming + in transit) and the next purchase order due';

CREATE VIEW erp.kpi_return_cycle_time WITH (security_invoker = true) AS
SELECT COALESCE(i.category, '(none)') AS category,
       count(*)::bigint AS lines_available_again,
       round((extract(epoch FROM avg(l.available_at - l.received_at)) / 3600)::numeric, 2) AS avg_hours,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY l.available_at - l.received_at)) / 3600)::numeric, 2) AS median_hours,
       round((extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY l.available_at - l.received_at)) / 3600)::numeric, 2) AS p90_hours
  FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
 WHERE l.received_at IS NOT NULL AND l.available_at IS NOT NULL
 GROUP BY 1;
COMMENT ON VIEW erp.kpi_return_cycle_time IS
    'Per item category: time from a return''s receipt to its units being sellable again (restocked, or refurbished), in hours: average, median, 90th percentile';

CREATE VIEW erp.kpi_refund_latency WITH (security_invoker = true) AS
SELECT count(*) FILTER (WHERE l.refunded_at IS NOT NULL)::bigint AS refunds,
       count(*) FILTER (WHERE l.refund_status = 'awaiting_approval')::bigint AS awaiting_approval,
       count(*) FILTER (WHERE l.received_at IS NOT NULL AND l.refund_status = 'pending')::bigint AS received_not_refunded,
       sum(l.refund_amount) FILTER (WHERE l.refunded_at IS NOT NULL)::numeric(14,2) AS refunded_amount,
       round((extract(epoch FROM avg(l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS avg_hours,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS median_hours,
       round((extract(epoch FROM percentile_cont(0.9) WITHIN GROUP (ORDER BY l.refunded_at - l.received_at)) / 3600)::numeric, 2) AS p90_hours
  FROM erp.rma_line l
 WHERE l.received_at IS NOT NULL;
COMMENT ON VIEW erp.kpi_refund_latency IS
    'Returns received: how many were refunded and how long from receipt to refund in hours (average, median, 90th percentile); refunds waiting for an approver; received but not refunded yet';

CREATE VIEW erp.kpi_split_shipments WITH (security_invoker = true) AS
WITH per_order AS (
    SELECT sl.order_id, count(DISTINCT sl.node_id) AS nodes
      FROM erp.shipment_line sl GROUP BY sl.order_id
)
SELECT c.code AS channel,
       count(*)::bigint AS orders_shipped,
       count(*) FILTER (WHERE p.nodes > 1)::bigint AS split_orders,
       round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / count(*), 2) AS split_rate_pct,
       round(avg(p.nodes), 2) AS avg_nodes_per_order
  FROM per_order p
  JOIN erp.sales_order o ON o.order_id = p.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
 GROUP BY c.code;
COMMENT ON VIEW erp.kpi_split_shipments IS
    'Per channel, orders that shipped: split_rate_pct = orders shipped from more than one node / orders shipped x 100';

CREATE VIEW erp.kpi_adjustment_rate WITH (security_invoker = true) AS
SELECT n.code AS node,
       sum(m.qty)::bigint AS units_moved,
       COALESCE(sum(m.qty) FILTER (WHERE m.event = 'adjust'), 0)::bigint AS units_adjusted,
       round(100.0 * COALESCE(sum(m.qty) FILTER (WHERE m.event = 'adjust'), 0) / NULLIF(sum(m.qty), 0), 3) AS adjustment_rate_pct,
       (SELECT count(*) FROM erp.adjustment a WHERE a.node_id = n.node_id AND a.status = 'pending_approval')::bigint
           AS pending_approval,
       (SELECT COALESCE(sum(a.value), 0) FROM erp.adjustment a WHERE a.node_id = n.node_id AND a.status = 'applied')::numeric(14,2)
           AS applied_value
  FROM erp.stock_move m
  JOIN erp.node n ON n.node_id = COALESCE(m.from_node_id, m.to_node_id)
 -- a partner sees moves that reach its node from elsewhere, but only its own node's row
 WHERE (SELECT erp.visible_nodes()) IS NULL OR n.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
 GROUP BY n.code, n.node_id;
COMMENT ON VIEW erp.kpi_adjustment_rate IS
    'Per node: adjustment_rate_pct = units moved by adjust events (counts, short picks, write-offs) / all units moved x 100; adjustments waiting for approval; value of the applied ones';

-- erp.dashboard is created in sql/install/24_dashboard.sql, after the costs it reads.

CREATE VIEW erp.policy_audit WITH (security_invoker = true) AS
SELECT pc.policy_change_id, pc.changed_at, pc.changed_by, pc.table_name, pc.operation,
       ARRAY(SELECT k.key
               FROM jsonb_object_keys(COALESCE(pc.new_row, pc.old_row, '{}'::jsonb)) AS k(key)
              WHERE (pc.old_row -> k.key) IS DISTINCT FROM (pc.new_row -> k.key)
              ORDER BY k.key) AS changed_columns,
       pc.old_row, pc.new_row
  FROM erp.policy_change pc
 ORDER BY pc.changed_at DESC, pc.policy_change_id DESC;
COMMENT ON VIEW erp.policy_audit IS
    'Policy changes, newest first: who changed which policy table (approval thresholds, disposition rules, state transitions, partner access, kit components, channel nodes and reserves, an item''s cost, price and flags), when, the columns that changed, and the rows before and after';

-- Logical replication -------------------------------------------------------

-- Announce on logical replication subscribers too, so integrations can LISTEN on a replica.
ALTER TABLE erp.event ENABLE ALWAYS TRIGGER event_notify;

CREATE FUNCTION erp.create_publication(name text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' OR pg_catalog.octet_length(name) > 63 THEN
        RAISE EXCEPTION 'invalid publication name "%"', pg_catalog.left(COALESCE(name, ''), 80)
            USING ERRCODE = 'IE004',
                  DETAIL = 'A publication name is 1 to 63 bytes long.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = name) THEN
        RAISE EXCEPTION 'publication "%" exists already', name
            USING ERRCODE = 'IE010',
                  HINT = 'Choose another name, or drop the publication first.';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE PUBLICATION %I FOR TABLE erp.item, erp.item_component, erp.node, erp.channel, '
        'erp.channel_node, erp.supplier, erp.lot, erp.stock_policy, erp.channel_reserve, '
        'erp.stock_move, erp.stock_slot, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event, '
        'erp.cost_entry, erp.cost_balance, erp.cost_delta, erp.cost_layer, erp.landed_cost, '
        'erp.landed_cost_line, erp.edi_order, '
        'erp.bin, erp.item_uom, erp.wave, erp.wave_order, '
        'erp.customer, erp.price_list, erp.price_break, erp.channel_order_rules, '
        'erp.service_level, erp.node_cutoff, erp.order_hold, erp.shipment_tracking, '
        'erp.order_service, erp.order_edit, '
        'erp.item_substitute, erp.order_line_substitution, erp.checkout_hold, erp.checkout_hold_line', name);
END
$$;
COMMENT ON FUNCTION erp.create_publication(text) IS
    'Creates a logical replication publication of the master data, the ledger, the balances, orders, shipments, returns, purchasing, counts, events, the costs, the EDI order references, the bins, waves and units of measure, and the orchestration''s holds, scans, service levels, edits and B2B accounts, the substitutes and the checkout holds (0.4.0) (not of the shipped rule tables, which every install has); a subscriber installs the extension and subscribes';
-- publications are created by administrators
REVOKE EXECUTE ON FUNCTION erp.create_publication(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erp.create_publication(text) TO erp_admin;
