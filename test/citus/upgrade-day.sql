-- test/citus/t_upgrade.sh: a day of data written by the released 0.3.0 module into a
-- 0.3.0 install, before the update to the current version and erp.distribute():
-- receipts, a purchase order received, orders allocated, picked, packed, shipped
-- and cancelled, a return, a count, a transfer.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) VALUES (1, 1, 1), (1, 2, 2);
INSERT INTO erp.supplier (code, name, lead_time_days) VALUES ('ACME', 'Acme', 7);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 4, 20), ('CAP', 3, 12), ('MUG', 2, 8);
SELECT erp.receive('TEE', 'DC1', 50), erp.receive('CAP', 'DC2', 20), erp.receive('MUG', 'DC1', 5);
SELECT erp.create_po('ACME', 'DC2', '[{"sku": "MUG", "qty": 12}]', '2099-01-01');
SELECT erp.receive_po(1);
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'U-1', '[{"sku": "TEE", "qty": 3}, {"sku": "CAP", "qty": 2}]'));
SELECT erp.pick(1, 'TEE', 3), erp.pick(1, 'CAP', 2);
SELECT erp.pack(1);
SELECT erp.ship(1, 'DHL', 'T-1');
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'U-2', '[{"sku": "MUG", "qty": 4}]'));
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'U-3', '[{"sku": "TEE", "qty": 1}]'));
SELECT erp.cancel_order(3);
SELECT erp.authorize_return(1, '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]');
SELECT erp.receive_return(1);
SELECT erp.count('MUG', 'DC1', 4);
SELECT erp.receive_transfer(erp.transfer('TEE', 'DC1', 'DC2', 5));
