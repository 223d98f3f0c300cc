
-- 51: the adjustment threshold holds for a person's changes of an item over a day,
-- summed from erp.adjustment by item and time.
CREATE INDEX adjustment_item_idx ON erp.adjustment (item_id, created_at);
