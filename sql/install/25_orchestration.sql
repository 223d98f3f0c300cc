-- 25_orchestration: order orchestration beyond allocation (issue 17, doc/orchestration.md):
-- the channel's order rules, order holds and carrier events.  erp.order_hold and
-- erp.shipment_tracking themselves are created with the orders (07_orders.sql): order
-- aging and the worklist read them.

CREATE TABLE erp.channel_order_rules (
    channel_id          bigint PRIMARY KEY REFERENCES erp.channel ON DELETE CASCADE,
    held_orders_reserve boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE erp.channel_order_rules IS
    'How a channel''s orders are orchestrated; a channel without a row has the defaults';
COMMENT ON COLUMN erp.channel_order_rules.held_orders_reserve IS
    'true: a held order keeps its reservations and is allocated while held (stock waits for the payment); false (default): holding an order releases its reserved units, and allocation skips it until it is released';

-- a partner sees the holds of the orders it sees (as erp.order_line)
ALTER TABLE erp.order_hold ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_hold
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_hold.order_id));

CREATE FUNCTION erp.hold_order(order_id bigint, reason text, note text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_hold_order'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.hold_order(bigint, text, text) IS
    'Puts an order that is not yet picked on hold (reason payment, fraud, customer_service or credit; note up to 1024 bytes): allocation skips it, and unless its channel''s held_orders_reserve is set its reserved units are released; returns the hold id (the open hold''s when the order already waits for that reason)';

CREATE FUNCTION erp.release_order(order_id bigint, reason text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_release_order'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.release_order(bigint, text) IS
    'Releases the order''s open holds (of one reason, or all): erp.allocate_pending fills it again; a credit hold is released by members of erp_approver only (IE009); returns how many holds were released (0: none was open)';

-- a partner sees the scans of the orders it sees (as erp.shipment)
ALTER TABLE erp.shipment_tracking ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment_tracking
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) shipment_tracking.order_id));

-- the reason of the returns a returned_to_sender scan opens (disposition rules may name it)
INSERT INTO erp.reason_code (code, description, builtin)
VALUES ('returned_to_sender', 'Carrier: the parcel could not be delivered and came back', true)
ON CONFLICT (code) DO NOTHING;

CREATE FUNCTION erp.carrier_event(shipment_id bigint, status text, at timestamptz, detail jsonb DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_carrier_event'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.carrier_event(bigint, text, timestamptz, jsonb) IS
    'Records a carrier scan of a shipment (status picked_up, in_transit, delivered, failed or returned_to_sender; detail a JSON object up to 4096 bytes); failed raises a carrier_failed event and a worklist row; the first returned_to_sender authorizes and receives a return (reason returned_to_sender) of the parcel''s units at the node that shipped them, for inspection; the same (shipment, status, at) sent again returns the same id and changes nothing';
