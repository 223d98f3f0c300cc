-- 07_capture_order (issue 16 item 4): erp.capture_order takes hold_ref, a checkout
-- hold whose reserved units the new order takes over (sql/install/07_orders.sql).
-- A 7th argument with a default: the function is dropped and created again; its
-- privileges are granted again by 99_grants.sql, as for every function.
DROP FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer, text);
CREATE FUNCTION erp.capture_order(channel text, external_ref text, lines jsonb,
                                  ship_to jsonb DEFAULT NULL, priority integer DEFAULT 0, idempotency_key text DEFAULT NULL,
                                  hold_ref bigint DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_capture'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer, text, bigint) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010); hold_ref = a checkout hold (erp.hold) of the channel whose reserved units the new order takes over, then allocated for the rest (IE003 unknown hold; IE010 another channel''s, expired, converted or released hold, or lines that do not ask for every held unit)';

