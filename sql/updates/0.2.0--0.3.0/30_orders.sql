-- 30_orders: orders, allocation and balances (issue 9, sections 2, 3 and 5).
-- The changes are in C (bounded capture input, IE010 for a redelivery with other
-- content, partner checks, allocate_pending isolating each order, the global lock
-- order of balance slots); the functions' descriptions say what they now do.
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010)';
COMMENT ON FUNCTION erp.allocate_pending(integer) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; an order that fails is skipped with a WARNING and the batch goes on; returns how many orders received stock';
