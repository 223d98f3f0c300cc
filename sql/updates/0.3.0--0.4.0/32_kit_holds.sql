-- 32_kit_holds (issue 16 item 4): checkout holds of kits; as sql/install/27_holds.sql.

ALTER TABLE erp.checkout_hold_line ADD COLUMN kit_item_id bigint;
COMMENT ON COLUMN erp.checkout_hold_line.kit_item_id IS 'The kit a component''s units were held for (a kit line of erp.hold: item_id is the component, qty = kits x its units per kit, every component of those kits at this node); NULL for a line of the item itself';
COMMENT ON FUNCTION erp.hold(text, text, jsonb, interval) IS
    'A checkout hold: reserves every unit of lines = [{"sku": "A-1", "qty": 2}] for the channel (at its nodes, by rank, above safety stock and other channels'' ring-fences, as allocation does; a kit''s components whole kits at one node each) until ttl (more than 0, at most 1 day) passes or capture_order(..., hold_ref) takes them; all or nothing (IE001); idempotent on (channel, cart_ref) while held; returns the hold id';
