-- Baseline: the conditional decrement of one hot row that a naive design does per order.
UPDATE hot_row SET qty = qty - 1 WHERE id = 1 AND qty > 0;
