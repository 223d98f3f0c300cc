-- erp.reservation: the unique key leads with the order and ends with the item (it led
-- with the item, and reservation_order_idx (order_id) served the reads of an order).
-- One index entry less per reservation, and a new order's entries go to the right edge
-- of the key instead of a page chosen by the item.  Rebuilt in this transaction: the
-- table is locked while the index is built (sized by the open reservations, which
-- shipping and cancelling remove).
DROP INDEX erp.reservation_key;
CREATE UNIQUE INDEX reservation_key ON erp.reservation (order_id, line_no, node_id, (COALESCE(lot_id, 0)), item_id);
DROP INDEX erp.reservation_order_idx;
