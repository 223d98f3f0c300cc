-- A catalogue of 1,000 SKUs stocked at 3 nodes, all linked to one storefront channel,
-- and one hot SKU with enough stock for a flash sale.
CREATE EXTENSION IF NOT EXISTS inventory_erp;
INSERT INTO erp.node (code, latitude, longitude)
SELECT 'DC-' || n, 50 + n, 10 + n FROM generate_series(1, 3) n;
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, title, unit_price)
SELECT 'SKU-' || i, 'Item ' || i, 10 FROM generate_series(1, 1000) i;
INSERT INTO erp.item (sku, title, unit_price) VALUES ('HOT-1', 'Flash-sale item', 10);
SELECT count(erp.receive('SKU-' || i, 'DC-' || n, 1000000)) FROM generate_series(1, 1000) i, generate_series(1, 3) n;
SELECT erp.receive('HOT-1', 'DC-1', 10000000);
ANALYZE;
