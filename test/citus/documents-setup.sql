-- test/citus/t_documents.sh: the master data of test/citus/documents.sql, loaded
-- before erp.distribute() (on Citus, erp.item_component's guard, which looks at the
-- kit's order lines and reservations, cannot run: define kits before distributing,
-- doc/scaling.md).
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.supplier (code, name, lead_time_days) VALUES ('ACME', 'Acme', 7);
INSERT INTO erp.item (sku, gtin, unit_cost, unit_price) VALUES ('TEE', '4006381333931', 4, 20), ('CAP', NULL, 3, 12), ('LAMP', NULL, 80, 300);
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('MILK', 1, 2, true);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BUNDLE', 7, 28);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty) VALUES (5, 1, 2), (5, 2, 1);
