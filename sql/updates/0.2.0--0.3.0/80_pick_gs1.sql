-- 80 (update): erp.pick reads GS1 element strings (issue 11): qty's default
-- becomes NULL (1 unit, or the scan's AI 30/37 count).
CREATE OR REPLACE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint, text) IS
    'Confirms picking qty units (NULL, the default: 1, or the count of a GS1 scan''s AI 30/37) of the scanned sku, GTIN or GS1 element string for an order; a GS1 scan''s lot (AI 10) must be a lot reserved for the order and its expiry (AI 17) that lot''s; a scan that is not on the order, a malformed GS1 string, a wrong lot or expiry are refused (IE007) and recorded as a pick_exception event';
