-- 77_rekey: the item-scoped document tables are keyed (item_id, <id>) (SPEC 2),
-- as the ledger (70_kernel) already is, so that they can be distributed by
-- item: erp.lot, erp.reservation, erp.transfer, erp.adjustment and
-- erp.cycle_count.  The foreign keys that point at them carry item_id; the
-- unique key of a reservation leads with item_id; a plain index on the id
-- serves the one lookup of a document by its id (erp.receive_transfer,
-- erp.approve_adjustment) and on order_id the reads of an order's
-- reservations.  Rows stay in place: only constraints and indexes change.

-- the foreign keys first: they depend on the primary keys they reference
ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_adjustment_id_fkey;
ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_lot_id_fkey;
ALTER TABLE erp.adjustment DROP CONSTRAINT adjustment_lot_id_fkey;
ALTER TABLE erp.transfer DROP CONSTRAINT transfer_lot_id_fkey;
ALTER TABLE erp.rma_line DROP CONSTRAINT rma_line_lot_id_fkey;

ALTER TABLE erp.lot DROP CONSTRAINT lot_pkey;
ALTER TABLE erp.lot ADD CONSTRAINT lot_pkey PRIMARY KEY (item_id, lot_id);

ALTER TABLE erp.reservation DROP CONSTRAINT reservation_pkey;
ALTER TABLE erp.reservation ADD CONSTRAINT reservation_pkey PRIMARY KEY (item_id, reservation_id);
DROP INDEX erp.reservation_key;
CREATE UNIQUE INDEX reservation_key ON erp.reservation (item_id, order_id, line_no, node_id, (COALESCE(lot_id, 0)));
DROP INDEX erp.reservation_item_idx;
CREATE INDEX reservation_order_idx ON erp.reservation (order_id);

ALTER TABLE erp.transfer DROP CONSTRAINT transfer_pkey;
ALTER TABLE erp.transfer ADD CONSTRAINT transfer_pkey PRIMARY KEY (item_id, transfer_id);
CREATE INDEX transfer_id_idx ON erp.transfer (transfer_id);

ALTER TABLE erp.adjustment DROP CONSTRAINT adjustment_pkey;
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_pkey PRIMARY KEY (item_id, adjustment_id);
CREATE INDEX adjustment_id_idx ON erp.adjustment (adjustment_id);

ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_pkey;
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_pkey PRIMARY KEY (item_id, cycle_count_id);

ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.transfer ADD CONSTRAINT transfer_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_adjustment_id_fkey
    FOREIGN KEY (item_id, adjustment_id) REFERENCES erp.adjustment (item_id, adjustment_id);

-- a ledger row and its lot are joined on (item_id, lot_id)
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
), fenced AS (
    -- each channel's ring-fence, less what that channel's orders hold now (as erp.atp)
    SELECT r.item_id,
           sum(greatest(r.qty - coalesce((SELECT sum(v.qty) FROM erp.reservation v
                                            JOIN erp.sales_order o ON o.order_id = v.order_id
                                           WHERE v.item_id = r.item_id AND o.channel_id = r.channel_id), 0), 0)) AS qty
      FROM erp.channel_reserve r GROUP BY r.item_id
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
       greatest(coalesce(s.promisable, 0) - coalesce(p.safety_stock, 0) - coalesce(f.qty, 0), 0)::bigint AS atp,
       i.item_id, n.node_id
  FROM per_state s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  LEFT JOIN erp.stock_policy p ON p.item_id = s.item_id AND p.node_id = s.node_id
  LEFT JOIN fenced f ON f.item_id = s.item_id;

-- the lot guard asks the ledger and the balances of the lot's own item
CREATE OR REPLACE FUNCTION erp.guard_lot_item() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM erp.stock_move m
                WHERE m.item_id OPERATOR(pg_catalog.=) OLD.item_id AND m.lot_id OPERATOR(pg_catalog.=) OLD.lot_id)
       OR EXISTS (SELECT 1 FROM erp.stock_balance b
                   WHERE b.item_id OPERATOR(pg_catalog.=) OLD.item_id AND b.lot_id OPERATOR(pg_catalog.=) OLD.lot_id) THEN
        RAISE EXCEPTION 'lot "%" has history and cannot move to another item', OLD.lot_code
            USING ERRCODE = 'IE010',
                  DETAIL = 'The ledger and the balances keep its units under the item it was received for.',
                  HINT = 'Create a lot of the other item instead.';
    END IF;
    RETURN NEW;
END
$$;
