-- 70 (update): the stock kernel's re-keying (issue 10), as sql/install/04_ledger.sql,
-- 80_verify.sql and 85_access.sql now create it.
--   * erp.stock_balance, a table of slot rows (one per item, node, lot, state and
--     slot), becomes a view over erp.stock_slot (one row per item, node, bin, lot
--     and slot, one column per state).  Every balance is carried across: the sum
--     per (item, node, lot, state) lands in slot 0 of (item, node, bin 0, lot).
--     How 0.2.0 split a balance over slots does not survive (a reserved, picked or
--     packed slot may be below zero there; the sums never are), the sums do, and
--     the update checks that they are the same before it drops the old table.
--   * erp.stock_move is keyed (item_id, move_id); the ledger trigger that applied
--     rows becomes a guard that refuses rows the kernel did not write.
--   * The views that read erp.stock_balance are dropped first and recreated, as
--     sql/install defines them, over the new view; erp.verify() reads the slots.
-- Runs after every earlier fragment (they still saw the 0.2.0 table) and before
-- 98_search_path and 99_grants.

-- the views over the old table (09_supply, 10_availability, 12_intelligence)
DROP VIEW erp.dashboard;
DROP VIEW erp.kpi_backorder_exposure;
DROP VIEW erp.availability;
DROP VIEW erp.replenishment;

-- the ledger: keyed by item; the kernel appends its rows, the trigger only guards
DROP TRIGGER stock_move_apply ON erp.stock_move;
DROP FUNCTION erp.ledger_apply_move();
ALTER TABLE erp.stock_move DROP CONSTRAINT stock_move_pkey;
ALTER TABLE erp.stock_move ADD PRIMARY KEY (item_id, move_id);
DROP INDEX erp.stock_move_item_idx;

-- The ledger's guard: the stock kernel appends its rows itself; every other INSERT is refused.
CREATE FUNCTION erp.guard_ledger_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_move_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_ledger_insert() IS 'Trigger: refuses an INSERT into erp.stock_move that does not come from the stock kernel (IE005), unless inventory_erp.restore_mode is on (history reloaded by pg_restore)';
CREATE TRIGGER stock_move_guard BEFORE INSERT ON erp.stock_move
    FOR EACH ROW EXECUTE FUNCTION erp.guard_ledger_insert();

CREATE OR REPLACE FUNCTION erp.guard_balance_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_slot_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_balance_write() IS 'Trigger: refuses any write of erp.stock_slot or erp.stock_balance that does not come from the stock kernel (IE005)';

-- The balances: one row per item, node, bin, lot and slot, one column per stock
-- state (in erp.stock_state's order), so that a move between two states of one
-- balance changes one row.  A balance is the sum of its slots.  One slot is the
-- norm; under contention the kernel spreads a hot balance over a few slots
-- (inventory_erp.balance_slots) so concurrent orders of one SKU do not queue on
-- a single row lock.  Only the stock kernel writes it (src/stock/slots.c).
CREATE TABLE erp.stock_slot (
    item_id             bigint NOT NULL,
    node_id             bigint NOT NULL,
    bin_id              bigint NOT NULL DEFAULT 0,
    lot_id              bigint NOT NULL DEFAULT 0,
    slot                integer NOT NULL,
    incoming            bigint NOT NULL DEFAULT 0,
    in_transit          bigint NOT NULL DEFAULT 0,
    return_pending      bigint NOT NULL DEFAULT 0,
    available           bigint NOT NULL DEFAULT 0,
    reserved            bigint NOT NULL DEFAULT 0,
    picked              bigint NOT NULL DEFAULT 0,
    packed              bigint NOT NULL DEFAULT 0,
    inspection          bigint NOT NULL DEFAULT 0,
    quarantined         bigint NOT NULL DEFAULT 0,
    damaged             bigint NOT NULL DEFAULT 0,
    refurbish           bigint NOT NULL DEFAULT 0,
    vendor_return       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, node_id, bin_id, lot_id, slot),
    CONSTRAINT stock_slot_not_negative CHECK (incoming >= 0 AND in_transit >= 0 AND return_pending >= 0
        AND available >= 0 AND inspection >= 0 AND quarantined >= 0 AND damaged >= 0
        AND refurbish >= 0 AND vendor_return >= 0)
);
COMMENT ON TABLE erp.stock_slot IS 'The balances as the stock kernel keeps them: units per state of an item at a node (bin, lot), split over slots to spread lock contention; derived from erp.stock_move in the same transaction. Read erp.stock_balance';
COMMENT ON COLUMN erp.stock_slot.bin_id IS 'Place inside the node; 0 = the node''s stock outside bins (bins come with the warehouse release)';
COMMENT ON COLUMN erp.stock_slot.lot_id IS 'Lot of a lot-tracked item; 0 = no lot';
COMMENT ON COLUMN erp.stock_slot.slot IS 'Part of a balance split across rows to spread lock contention; the balance is the sum over slots';
COMMENT ON COLUMN erp.stock_slot.reserved IS 'Units held for orders; a slot may be below zero when an order took its own units while other transactions owned the slots that had them (the sum over slots never is); so may picked and packed';

-- The balances carried across, before the slots' triggers exist (they refuse
-- every write that does not come from the kernel).  FILTER over the 0.2.0 rows of
-- one (item, node, lot): the sum of each state, 0 when it has no row.
INSERT INTO erp.stock_slot (item_id, node_id, bin_id, lot_id, slot, incoming, in_transit, return_pending,
                            available, reserved, picked, packed, inspection, quarantined, damaged,
                            refurbish, vendor_return)
SELECT b.item_id, b.node_id, 0, COALESCE(b.lot_id, 0), 0,
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'incoming'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'in_transit'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'return_pending'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'available'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'reserved'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'picked'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'packed'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'inspection'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'quarantined'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'damaged'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'refurbish'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'vendor_return'), 0)
  FROM erp.stock_balance b
 GROUP BY b.item_id, b.node_id, COALESCE(b.lot_id, 0);

-- Nothing lost: every balance (item, node, lot, state) of the old table has the
-- same sum in the slots, and the slots hold no other units (a state the columns
-- above do not name would show here).  Otherwise the update stops, changing nothing.
DO $carried$
DECLARE
    differences bigint;
    first_difference text;
BEGIN
    WITH old_sums AS (
        SELECT b.item_id, b.node_id, COALESCE(b.lot_id, 0) AS lot_id, b.state, sum(b.qty) AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), new_sums AS (
        SELECT s.item_id, s.node_id, s.lot_id, q.state, sum(q.qty) AS qty
          FROM erp.stock_slot s
         CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                    ('return_pending', s.return_pending), ('available', s.available),
                                    ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                                    ('inspection', s.inspection), ('quarantined', s.quarantined),
                                    ('damaged', s.damaged), ('refurbish', s.refurbish),
                                    ('vendor_return', s.vendor_return)) AS q(state, qty)
         GROUP BY 1, 2, 3, 4
    ), diff AS (
        SELECT COALESCE(o.item_id, n.item_id) AS item_id, COALESCE(o.node_id, n.node_id) AS node_id,
               COALESCE(o.lot_id, n.lot_id) AS lot_id, COALESCE(o.state, n.state) AS state,
               COALESCE(o.qty, 0) AS before, COALESCE(n.qty, 0) AS after
          FROM old_sums o
          FULL JOIN new_sums n
            ON n.item_id = o.item_id AND n.node_id = o.node_id AND n.lot_id = o.lot_id AND n.state = o.state
         WHERE COALESCE(o.qty, 0) <> COALESCE(n.qty, 0)
    )
    SELECT count(*), min(pg_catalog.format('item %s, node %s, lot %s, %s: %s before, %s after',
                                           item_id, node_id, lot_id, state, before, after))
      INTO differences, first_difference
      FROM diff;
    IF differences > 0 THEN
        RAISE EXCEPTION 'inventory_erp update: % balance(s) would change when erp.stock_balance becomes erp.stock_slot', differences
            USING DETAIL = 'First: ' || first_difference || '.';
    END IF;
END
$carried$;

-- A publication of the balances (erp.create_publication) publishes the slots
-- instead: dropping the old table takes it out of the publication.  (Each
-- subscriber is updated too, which carries its own balances across; then
-- ALTER SUBSCRIPTION ... REFRESH PUBLICATION WITH (copy_data = false).)
DO $publications$
DECLARE
    pub name;
BEGIN
    FOR pub IN
        SELECT p.pubname FROM pg_catalog.pg_publication p
          JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid
         WHERE r.prrelid = 'erp.stock_balance'::regclass
         ORDER BY p.pubname
    LOOP
        EXECUTE pg_catalog.format('ALTER PUBLICATION %I ADD TABLE erp.stock_slot', pub);
    END LOOP;
END
$publications$;

-- the old table goes with its triggers, policy, index and identity sequence
-- (both leave the extension's dump configuration first)
ALTER EXTENSION inventory_erp DROP SEQUENCE erp.stock_balance_stock_balance_id_seq;
ALTER EXTENSION inventory_erp DROP TABLE erp.stock_balance;
DROP TABLE erp.stock_balance;

CREATE VIEW erp.stock_balance WITH (security_barrier = true) AS
SELECT s.item_id, s.node_id, NULLIF(s.lot_id, 0) AS lot_id, q.state, sum(q.qty)::bigint AS qty
  FROM erp.stock_slot s
 CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                            ('return_pending', s.return_pending), ('available', s.available),
                            ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                            ('inspection', s.inspection), ('quarantined', s.quarantined),
                            ('damaged', s.damaged), ('refurbish', s.refurbish),
                            ('vendor_return', s.vendor_return)) AS q(state, qty)
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR s.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
    OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r
         WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
 GROUP BY s.item_id, s.node_id, s.lot_id, q.state
HAVING sum(q.qty) <> 0;
COMMENT ON VIEW erp.stock_balance IS 'Quantity per item, node, lot and state (states with units only), summed over the slots of erp.stock_slot; derived from erp.stock_move in the same transaction';

CREATE TRIGGER stock_slot_derived BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_slot
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_slot_derived_insert BEFORE INSERT ON erp.stock_slot
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_balance_derived INSTEAD OF INSERT OR UPDATE OR DELETE ON erp.stock_balance
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();

-- as 85_access.sql: a partner reads the slots of its nodes only
ALTER TABLE erp.stock_slot ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_slot
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- as 09_supply.sql
CREATE VIEW erp.replenishment WITH (security_invoker = true) AS
WITH stock AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state IN ('available', 'reserved', 'picked', 'packed', 'inspection',
                                                'quarantined', 'damaged', 'refurbish', 'vendor_return')) AS on_hand,
           sum(b.qty) FILTER (WHERE b.state = 'available') AS available,
           sum(b.qty) FILTER (WHERE b.state IN ('incoming', 'in_transit', 'return_pending')) AS inbound
      FROM erp.stock_balance b GROUP BY b.item_id, b.node_id
), demand AS (
    SELECT sl.item_id, sl.node_id, sum(sl.qty) AS shipped
      FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
     WHERE s.shipped_at >= pg_catalog.now() - interval '28 days'
     GROUP BY sl.item_id, sl.node_id
), waiting AS (
    -- a backorder waits at the best-ranked node of its order's channel
    SELECT ol.item_id, first_node.node_id, sum(ol.qty_backordered) AS qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
      CROSS JOIN LATERAL (SELECT cn.node_id FROM erp.channel_node cn
                           WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1) first_node
     WHERE ol.qty_backordered > 0   -- a line keeps its backorder while its allocated part is picked
     GROUP BY ol.item_id, first_node.node_id
), position AS (
    SELECT p.item_id, p.node_id, p.reorder_point, p.order_up_to,
           COALESCE(p.lead_time_days, s.lead_time_days, 7) AS lead_time_days,
           COALESCE(st.on_hand, 0) AS on_hand, COALESCE(st.available, 0) AS available,
           COALESCE(st.inbound, 0) AS inbound, COALESCE(w.qty, 0) AS backordered,
           COALESCE(d.shipped, 0) / 28.0 AS daily_demand
      FROM erp.stock_policy p
      LEFT JOIN erp.supplier s ON s.supplier_id = p.supplier_id
      LEFT JOIN stock st ON st.item_id = p.item_id AND st.node_id = p.node_id
      LEFT JOIN demand d ON d.item_id = p.item_id AND d.node_id = p.node_id
      LEFT JOIN waiting w ON w.item_id = p.item_id AND w.node_id = p.node_id
)
SELECT i.sku, n.code AS node,
       x.on_hand::bigint, x.available::bigint, x.inbound::bigint, x.backordered::bigint,
       round(x.daily_demand, 2) AS avg_daily_demand, x.reorder_point, x.order_up_to,
       CASE WHEN x.available + x.inbound - x.backordered < x.reorder_point
            THEN greatest(x.order_up_to - (x.available + x.inbound - x.backordered), 0) ELSE 0 END::bigint AS suggested_qty,
       CASE WHEN x.daily_demand > 0 THEN round(x.available / x.daily_demand, 1) END AS days_of_cover,
       CASE WHEN x.available = 0 AND (x.backordered > 0 OR x.daily_demand > 0) THEN 'stockout'
            WHEN x.daily_demand > 0 AND (x.available + x.inbound) / x.daily_demand < x.lead_time_days THEN 'high'
            WHEN x.available + x.inbound - x.backordered < x.reorder_point THEN 'medium'
            ELSE 'low' END AS stockout_risk,
       x.lead_time_days, x.item_id, x.node_id
  FROM position x
  JOIN erp.item i ON i.item_id = x.item_id
  JOIN erp.node n ON n.node_id = x.node_id
 -- stock policies carry no row security of their own: partners see their nodes only
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR x.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.replenishment IS
    'Per item and node with a stock policy: position = available + inbound - backordered; suggested_qty = order_up_to - position when position < reorder_point, else 0; avg_daily_demand = units shipped from the node in the last 28 days / 28; days_of_cover = available / avg_daily_demand; stockout_risk: stockout (nothing available and demand waiting), high (available + inbound lasts less than the lead time), medium (below the reorder point), low';
COMMENT ON COLUMN erp.replenishment.backordered IS 'Units backordered by orders whose channel''s best-ranked node is this node';
COMMENT ON COLUMN erp.replenishment.suggested_qty IS 'Units to order to bring the position back to order_up_to';

-- as 10_availability.sql
CREATE VIEW erp.availability WITH (security_invoker = true) AS
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
      LEFT JOIN erp.lot l ON l.lot_id = b.lot_id
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
COMMENT ON VIEW erp.availability IS
    'One row per sku and node that has ever held stock: units in each state, on_hand = available + reserved + picked + packed + inspection + quarantined + damaged + refurbish + vendor_return, inbound = incoming + in_transit + return_pending, and atp = promisable available - safety stock - every channel''s ring-fence (never below 0)';
COMMENT ON COLUMN erp.availability.atp IS 'Available-to-promise with no channel given: available in lots with enough shelf life, less safety stock and all ring-fenced units';
COMMENT ON COLUMN erp.availability.on_hand IS 'Units physically at the node, whatever their state';
COMMENT ON COLUMN erp.availability.inbound IS 'Units on their way to the node: incoming from suppliers, in transit from other nodes, returns authorised';

-- as 12_intelligence.sql
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

CREATE VIEW erp.dashboard WITH (security_invoker = true) AS
SELECT
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance
      WHERE state NOT IN ('incoming', 'in_transit', 'return_pending'))::bigint AS units_on_hand,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available')::bigint AS units_available,
    (SELECT COALESCE(sum(b.qty * i.unit_cost), 0) FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
      WHERE b.state NOT IN ('incoming', 'in_transit', 'return_pending'))::numeric(14,2) AS inventory_value,
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
    'One row for the operations lead: stock on hand, available, inbound and its value at cost; orders today and open; shipments today; unit fill rate; backordered units; split shipment rate; open returns; refunds and adjustments waiting for approval; count accuracy; return cycle time; events of the last 24 hours; policy changes of the last 7 days (erp.policy_audit)';

-- as 80_verify.sql: negative slots are read from erp.stock_slot
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM by_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'negative slot', s.item_id, s.node_id, NULLIF(s.lot_id, 0), q.state, 0, q.qty, NULL
      FROM erp.stock_slot s
     CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                ('return_pending', s.return_pending), ('available', s.available),
                                ('inspection', s.inspection), ('quarantined', s.quarantined),
                                ('damaged', s.damaged), ('refurbish', s.refurbish),
                                ('vendor_return', s.vendor_return)) AS q(state, qty)
     WHERE q.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';

-- as 90_grants.sql and 99_dump.sql: readers read the new relations (nobody but
-- the kernel writes them), and pg_dump keeps the slots
REVOKE ALL ON erp.stock_slot, erp.stock_balance, erp.replenishment, erp.availability,
              erp.kpi_backorder_exposure, erp.dashboard FROM PUBLIC;
GRANT SELECT ON erp.stock_slot, erp.stock_balance, erp.replenishment, erp.availability,
                erp.kpi_backorder_exposure, erp.dashboard TO erp_reader;
SELECT pg_catalog.pg_extension_config_dump('erp.stock_slot', '');
