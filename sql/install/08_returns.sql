-- 08_returns: return merchandise authorisations, their lines, the rules that route
-- returned units, and the refunds that go with them.

UPDATE erp.state_transition SET engine = 'returns'
 WHERE event IN ('rma_authorized', 'return_received', 'rma_expired', 'disposition',
                 'refurbished', 'returned_to_vendor')
    OR (event IN ('dispose', 'adjust') AND from_state = 'inspection');
-- a customer may send a return to another node than the one that shipped it
UPDATE erp.state_transition SET cross_node = true
 WHERE from_state = 'return_pending' AND to_state = 'inspection';

CREATE TYPE erp.item_condition AS ENUM (
    'new', 'opened', 'used', 'damaged', 'defective', 'missing_parts', 'wrong_item');
COMMENT ON TYPE erp.item_condition IS 'What the inspector found when a returned unit was opened';

CREATE TYPE erp.disposition AS ENUM ('restock', 'refurbish', 'quarantine', 'vendor_return', 'dispose');
COMMENT ON TYPE erp.disposition IS 'Where inspected returns go: back to available, to refurbishment, on hold, back to the vendor, or out';

CREATE TYPE erp.refund_policy AS ENUM ('on_receipt', 'on_inspection', 'manual');
COMMENT ON TYPE erp.refund_policy IS 'When a return is refunded: as soon as it arrives, once inspected, or when a person decides';

CREATE TYPE erp.rma_status AS ENUM (
    'authorized', 'partially_received', 'received', 'inspected', 'closed', 'expired');
COMMENT ON TYPE erp.rma_status IS 'Where a return authorisation stands, from authorised to closed (or expired when nothing came back)';

CREATE TYPE erp.refund_status AS ENUM ('pending', 'awaiting_approval', 'approved');
COMMENT ON TYPE erp.refund_status IS 'pending: not due yet; awaiting_approval: due, a member of erp_approver must approve; approved: refunded';

CREATE TABLE erp.disposition_rule (
    disposition_rule_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    priority            integer NOT NULL,
    reason              text,
    condition           erp.item_condition,
    category            text,
    min_unit_value      numeric(14,2),
    max_unit_value      numeric(14,2),
    disposition         erp.disposition NOT NULL,
    refund_policy       erp.refund_policy NOT NULL DEFAULT 'on_inspection',
    restocking_fee_pct  numeric(5,2) NOT NULL DEFAULT 0 CHECK (restocking_fee_pct BETWEEN 0 AND 100),
    builtin             boolean NOT NULL DEFAULT false,
    CHECK (min_unit_value IS NULL OR max_unit_value IS NULL OR min_unit_value <= max_unit_value)
);
CREATE INDEX disposition_rule_priority_idx ON erp.disposition_rule (priority, disposition_rule_id);
COMMENT ON TABLE erp.disposition_rule IS 'Routing of inspected returns: the first rule (lowest priority) whose reason, condition, category and unit value band match decides the disposition, the refund policy and the restocking fee; NULL matches anything';
COMMENT ON COLUMN erp.disposition_rule.priority IS 'Lower is tried first; shipped rules use 100-900, leaving room before, between and after them';
COMMENT ON COLUMN erp.disposition_rule.reason IS 'Return reason code (erp.reason_code.code) the rule applies to; NULL: any';
COMMENT ON COLUMN erp.disposition_rule.condition IS 'Condition found at inspection; NULL: any (such rules also decide refunds on receipt)';
COMMENT ON COLUMN erp.disposition_rule.category IS 'Item category (erp.item.category); NULL: any';
COMMENT ON COLUMN erp.disposition_rule.min_unit_value IS 'Lowest unit price the rule applies to; NULL: no lower bound';
COMMENT ON COLUMN erp.disposition_rule.max_unit_value IS 'Highest unit price the rule applies to; NULL: no upper bound';
COMMENT ON COLUMN erp.disposition_rule.restocking_fee_pct IS 'Percentage of the price kept back from the refund';
CREATE TRIGGER disposition_rule_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.disposition_rule
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER disposition_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.disposition_rule
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

INSERT INTO erp.disposition_rule (priority, reason, condition, category, disposition, refund_policy,
                                  restocking_fee_pct, builtin) VALUES
    (100, 'damaged_in_transit', NULL, NULL, 'dispose', 'on_receipt', 0, true),
    (200, NULL, 'new', NULL, 'restock', 'on_inspection', 0, true),
    (300, NULL, 'opened', 'apparel', 'restock', 'on_inspection', 10, true),
    (400, NULL, 'defective', NULL, 'vendor_return', 'on_inspection', 0, true),
    (500, NULL, 'damaged', NULL, 'dispose', 'manual', 0, true),
    (600, NULL, 'used', NULL, 'refurbish', 'on_inspection', 15, true),
    (900, NULL, NULL, NULL, 'quarantine', 'manual', 0, true);

CREATE TABLE erp.rma (
    rma_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES erp.sales_order,
    status          erp.rma_status NOT NULL DEFAULT 'authorized',
    authorized_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE INDEX rma_order_idx ON erp.rma (order_id);
CREATE INDEX rma_open_idx ON erp.rma (expires_at) WHERE status = 'authorized';
COMMENT ON TABLE erp.rma IS 'A return merchandise authorisation: the customer may send back these units of this order until expires_at';
COMMENT ON COLUMN erp.rma.expires_at IS 'Units not received by then are no longer expected (erp.expire_returns)';

CREATE TABLE erp.rma_line (
    rma_line_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rma_id              bigint NOT NULL REFERENCES erp.rma,
    item_id             bigint NOT NULL REFERENCES erp.item,
    node_id             bigint NOT NULL REFERENCES erp.node,
    lot_id              bigint,
    qty                 bigint NOT NULL CHECK (qty > 0),
    qty_received        bigint NOT NULL DEFAULT 0,
    qty_inspected       bigint NOT NULL DEFAULT 0,
    qty_expired         bigint NOT NULL DEFAULT 0,
    received_node_id    bigint REFERENCES erp.node,
    reason              text NOT NULL,
    condition           erp.item_condition,
    disposition         erp.disposition,
    unit_price          numeric(14,2) NOT NULL,
    restocking_fee_pct  numeric(5,2),
    refund_policy       erp.refund_policy,
    refund_amount       numeric(14,2),
    refund_status       erp.refund_status NOT NULL DEFAULT 'pending',
    received_at         timestamptz,
    inspected_at        timestamptz,
    available_at        timestamptz,
    refunded_at         timestamptz,
    vendor_returned_at  timestamptz,
    approved_by         name,
    refund_requested_by name,
    CHECK (0 <= qty_inspected AND qty_inspected <= qty_received AND 0 <= qty_expired
           AND qty_received + qty_expired <= qty),
    CONSTRAINT rma_line_lot_id_fkey FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id)
);
CREATE INDEX rma_line_rma_idx ON erp.rma_line (rma_id);
CREATE INDEX rma_line_item_idx ON erp.rma_line (item_id);
COMMENT ON TABLE erp.rma_line IS 'Units of one sku (and node, lot) authorised for return, and what became of them: receipt, inspection, disposition, refund';
COMMENT ON COLUMN erp.rma_line.node_id IS 'Node that shipped the units; the return is expected there';
COMMENT ON COLUMN erp.rma_line.unit_price IS 'Price the customer paid for one unit (from the order line)';
COMMENT ON COLUMN erp.rma_line.refund_amount IS 'unit_price x qty x (1 - restocking_fee_pct / 100), set when the refund becomes due';
COMMENT ON COLUMN erp.rma_line.qty_expired IS 'Units that never came back before the RMA expired';
COMMENT ON COLUMN erp.rma_line.received_node_id IS 'Node where the units arrived (may differ from node_id)';
COMMENT ON COLUMN erp.rma_line.received_at IS 'When the first units of the line arrived';
COMMENT ON COLUMN erp.rma_line.available_at IS 'When the units were sellable again (restocked, or refurbished); NULL if they never are';
COMMENT ON COLUMN erp.rma_line.refunded_at IS 'When the refund was approved, automatically or by an approver';
COMMENT ON COLUMN erp.rma_line.approved_by IS 'Approver who released a refund that waited for approval (the login, not a role it SET)';
COMMENT ON COLUMN erp.rma_line.refund_requested_by IS 'Who made the refund due: received the units (on_receipt rule) or inspected them (otherwise); never its approver (four eyes)';

CREATE FUNCTION erp.authorize_return(order_id bigint, lines jsonb, return_window_days integer DEFAULT 30, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_returns_authorize'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer, text) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days (1 to 3650, IE004) of shipment (IE008); a kit comes back as its components; the units become return_pending at the node that shipped them; at most 1,000 lines (IE004)';

CREATE FUNCTION erp.receive_return(rma_id bigint, node text DEFAULT NULL, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_return(bigint, text, jsonb, text) IS
    'Records returned units arriving (all that is expected, or lines = [{"sku": .., "qty": ..}]) at node (default: the node that shipped them); they go to inspection; a sku not on the RMA is refused (IE007) and recorded as a return_discrepancy event; at most 1,000 lines (IE004)';

CREATE FUNCTION erp.inspect_return(rma_line_id bigint, condition erp.item_condition, idempotency_key text DEFAULT NULL)
    RETURNS erp.disposition
    AS 'MODULE_PATHNAME', 'ierp_returns_inspect'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.inspect_return(bigint, erp.item_condition, text) IS
    'Records the condition of received units, routes them by the first matching erp.disposition_rule and moves them; returns the disposition; refunds due on inspection are computed (and wait for approval when high-value or above the refund threshold)';

CREATE FUNCTION erp.approve_refund(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'ierp_returns_approve_refund'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_refund(bigint, text) IS
    'Releases a refund that waits for approval; only members of erp_approver other than the person who made the refund due (refund_requested_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009); returns the amount';

CREATE FUNCTION erp.complete_refurbish(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_complete_refurbish'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.complete_refurbish(bigint, text) IS 'Refurbished units of a return line are sellable again (refurbish -> available)';

CREATE FUNCTION erp.return_to_vendor(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_to_vendor'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.return_to_vendor(bigint, text) IS 'Units of a return line routed to the vendor leave for the vendor (vendor_return -> outside)';

CREATE FUNCTION erp.expire_returns(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_returns_expire'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.expire_returns(text) IS
    'Expires authorisations whose window passed with nothing received: return_pending units leave the books (rma_expired); returns how many RMAs expired';
