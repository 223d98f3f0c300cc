-- 13_place_order (issue 10): erp.place_order returns the named row type
-- erp.place_order_row instead of OUT parameters (as sql/install/13_place_order.sql):
-- the same columns, without rebuilding the row type from pg_proc on every call.
-- A function's result type cannot be changed in place: dropped and created again
-- (99_grants gives it its privileges again).
DROP FUNCTION erp.place_order(text, text, jsonb, jsonb, integer, text);
CREATE TYPE erp.place_order_row AS (order_id bigint, created boolean, line_no integer, sku text, node text,
                                    lot text, qty bigint, line_status erp.line_status, qty_backordered bigint,
                                    qty_short bigint, order_status erp.order_status);
COMMENT ON TYPE erp.place_order_row IS 'A row of erp.place_order: the order id, whether this call created the order, then erp.allocate''s row';

CREATE FUNCTION erp.place_order(channel text, external_ref text, lines jsonb, ship_to jsonb DEFAULT NULL,
                                priority integer DEFAULT 0, idempotency_key text DEFAULT NULL)
    RETURNS SETOF erp.place_order_row
    AS 'MODULE_PATHNAME', 'ierp_orders_place'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.place_order(text, text, jsonb, jsonb, integer, text) IS
    'A webhook''s work in one call: captures the order as erp.capture_order does (idempotent on channel and external_ref; other content under the same external_ref is refused, IE010), then allocates it as erp.allocate does and returns erp.allocate''s rows, each led by the order id and whether this call created the order; a redelivery of an order that is allocated, packed, shipped or cancelled returns what it holds, no error';
