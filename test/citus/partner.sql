-- test/citus/t_partner.sh runs this logged in as partner ierp_citus_3pl (node DC2) on
-- one node and on the distributed layout, and compares the output: what it sees,
-- what it may do at DC2, and what is refused elsewhere (IE009) or by privilege
-- (42501).  psql, no ON_ERROR_STOP: a refusal prints its SQLSTATE and the script
-- goes on.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
SELECT current_user, erp.visible_nodes();
-- what it sees: its node's stock, moves and orders only
SELECT i.sku, n.code, s.available, s.reserved FROM erp.stock_slot s JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id) ORDER BY 1, 2;
SELECT sku, node, available, reserved, on_hand, atp FROM erp.availability ORDER BY sku, node;
SELECT count(*), min(to_node_id), max(to_node_id) FROM erp.stock_move;
SELECT order_id, external_ref, status FROM erp.sales_order ORDER BY order_id;
SELECT order_id, line_no, qty, status FROM erp.order_line ORDER BY order_id, line_no;
SELECT order_id, node_id, qty FROM erp.reservation ORDER BY order_id;
SELECT erp.order_visible(1), erp.order_visible(2), erp.order_visible(3), erp.order_visible(4);
-- its node's purchase orders, their lines and landed costs (also joined with stock rows)
SELECT purchase_order_id, node_id, status FROM erp.purchase_order ORDER BY 1;
SELECT purchase_order_id, line_no, qty FROM erp.purchase_order_line ORDER BY 1, 2;
SELECT purchase_order_id, kind, amount FROM erp.landed_cost ORDER BY 1;
SELECT count(*), sum(amount) FROM erp.landed_cost_line;
SELECT count(*) FROM erp.purchase_order_line l JOIN erp.stock_slot s USING (item_id);
SELECT erp.po_visible(1), erp.po_visible(2), erp.po_line_visible(1), erp.po_line_visible(2);
-- what it does at DC2
SELECT erp.receive('TEE', 'DC2', 5);
SELECT erp.pick(2, 'CAP', 2);
SELECT count(*) FROM erp.allocate(3);
SELECT erp.count('TEE', 'DC2', 15);
-- refused at DC1 and on other orders: IE009, nothing changed
SELECT erp.receive('TEE', 'DC1', 1);
SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage');
SELECT erp.transfer('TEE', 'DC2', 'DC1', 1);
SELECT erp.count('LAMP', 'DC1', 0);
SELECT erp.pick(1, 'LAMP', 1);
SELECT erp.cancel_order(1);
SELECT count(*) FROM erp.allocate(4);
SELECT erp.capture_order('SHOP', 'O-5', '[{"sku": "TEE", "qty": 1}]');
-- and by privilege: no direct writes to the books
UPDATE erp.stock_slot SET available = available + 1;
INSERT INTO erp.node_access (role_name, node_id) VALUES ('ierp_citus_3pl', 1);
-- what it sees now
SELECT sku, node, available, reserved, picked, on_hand FROM erp.availability ORDER BY sku, node;
SELECT order_id, status FROM erp.sales_order ORDER BY order_id;
