-- erp.order_line: the index by item becomes partial, over the backordered lines only
-- (sql/install/07_orders.sql): its readers look for backorders of an item, and a line
-- written allocated, as every line of erp.place_order whose stock was found, then costs
-- no entry on a page chosen by its item.  Built in this transaction (the table is locked
-- while it is built; the backordered lines are few).
CREATE INDEX order_line_backordered_idx ON erp.order_line (item_id) WHERE qty_backordered > 0;
DROP INDEX erp.order_line_item_idx;
-- erp.order_line: the primary key becomes (order_id, line_no), the key every reader
-- uses; the index of order_line_id, which no statement reads, goes.  One index entry
-- less per line.  The unique index of (order_id, line_no) is kept and becomes the key.
ALTER TABLE erp.order_line DROP CONSTRAINT order_line_pkey;
ALTER TABLE erp.order_line DROP CONSTRAINT order_line_order_id_line_no_key;
CREATE UNIQUE INDEX order_line_pkey ON erp.order_line (order_id, line_no);
ALTER TABLE erp.order_line ADD CONSTRAINT order_line_pkey PRIMARY KEY USING INDEX order_line_pkey;
