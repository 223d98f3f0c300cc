-- examples/setup.sql: the small shop every example of doc/integration.md runs on.
-- In an empty database:  psql -X -v ON_ERROR_STOP=1 -d shop -f examples/setup.sql
-- (test/shell/integration_guide.sh runs it, then every SQL example of the guide).
CREATE EXTENSION IF NOT EXISTS inventory_erp;

-- four items: a T-shirt, a mug that may be backordered, a cream, a soap
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TEE-BLK-M', 'T-shirt black M', 8.00, 19.90, false),
    ('MUG-WHT',   'Mug white',       3.00, 12.00, true),
    ('CREAM-50',  'Hand cream 50 ml', 4.00, 9.50, false),
    ('SOAP-BAR',  'Soap bar',        1.00, 4.50, false);

-- a warehouse and a store, both fulfilling the web shop, the warehouse first
INSERT INTO erp.node (code, name, kind, latitude, longitude) VALUES
    ('DC1',       'Main warehouse', 'warehouse', 52.48, -1.90),
    ('STORE-LDN', 'London store',   'store',     51.51, -0.13);
INSERT INTO erp.channel (code, name, kind) VALUES ('WEB', 'Web shop', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'DC1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'WEB';

-- opening stock
SELECT erp.receive('TEE-BLK-M', 'DC1', 50, ref => 'opening'),
       erp.receive('TEE-BLK-M', 'STORE-LDN', 10, ref => 'opening'),
       erp.receive('MUG-WHT', 'DC1', 3, ref => 'opening'),
       erp.receive('CREAM-50', 'DC1', 40, ref => 'opening'),
       erp.receive('SOAP-BAR', 'DC1', 5, ref => 'opening');

-- from now on, stock changes outside documents worth more than 50.00 (and refunds
-- above 100.00) wait for a second person (doc/governance.md)
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 50.00), ('refund', 100.00);
