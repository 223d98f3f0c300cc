
-- 46: an adjustment of an item without a unit cost is valued at its price, so
-- that the approval threshold holds for it too.
COMMENT ON COLUMN erp.adjustment.value IS '|qty_delta| x the item''s unit_cost, or its unit_price when it has no cost (what is at stake is never valued at 0 while the item has a price)';
