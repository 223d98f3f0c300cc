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

-- erp.replenishment (what to reorder, by the old rule and from the forecast) is
-- created in 19_forecast.sql, after the forecast snapshots it reads.

CREATE FUNCTION erp.create_replenishment_pos(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_supply_create_replenishment_pos'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_replenishment_pos(text) IS
    'Turns every suggestion of erp.replenishment into purchase orders, one per supplier and node, expected after the lead time; returns how many were created';
