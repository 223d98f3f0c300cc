-- 77_orch_partner_reads.sql: what a partner's login (erp.node_access) may read of the
-- orchestration's tables.  The B2B accounts' terms, credit limits and price lists are
-- the retailer's commercial data, not a node's: a partner reads none of them.  The
-- service level of an order (erp.order_service) follows the order rule: a partner reads
-- it for the orders it sees, not for another node's.  Without the policies of
-- 25_orchestration.sql assertions 4 to 7 fail (erp_reader reads every table).
BEGIN;
SELECT plan(8);

INSERT INTO erp.node (code) VALUES ('T77-DC'), ('T77-3PL');
INSERT INTO erp.channel (code, kind) VALUES ('T77-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'T77-WEB' AND n.code = 'T77-DC';
INSERT INTO erp.item (sku, unit_price) VALUES ('T77-A', 10);
SELECT erp.receive('T77-A', 'T77-DC', 10);
INSERT INTO erp.price_list (code, name) VALUES ('T77-TRADE', 'trade');
INSERT INTO erp.price_break (price_list_id, item_id, min_qty, unit_price)
SELECT p.price_list_id, i.item_id, 1, 7.00 FROM erp.price_list p, erp.item i WHERE p.code = 'T77-TRADE' AND i.sku = 'T77-A';
INSERT INTO erp.customer (code, name, credit_limit, price_list_id)
SELECT 'T77-ACME', 'Acme', 5000.00, price_list_id FROM erp.price_list WHERE code = 'T77-TRADE';
SELECT ok(erp.capture_order('T77-WEB', 'T77-O1', '[{"sku": "T77-A", "qty": 2}]',
                            '{"customer": "T77-ACME", "service": "express"}') > 0,
    'an express order of the B2B customer is captured at the DC''s channel');
SELECT is((SELECT count(*) FROM erp.order_service s JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'T77-O1'),
    1::bigint, 'its service level is recorded');

CREATE ROLE t77_partner;
GRANT erp_operator, erp_reader TO t77_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't77_partner', node_id FROM erp.node WHERE code = 'T77-3PL';
CREATE TEMP TABLE t77_seen (what text, n bigint);
GRANT ALL ON t77_seen TO t77_partner;

SET LOCAL ROLE t77_partner;
INSERT INTO t77_seen
SELECT 'customer', count(*) FROM erp.customer WHERE code = 'T77-ACME'
UNION ALL SELECT 'price_list', count(*) FROM erp.price_list WHERE code = 'T77-TRADE'
UNION ALL SELECT 'price_break', count(*) FROM erp.price_break
UNION ALL SELECT 'order_service', count(*) FROM erp.order_service
UNION ALL SELECT 'sales_order', count(*) FROM erp.sales_order WHERE external_ref = 'T77-O1';
RESET ROLE;

SELECT is((SELECT n FROM t77_seen WHERE what = 'sales_order'), 0::bigint,
    'the partner does not see the DC''s order (the order rule)');
SELECT is((SELECT n FROM t77_seen WHERE what = 'order_service'), 0::bigint,
    'nor its service level');
SELECT is((SELECT n FROM t77_seen WHERE what = 'customer'), 0::bigint,
    'nor the customer''s terms and credit limit');
SELECT is((SELECT n FROM t77_seen WHERE what = 'price_list'), 0::bigint, 'nor the price list');
SELECT is((SELECT n FROM t77_seen WHERE what = 'price_break'), 0::bigint, 'nor its price breaks');
SELECT is((SELECT count(*) FROM erp.customer WHERE code = 'T77-ACME'), 1::bigint,
    'the retailer''s own login still reads the customer');

SELECT * FROM finish();
ROLLBACK;
