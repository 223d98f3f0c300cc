-- 07_orders: sales orders, their lines, the stock reserved for them, shipments,
-- and the functions that capture, promise, allocate, pick, pack and ship.

UPDATE erp.state_transition SET engine = 'orders'
 WHERE event IN ('allocate', 'release', 'pick', 'pack', 'putback', 'ship')
    OR (event = 'adjust' AND from_state IN ('reserved', 'picked', 'packed'));

-- No foreign key leads from an order or its lines to erp.channel or erp.item: every
-- order of a channel, and every order of a flash-sale SKU, would take a KEY SHARE
-- lock on the same master row.  The functions resolve the keys, and a channel or
-- item that orders refer to cannot be deleted (erp.refuse_delete_used).  Orders
-- and their lines are written together by erp.capture_order and never deleted
-- (cancelled instead), so lines carry no foreign key to their order either: the
-- check would cost a statement per line on the busiest path.
CREATE TRIGGER channel_keep_history BEFORE DELETE ON erp.channel
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('channel');

CREATE TYPE erp.order_status AS ENUM (
    'open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled');
COMMENT ON TYPE erp.order_status IS 'Where an order stands, from capture (open) to shipped or cancelled';

CREATE TYPE erp.line_status AS ENUM (
    'open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled', 'short');
COMMENT ON TYPE erp.line_status IS 'Where an order line stands; short = could not be filled and the item does not allow backorders';

CREATE TABLE erp.sales_order (
    order_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      bigint NOT NULL,
    external_ref    text NOT NULL CHECK (external_ref <> ''),
    status          erp.order_status NOT NULL DEFAULT 'open',
    priority        integer NOT NULL DEFAULT 0,
    ship_to         jsonb,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    customer_id     bigint,
    ship_complete   boolean NOT NULL DEFAULT false,
    UNIQUE (channel_id, external_ref)
);
CREATE TRIGGER sales_order_keep_history BEFORE DELETE OR TRUNCATE ON erp.sales_order
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
CREATE INDEX sales_order_pending_idx ON erp.sales_order (priority DESC, created_at, order_id)
    WHERE status IN ('open', 'backordered', 'partially_allocated');
COMMENT ON TABLE erp.sales_order IS 'A customer order captured from a channel; (channel, external_ref) identifies it, so redelivered webhooks do not duplicate it';
COMMENT ON COLUMN erp.sales_order.external_ref IS 'The channel''s own order number';
COMMENT ON COLUMN erp.sales_order.priority IS 'Higher is allocated first by erp.allocate_pending';
COMMENT ON COLUMN erp.sales_order.ship_to IS 'Delivery address; {"lat": .., "lon": ..} makes allocation prefer the nearest node';
COMMENT ON COLUMN erp.sales_order.customer_id IS 'The B2B customer (erp.customer) the order is for: ship_to {"customer": "<code>"} at capture; NULL for a consumer order';
COMMENT ON COLUMN erp.sales_order.ship_complete IS 'Ship nothing until all can go: allocation reserves nothing until one node can fill the whole order, and never splits it';

CREATE TABLE erp.order_line (
    order_line_id   bigint GENERATED ALWAYS AS IDENTITY,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    qty             bigint NOT NULL,
    unit_price      numeric(14,2) NOT NULL,
    qty_allocated   bigint NOT NULL DEFAULT 0,
    qty_backordered bigint NOT NULL DEFAULT 0,
    qty_shipped     bigint NOT NULL DEFAULT 0,
    status          erp.line_status NOT NULL DEFAULT 'open',
    -- the key is the order and the line number, the only way a line is ever found;
    -- order_line_id stays as a stable name for the row, without an index of its own
    CONSTRAINT order_line_pkey PRIMARY KEY (order_id, line_no),
    -- one constraint, not six: each is re-read from the catalog at every statement
    CONSTRAINT order_line_quantities CHECK (qty > 0 AND unit_price >= 0 AND qty_backordered >= 0
        AND qty_shipped >= 0 AND qty_shipped <= qty_allocated AND qty_allocated <= qty)
);
-- Lines by item, for the readers that look for backorders of an item (purchase order
-- delays, erp.worklist, erp.kpi_backorder_exposure).  Partial: a line written allocated
-- (erp.place_order, or any line whose stock was found) takes no entry, so an order does not
-- touch a page chosen by its item here.  The predicate's one column changes only when a
-- line is backordered or its backorder is filled, so the line updates of allocation,
-- picking and shipping stay HOT.  The item-deletion guard (erp.refuse_delete_used) proves
-- use by the ledger and this index first, then by a scan of the lines.
CREATE INDEX order_line_backordered_idx ON erp.order_line (item_id) WHERE qty_backordered > 0;
CREATE TRIGGER order_line_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_line
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_line IS 'What an order asks for, and how much of it is allocated, backordered and shipped';
COMMENT ON COLUMN erp.order_line.qty_allocated IS 'Units committed to the line so far (reserved, picked, packed or shipped)';
COMMENT ON COLUMN erp.order_line.qty_backordered IS 'Units waiting for stock (items that allow backorders)';
COMMENT ON COLUMN erp.order_line.qty_shipped IS 'Units shipped to the customer';

CREATE TABLE erp.reservation (
    reservation_id  bigint GENERATED ALWAYS AS IDENTITY,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    qty             bigint NOT NULL,
    qty_picked      bigint NOT NULL DEFAULT 0,
    qty_packed      bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT reservation_quantities CHECK (0 <= qty_packed AND qty_packed <= qty_picked AND qty_picked <= qty),
    CONSTRAINT reservation_pkey PRIMARY KEY (item_id, reservation_id)
);
-- One row per line, node and lot.  The key leads with the order: a new order's
-- entries go to the right edge of the index (no page of it is touched at random),
-- and the reads of a whole order use it; it ends with item_id, which a unique index
-- of a table distributed by item must contain.  Reads by item use the primary key.
CREATE UNIQUE INDEX reservation_key ON erp.reservation (order_id, line_no, node_id, (COALESCE(lot_id, 0)), item_id);
COMMENT ON TABLE erp.reservation IS 'Units held for an order line at a node (and lot): reserved = qty - qty_picked, picked = qty_picked - qty_packed, packed = qty_packed; a kit line holds its components';

CREATE TABLE erp.shipment (
    shipment_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES erp.sales_order,
    carrier         text,
    tracking        text,
    shipped_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX shipment_order_idx ON erp.shipment (order_id);
COMMENT ON TABLE erp.shipment IS 'A parcel (or set of parcels) that left for the customer';

CREATE TABLE erp.shipment_line (
    shipment_line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id     bigint NOT NULL REFERENCES erp.shipment,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    qty             bigint NOT NULL CHECK (qty > 0)
);
CREATE INDEX shipment_line_order_idx ON erp.shipment_line (order_id, item_id);
CREATE INDEX shipment_line_item_idx ON erp.shipment_line (item_id, shipment_id);
COMMENT ON TABLE erp.shipment_line IS 'Which units of which order line left from which node (and lot) in a shipment; returns go back to that node';

CREATE FUNCTION erp.capture_order(channel text, external_ref text, lines jsonb,
                                  ship_to jsonb DEFAULT NULL, priority integer DEFAULT 0, idempotency_key text DEFAULT NULL,
                                  hold_ref bigint DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_capture'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer, text, bigint) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010); hold_ref = a checkout hold (erp.hold) of the channel whose reserved units the new order takes over, then allocated for the rest (IE003 unknown hold; IE010 another channel''s, expired, converted or released hold, or lines that do not ask for every held unit)';

CREATE FUNCTION erp.allocate(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint,
                   line_status erp.line_status, qty_backordered bigint, qty_short bigint,
                   order_status erp.order_status)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint, text) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what the order holds afterwards, whatever its status (an order with nothing left to allocate is no error): one row per reservation (qty = units reserved, picked or packed there; a kit line''s rows name its components), one row with node and lot NULL and qty 0 per line that holds nothing (shipped units are no longer held), each with the line''s status, qty_backordered, qty_short (units neither held, shipped nor backordered; 0 on a cancelled line) and the order''s status';

CREATE FUNCTION erp.allocate_pending(max_orders integer DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_allocate_pending'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate_pending(integer, text) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; an order that fails is skipped with a WARNING and the batch goes on; returns how many orders received stock';

CREATE FUNCTION erp.atp(sku text, node text DEFAULT NULL, channel text DEFAULT NULL,
                        at timestamptz DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_atp'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.atp(text, text, text, timestamptz) IS
    'Available-to-promise of a sku at a node (or all nodes) for a channel: available in lots with enough shelf life - safety stock - other channels'' ring-fences, never below 0; a kit''s is its scarcest component''s';

CREATE FUNCTION erp.cancel_order(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_cancel'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.cancel_order(bigint, text) IS
    'Cancels an order that has not been packed: reserved units are released and picked units put back to available';

CREATE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint, text) IS
    'Confirms picking qty units (NULL, the default: 1, or the count of a GS1 scan''s AI 30/37) of the scanned sku, GTIN or GS1 element string for an order; a GS1 scan''s lot (AI 10) must be a lot reserved for the order and its expiry (AI 17) that lot''s; a scan that is not on the order, a malformed GS1 string, a wrong lot or expiry are refused (IE007) and recorded as a pick_exception event';

CREATE FUNCTION erp.short_pick(order_id bigint, sku text, missing bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_short_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint, text) IS
    'Reports missing reserved units; their write-off is an adjustment (reason short_pick): applied at once within the adjustment threshold, else the units move to quarantined and the adjustment waits for erp.approve_adjustment by another person; the line is re-allocated at another node';

CREATE FUNCTION erp.pack(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pack'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pack(bigint, text) IS 'Packs every picked unit of an order once nothing reserved is left to pick';

CREATE FUNCTION erp.ship(order_id bigint, carrier text DEFAULT NULL, tracking text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_ship'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.ship(bigint, text, text, text) IS 'Ships a packed order: the packed units leave the business; returns the shipment id (IE010 when the order is not packed)';

-- Order holds (issue 17, doc/orchestration.md): an order waits, unallocated, for payment
-- authorization, a fraud review, customer service or its credit.  One row per hold; an
-- order is held while any of its rows is not released.  Written only by erp.hold_order,
-- erp.release_order and a capture whose ship_to carries "hold"; never deleted.
CREATE TABLE erp.order_hold (
    order_hold_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('payment', 'fraud', 'customer_service', 'credit')),
    note            text CHECK (pg_catalog.length(note) <= 1024),
    held_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    held_by         text NOT NULL,
    released_at     timestamptz,
    released_by     text,
    CONSTRAINT order_hold_release CHECK ((released_at IS NULL) = (released_by IS NULL))
);
-- at most one open hold per order and reason; the open holds of an order are read by it
CREATE UNIQUE INDEX order_hold_open ON erp.order_hold (order_id, reason) WHERE released_at IS NULL;
CREATE TRIGGER order_hold_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_hold
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_hold IS 'Holds put on orders (payment, fraud, customer_service, credit): a held order is not allocated until every hold is released';
COMMENT ON COLUMN erp.order_hold.reason IS 'payment (authorization pending), fraud (review), customer_service, credit (over the customer''s open credit; released by erp_approver only)';
COMMENT ON COLUMN erp.order_hold.released_at IS 'When erp.release_order released it; NULL while the order is held';

-- Carrier tracking (issue 17, doc/orchestration.md): the scans a carrier reports for a
-- shipment, written by erp.carrier_event only.  (shipment, status, at) identifies a scan, so
-- a connector that sends it again changes nothing.  No foreign key to erp.shipment: on
-- Citus a table outside erp.citus_layout() may not reference its reference tables.
CREATE TABLE erp.shipment_tracking (
    shipment_tracking_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id     bigint NOT NULL,
    order_id        bigint NOT NULL,
    status          text NOT NULL CHECK (status IN ('picked_up', 'in_transit', 'delivered', 'failed', 'returned_to_sender')),
    at              timestamptz NOT NULL,
    detail          jsonb,
    rma_id          bigint,
    recorded_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_by     text NOT NULL,
    UNIQUE (shipment_id, status, at)
);
CREATE TRIGGER shipment_tracking_keep_history BEFORE DELETE OR TRUNCATE ON erp.shipment_tracking
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.shipment_tracking IS 'Carrier scans of shipments (picked_up, in_transit, delivered, failed, returned_to_sender), as erp.carrier_event recorded them';
COMMENT ON COLUMN erp.shipment_tracking.at IS 'When the carrier scanned the parcel (the carrier''s time, not ours)';
COMMENT ON COLUMN erp.shipment_tracking.rma_id IS 'The return a returned_to_sender scan opened for the parcel''s units';

-- Service levels of orders (issue 17, doc/orchestration.md): the service an order asked
-- for (ship_to {"service": ..}) and the time it must ship by, from the channel's rules and
-- the nodes' cut-offs; whether the node it was allocated to can meet it.
CREATE TABLE erp.order_service (
    order_id        bigint PRIMARY KEY,
    service         text NOT NULL CHECK (service IN ('express', 'standard', 'economy')),
    ship_by         timestamptz NOT NULL,
    node_id         bigint,
    node_ship_at    timestamptz,
    meets_ship_by   boolean
);
CREATE TRIGGER order_service_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_service
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_service IS 'The service level an order asked for and the time it must ship by (the earliest its channel''s nodes can make); the node allocation chose and whether that node ships by then';
COMMENT ON COLUMN erp.order_service.node_ship_at IS 'When the allocated node can ship the order (its next cut-off after allocation); later than ship_by: meets_ship_by is false and an event ship_by_at_risk was raised';
