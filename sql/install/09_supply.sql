-- 09_supply: purchase orders, transfers between nodes, and the replenishment view.

UPDATE erp.state_transition SET engine = 'purchasing'
 WHERE event IN ('po_confirmed', 'po_cancelled') OR (event = 'receive' AND from_state = 'incoming');
-- a lot-tracked item's incoming units have no lot yet: its receipt closes the
-- expectation (incoming -> outside) and receives the lot (outside -> available)
INSERT INTO erp.state_transition (from_state, to_state, event, engine, builtin)
VALUES ('incoming', NULL, 'po_received', 'purchasing', true);

CREATE TYPE erp.po_status AS ENUM ('open', 'partially_received', 'received', 'cancelled');
COMMENT ON TYPE erp.po_status IS 'Where a purchase order stands';

CREATE TABLE erp.purchase_order (
    purchase_order_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    supplier_id         bigint NOT NULL REFERENCES erp.supplier,
    node_id             bigint NOT NULL REFERENCES erp.node,
    status              erp.po_status NOT NULL DEFAULT 'open',
    expected_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    received_at         timestamptz
);
CREATE INDEX purchase_order_open_idx ON erp.purchase_order (node_id, expected_at)
    WHERE status IN ('open', 'partially_received');
COMMENT ON TABLE erp.purchase_order IS 'Stock a supplier confirmed it will deliver to a node by expected_at; its units are incoming until received';
COMMENT ON COLUMN erp.purchase_order.expected_at IS 'When the supplier will deliver; erp.delay_po moves it';

CREATE TABLE erp.purchase_order_line (
    purchase_order_line_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_order_id       bigint NOT NULL REFERENCES erp.purchase_order,
    line_no                 integer NOT NULL,
    item_id                 bigint NOT NULL REFERENCES erp.item,
    qty                     bigint NOT NULL CHECK (qty > 0),
    qty_received            bigint NOT NULL DEFAULT 0,
    unit_cost               numeric(14,2) NOT NULL CHECK (unit_cost >= 0),
    UNIQUE (purchase_order_id, line_no),
    CHECK (0 <= qty_received AND qty_received <= qty)
);
CREATE INDEX purchase_order_line_item_idx ON erp.purchase_order_line (item_id);
COMMENT ON TABLE erp.purchase_order_line IS 'What a purchase order brings, and how much of it arrived';

CREATE TYPE erp.transfer_status AS ENUM ('in_transit', 'received');
COMMENT ON TYPE erp.transfer_status IS 'Where a transfer between nodes stands';

CREATE TABLE erp.transfer (
    transfer_id     bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    lot_id          bigint,
    from_node_id    bigint NOT NULL REFERENCES erp.node,
    to_node_id      bigint NOT NULL REFERENCES erp.node,
    qty             bigint NOT NULL CHECK (qty > 0),
    status          erp.transfer_status NOT NULL DEFAULT 'in_transit',
    shipped_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    received_at     timestamptz,
    CHECK (from_node_id <> to_node_id),
    CONSTRAINT transfer_pkey PRIMARY KEY (item_id, transfer_id),
    CONSTRAINT transfer_lot_id_fkey FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id)
);
CREATE INDEX transfer_id_idx ON erp.transfer (transfer_id);
COMMENT ON TABLE erp.transfer IS 'Units sent from one node to another; in transit (inbound at the destination) until received';

CREATE FUNCTION erp.create_po(supplier text, node text, lines jsonb, expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_create_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_po(text, text, jsonb, timestamptz, text) IS
    'Records a supplier-confirmed purchase order (lines = [{"sku": .., "qty": .., "unit_cost": ..}]); its units become incoming at node; at most 1,000 lines (IE004); returns the purchase order id';

CREATE FUNCTION erp.receive_po(po_id bigint, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb, text) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}]; lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';

CREATE FUNCTION erp.delay_po(po_id bigint, new_expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_delay_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.delay_po(bigint, timestamptz, text) IS
    'Moves a purchase order''s expected date and emits a supplier_delay event naming the backordered orders of its items now at risk';

CREATE FUNCTION erp.transfer(sku text, from_node text, to_node text, qty bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.transfer(text, text, text, bigint, text, text) IS
    'Sends available units from one node to another: in transit, inbound at the destination; returns the transfer id';

CREATE FUNCTION erp.receive_transfer(transfer_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_transfer(bigint, text) IS 'The units of a transfer arrived: available at the destination';

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

CREATE FUNCTION erp.create_replenishment_pos(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_supply_create_replenishment_pos'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_replenishment_pos(text) IS
    'Turns every suggestion of erp.replenishment into purchase orders, one per supplier and node, expected after the lead time; returns how many were created';
