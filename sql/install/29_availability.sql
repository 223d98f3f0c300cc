-- 29_availability: the stock picture per sku and node, for people and BI tools.
-- After 27_holds.sql: its atp column reads the checkout holds (units of an expired hold
-- count as promisable, a channel's unexpired holds use up its ring-fence), so the view is
-- created once their tables exist (it was 10_availability.sql before 0.4.0).

CREATE OR REPLACE VIEW erp.availability WITH (security_invoker = true) AS
WITH per_state AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state = 'available')      AS available,
           sum(b.qty) FILTER (WHERE b.state = 'available'
                              AND (i.min_shelf_life_days = 0 OR b.lot_id IS NULL
                                   OR l.expires_on IS NULL
                                   OR l.expires_on >= CURRENT_DATE + i.min_shelf_life_days)) AS promisable,
           sum(b.qty) FILTER (WHERE b.state = 'reserved')       AS reserved,
           sum(b.qty) FILTER (WHERE b.state = 'picked')         AS picked,
           sum(b.qty) FILTER (WHERE b.state = 'packed')         AS packed,
           sum(b.qty) FILTER (WHERE b.state = 'inspection')     AS inspection,
           sum(b.qty) FILTER (WHERE b.state = 'quarantined')    AS quarantined,
           sum(b.qty) FILTER (WHERE b.state = 'damaged')        AS damaged,
           sum(b.qty) FILTER (WHERE b.state = 'refurbish')      AS refurbish,
           sum(b.qty) FILTER (WHERE b.state = 'vendor_return')  AS vendor_return,
           sum(b.qty) FILTER (WHERE b.state = 'incoming')       AS incoming,
           sum(b.qty) FILTER (WHERE b.state = 'in_transit')     AS in_transit,
           sum(b.qty) FILTER (WHERE b.state = 'return_pending') AS return_pending
      FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id
      LEFT JOIN erp.lot l ON l.item_id = b.item_id AND l.lot_id = b.lot_id
     GROUP BY b.item_id, b.node_id
), expired_holds AS (
    -- units of checkout holds whose TTL has passed and that erp.expire_holds has not given
    -- back yet: promisable again (as erp.atp), in lots with enough shelf life only
    SELECT hl.item_id, hl.node_id, sum(hl.qty) AS qty
      FROM erp.checkout_hold_line hl
      JOIN erp.item i ON i.item_id = hl.item_id
      LEFT JOIN erp.lot l ON l.item_id = hl.item_id AND l.lot_id = hl.lot_id
     WHERE hl.open AND hl.expires_at <= now()
       AND (i.min_shelf_life_days = 0 OR hl.lot_id IS NULL OR l.expires_on IS NULL
            OR l.expires_on >= CURRENT_DATE + i.min_shelf_life_days)
     GROUP BY hl.item_id, hl.node_id
), fenced AS (
    -- each channel's ring-fence, less what that channel holds now (as erp.atp): its orders'
    -- reservations (h) and its checkout holds' open lines whose TTL has not passed (k)
    -- (pre-aggregated, not a correlated subquery: Citus refuses those next to reference tables)
    SELECT r.item_id, sum(greatest(r.qty - coalesce(h.qty, 0) - coalesce(k.qty, 0), 0)) AS qty
      FROM erp.channel_reserve r
      LEFT JOIN (SELECT c.channel_reserve_id, sum(v.qty) AS qty
                   FROM erp.channel_reserve c
                   JOIN erp.reservation v ON v.item_id = c.item_id
                   JOIN erp.sales_order o ON o.order_id = v.order_id AND o.channel_id = c.channel_id
                  GROUP BY c.channel_reserve_id) h ON h.channel_reserve_id = r.channel_reserve_id
      LEFT JOIN (SELECT c.channel_reserve_id, sum(hl.qty) AS qty
                   FROM erp.channel_reserve c
                   JOIN erp.checkout_hold_line hl ON hl.item_id = c.item_id
                   JOIN erp.checkout_hold ch ON ch.hold_id = hl.hold_id AND ch.channel_id = c.channel_id
                  WHERE hl.open AND hl.expires_at > now()
                  GROUP BY c.channel_reserve_id) k ON k.channel_reserve_id = r.channel_reserve_id
     GROUP BY r.item_id
)
SELECT i.sku, n.code AS node,
       coalesce(s.available, 0)::bigint      AS available,
       coalesce(s.reserved, 0)::bigint       AS reserved,
       coalesce(s.picked, 0)::bigint         AS picked,
       coalesce(s.packed, 0)::bigint         AS packed,
       coalesce(s.inspection, 0)::bigint     AS inspection,
       coalesce(s.quarantined, 0)::bigint    AS quarantined,
       coalesce(s.damaged, 0)::bigint        AS damaged,
       coalesce(s.refurbish, 0)::bigint      AS refurbish,
       coalesce(s.vendor_return, 0)::bigint  AS vendor_return,
       coalesce(s.incoming, 0)::bigint       AS incoming,
       coalesce(s.in_transit, 0)::bigint     AS in_transit,
       coalesce(s.return_pending, 0)::bigint AS return_pending,
       (coalesce(s.available, 0) + coalesce(s.reserved, 0) + coalesce(s.picked, 0)
        + coalesce(s.packed, 0) + coalesce(s.inspection, 0) + coalesce(s.quarantined, 0)
        + coalesce(s.damaged, 0) + coalesce(s.refurbish, 0) + coalesce(s.vendor_return, 0))::bigint AS on_hand,
       (coalesce(s.incoming, 0) + coalesce(s.in_transit, 0) + coalesce(s.return_pending, 0))::bigint AS inbound,
       coalesce(p.safety_stock, 0)::bigint AS safety_stock,
       greatest(coalesce(s.promisable, 0) + coalesce(x.qty, 0) - coalesce(p.safety_stock, 0)
                - coalesce(f.qty, 0), 0)::bigint AS atp,
       i.item_id, n.node_id
  FROM per_state s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  LEFT JOIN erp.stock_policy p ON p.item_id = s.item_id AND p.node_id = s.node_id
  LEFT JOIN fenced f ON f.item_id = s.item_id
  LEFT JOIN expired_holds x ON x.item_id = s.item_id AND x.node_id = s.node_id;
COMMENT ON VIEW erp.availability IS
    'One row per sku and node that has ever held stock: units in each state, on_hand = available + reserved + picked + packed + inspection + quarantined + damaged + refurbish + vendor_return, inbound = incoming + in_transit + return_pending, and atp = promisable available + units of expired checkout holds not yet given back - safety stock - every channel''s ring-fence less what that channel''s orders and unexpired holds hold (never below 0), as erp.atp(sku, node)';
COMMENT ON COLUMN erp.availability.atp IS 'Available-to-promise with no channel given: available in lots with enough shelf life, plus the units of checkout holds whose TTL has passed (until erp.expire_holds gives them back), less safety stock and every channel''s ring-fence less what its orders and its unexpired checkout holds hold';
COMMENT ON COLUMN erp.availability.on_hand IS 'Units physically at the node, whatever their state';
COMMENT ON COLUMN erp.availability.inbound IS 'Units on their way to the node: incoming from suppliers, in transit from other nodes, returns authorised';
