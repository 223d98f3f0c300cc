-- 80 (update): erp.allocate returns what the order holds after the call, with
-- the line's and the order's status (issue 11): a result type change, so the
-- function is dropped and created again.
DROP FUNCTION erp.allocate(bigint, text);
CREATE FUNCTION erp.allocate(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint,
                   line_status erp.line_status, qty_backordered bigint, qty_short bigint,
                   order_status erp.order_status)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint, text) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what the order holds afterwards, whatever its status (an order with nothing left to allocate is no error): one row per reservation (qty = units reserved, picked or packed there; a kit line''s rows name its components), one row with node and lot NULL and qty 0 per line that holds nothing (shipped units are no longer held), each with the line''s status, qty_backordered, qty_short (units neither held, shipped nor backordered; 0 on a cancelled line) and the order''s status';
