-- erp.order_line: the index by item becomes partial, over the backordered lines only
-- (sql/install/07_orders.sql): its readers look for backorders of an item, and a line
-- written allocated, as every line of erp.place_order whose stock was found, then costs
-- no entry on a page chosen by its item.  Built in this transaction (the table is locked
-- while it is built; the backordered lines are few).
CREATE INDEX order_line_backordered_idx ON erp.order_line (item_id) WHERE qty_backordered > 0;
DROP INDEX erp.order_line_item_idx;
