-- 27_holds: timed checkout holds (issue 16 item 4, SPEC 12, doc/warehouse.md
-- "Checkout holds").  A hold reserves units through the stock kernel exactly as
-- an order does (available -> reserved, ref 'hold:<id>'), so ATP drops at once;
-- erp.capture_order(..., hold_ref) hands those reserved units to the order's
-- lines without releasing them; erp.expire_holds() gives back what expired.
-- The document is erp.checkout_hold; what it reserved, per item and node, is
-- erp.checkout_hold_line, keyed (item_id, hold_line_id) like every item-scoped
-- table, and every statement on it names its item_id.

CREATE TYPE erp.checkout_hold_status AS ENUM ('held', 'converted', 'expired', 'released');
COMMENT ON TYPE erp.checkout_hold_status IS 'Where a checkout hold stands: held (its units reserved), converted (into an order, which took its units), expired (its TTL passed; units given back), released (given back before its TTL by erp.release_hold)';

CREATE TABLE erp.checkout_hold (
    hold_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      bigint NOT NULL,
    cart_ref        text NOT NULL CHECK (cart_ref <> '' AND pg_catalog.octet_length(cart_ref) <= 255),
    status          erp.checkout_hold_status NOT NULL DEFAULT 'held',
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    order_id        bigint,
    item_ids        bigint[] NOT NULL,
    lines           jsonb NOT NULL,
    units           bigint NOT NULL CHECK (units > 0),
    held_by         text NOT NULL
);
-- one open hold per cart: a retry of erp.hold returns it
CREATE UNIQUE INDEX checkout_hold_cart_key ON erp.checkout_hold (channel_id, cart_ref) WHERE status = 'held';
-- erp.expire_holds reads the open holds by expiry
CREATE INDEX checkout_hold_expiry_idx ON erp.checkout_hold (expires_at, hold_id) WHERE status = 'held';
CREATE INDEX checkout_hold_order_idx ON erp.checkout_hold (order_id) WHERE order_id IS NOT NULL;
COMMENT ON TABLE erp.checkout_hold IS 'A storefront checkout holding stock for a few minutes while the shopper pays (erp.hold): its channel and cart, when it expires, its status and, once converted, the order that took its units';
COMMENT ON COLUMN erp.checkout_hold.cart_ref IS 'The storefront''s cart or checkout id; one open hold per (channel, cart_ref)';
COMMENT ON COLUMN erp.checkout_hold.expires_at IS 'created_at + ttl: from then on its units count as available in erp.atp, and erp.expire_holds (or an allocation that needs them) gives them back';
COMMENT ON COLUMN erp.checkout_hold.item_ids IS 'The items of its lines (every read of erp.checkout_hold_line names the item)';
COMMENT ON COLUMN erp.checkout_hold.lines IS 'The lines as asked: [{"sku": .., "item_id": .., "qty": ..}]';
COMMENT ON COLUMN erp.checkout_hold.units IS 'Units held in all (all or nothing: a hold that cannot get every unit is refused)';

CREATE TABLE erp.checkout_hold_line (
    hold_line_id    bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL,
    hold_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    qty             bigint NOT NULL CHECK (qty > 0),
    expires_at      timestamptz NOT NULL,
    open            boolean NOT NULL DEFAULT true,
    kit_item_id     bigint,
    CONSTRAINT checkout_hold_line_pkey PRIMARY KEY (item_id, hold_line_id)
);
-- erp.atp and allocation probe an item's open lines (few: only holds not yet converted or given back)
CREATE INDEX checkout_hold_line_open_idx ON erp.checkout_hold_line (item_id, expires_at) WHERE open;
CREATE INDEX checkout_hold_line_hold_idx ON erp.checkout_hold_line (hold_id, item_id);
COMMENT ON TABLE erp.checkout_hold_line IS 'Units a checkout hold reserved, per item and node: reserved stock of the balances that no order line holds; open while the hold is held';
COMMENT ON COLUMN erp.checkout_hold_line.expires_at IS 'The hold''s expires_at, kept with each line so that erp.atp finds an item''s expired units in one index probe';
COMMENT ON COLUMN erp.checkout_hold_line.open IS 'true while the hold is held; false once converted (the order''s reservations hold the units) or given back';
COMMENT ON COLUMN erp.checkout_hold_line.kit_item_id IS 'The kit a component''s units were held for (a kit line of erp.hold: item_id is the component, qty = kits x its units per kit, every component of those kits at this node); NULL for a line of the item itself';

-- a partner sees the hold lines of its nodes only (the one partner rule, as in 85_access.sql)
ALTER TABLE erp.checkout_hold_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.checkout_hold_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

CREATE FUNCTION erp.hold(channel text, cart_ref text, lines jsonb, ttl interval DEFAULT '15 minutes')
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_holds_hold'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.hold(text, text, jsonb, interval) IS
    'A checkout hold: reserves every unit of lines = [{"sku": "A-1", "qty": 2}] for the channel (at its nodes, by rank, above safety stock and other channels'' ring-fences, as allocation does; a kit''s components whole kits at one node each) until ttl (more than 0, at most 1 day) passes or capture_order(..., hold_ref) takes them; all or nothing (IE001); idempotent on (channel, cart_ref) while held; returns the hold id';

CREATE FUNCTION erp.expire_holds()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_holds_expire'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.expire_holds() IS
    'Gives back the units of every held checkout hold whose expires_at has passed (reserved -> available, event hold_expired); returns how many holds expired.  Scheduled by erp.schedule_jobs; erp.atp already counts expired units as available before it runs';

CREATE FUNCTION erp.release_hold(hold_ref bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_holds_release'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.release_hold(bigint) IS
    'Gives back a held checkout hold''s units before its TTL (an abandoned cart): status released, event hold_released; returns the units given back.  Unknown hold IE003; converted, expired or released IE010';

CREATE VIEW erp.hold_conversion WITH (security_invoker = true) AS
SELECT c.code AS channel,
       pg_catalog.count(*)::bigint AS holds,
       pg_catalog.count(*) FILTER (WHERE h.status = 'converted')::bigint AS converted,
       pg_catalog.count(*) FILTER (WHERE h.status = 'expired')::bigint AS expired,
       pg_catalog.count(*) FILTER (WHERE h.status = 'released')::bigint AS released,
       pg_catalog.count(*) FILTER (WHERE h.status = 'held')::bigint AS open,
       COALESCE(pg_catalog.sum(h.units), 0)::bigint AS units_held,
       COALESCE(pg_catalog.sum(h.units) FILTER (WHERE h.status = 'converted'), 0)::bigint AS units_converted,
       pg_catalog.round(100.0 * pg_catalog.count(*) FILTER (WHERE h.status = 'converted')
                        / NULLIF(pg_catalog.count(*) FILTER (WHERE h.status <> 'held'), 0), 1) AS conversion_pct
  FROM erp.checkout_hold h
  JOIN erp.channel c ON c.channel_id = h.channel_id
 GROUP BY c.code;
COMMENT ON VIEW erp.hold_conversion IS
    'Checkout holds per channel: how many were placed, converted into orders, expired, released or are still open, their units, and conversion_pct = converted / closed holds (open ones not counted)';
