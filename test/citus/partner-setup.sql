-- test/citus/t_partner.sh: the master data, stock and orders of test/citus/partner.sql,
-- written by the administrator before erp.distribute().  Partner "ierp_citus_3pl" runs
-- node DC2; order 1 holds stock at DC1 (not its), order 2 at DC2 (its), order 3 is
-- open on a channel DC2 fulfils, order 4 open on a channel only DC1 fulfils.
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB'), ('B2B'), ('SHOP');
INSERT INTO erp.channel_node (channel_id, node_id, rank) VALUES (1, 1, 1), (1, 2, 2), (2, 2, 1), (3, 1, 1);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 4, 20), ('CAP', 3, 12), ('LAMP', 80, 300);
INSERT INTO erp.node_access (role_name, node_id) VALUES ('ierp_citus_3pl', 2);
SELECT erp.receive('TEE', 'DC1', 50), erp.receive('TEE', 'DC2', 10), erp.receive('CAP', 'DC2', 20), erp.receive('LAMP', 'DC1', 3);
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'O-1', '[{"sku": "LAMP", "qty": 1}]'));
SELECT count(*) FROM erp.allocate(erp.capture_order('B2B', 'O-2', '[{"sku": "CAP", "qty": 2}]'));
SELECT erp.capture_order('B2B', 'O-3', '[{"sku": "CAP", "qty": 1}]');
SELECT erp.capture_order('SHOP', 'O-4', '[{"sku": "TEE", "qty": 1}]');
-- purchase orders at DC1 (not the partner's) and DC2 (its), each with a landed cost
INSERT INTO erp.supplier (code, name, lead_time_days) VALUES ('ACME', 'Acme', 7);
SELECT erp.create_po('ACME', 'DC1', '[{"sku": "TEE", "qty": 40, "unit_cost": 3.50}]', '2099-01-10');
SELECT erp.create_po('ACME', 'DC2', '[{"sku": "CAP", "qty": 10}, {"sku": "TEE", "qty": 5}]', '2099-01-10');
SELECT erp.add_landed_cost(1, 'freight', 12.50), erp.add_landed_cost(2, 'duty', 7.00);
