-- 78_edi_buyer.sql (issue 17): an 850's buyer (N1*BY, its N104 the erp.customer code)
-- orders as that B2B customer: lines without a price take the customer's price
-- break, an order over its open credit arrives on a credit hold, and a buyer code
-- the retailer does not know refuses the whole document (IE003), writing nothing.
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code, kind) VALUES ('E78-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('E78-B2B', 'wholesale');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'E78-B2B' AND n.code = 'E78-DC';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('E78-TEE', 'tee', 4, 10);
SELECT erp.receive('E78-TEE', 'E78-DC', 100);
INSERT INTO erp.price_list (code, name) VALUES ('E78-TRADE', 'trade');
INSERT INTO erp.price_break (price_list_id, item_id, min_qty, unit_price)
SELECT p.price_list_id, i.item_id, b.q, b.p
  FROM erp.price_list p, erp.item i, (VALUES (1, 8.00), (24, 6.00)) b(q, p)
 WHERE p.code = 'E78-TRADE' AND i.sku = 'E78-TEE';
INSERT INTO erp.customer (code, name, credit_limit, price_list_id)
SELECT 'E78-ACME', 'Acme', 200.00, price_list_id FROM erp.price_list WHERE code = 'E78-TRADE';

CREATE FUNCTION pg_temp.po(po text, qty int, buyer text) RETURNS text LANGUAGE sql AS $$
    SELECT format('ISA*00*%s*00*%s*ZZ*%s*ZZ*%s*261201*1200*U*00401*000000101*0*P*:~', repeat(' ', 10),
                  repeat(' ', 10), rpad('ACMEEDI', 15), rpad('INVENTORYERP', 15)) || E'\n'
        || E'GS*PO*ACMEEDI*INVENTORYERP*20261201*1200*101*X*004010~\nST*850*0001~\n'
        || format(E'BEG*00*SA*%s**20261201~\nN1*BY*Acme Trading*92*%s~\nPO1*1*%s*EA***SK*E78-TEE~\nCTT*1~\n', po, buyer, qty)
        || E'SE*6*0001~\nGE*1*101~\nIEA*1*000000101~\n'
$$;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

SELECT is((SELECT created FROM erp.edi_850_in('E78-B2B', pg_temp.po('E78-PO1', 24, 'E78-ACME'))), true,
    'an 850 of 24 tees from buyer E78-ACME becomes an order');
SELECT is((SELECT c.code FROM erp.sales_order o JOIN erp.customer c USING (customer_id) WHERE o.external_ref = 'E78-PO1'),
    'E78-ACME', 'the order is the customer''s');
SELECT is((SELECT unit_price FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'E78-PO1'),
    6.00::numeric(14,2), 'the line without a price takes the 24-unit break: 6.00');
-- 24 x 6.00 = 144.00 open; 10 more at 8.00 = 80.00: 224.00 > 200.00
SELECT erp.edi_850_in('E78-B2B', pg_temp.po('E78-PO2', 10, 'E78-ACME'));
SELECT is((SELECT h.reason FROM erp.order_hold h JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'E78-PO2'),
    'credit', 'the second 850 takes the open credit over the limit (144.00 + 80.00 > 200.00): a credit hold');
CREATE TEMP TABLE e78_before AS SELECT count(*) AS n FROM erp.sales_order;
SELECT is(pg_temp.err($$SELECT erp.edi_850_in('E78-B2B', pg_temp.po('E78-PO3', 1, 'NOBODY'))$$), 'IE003',
    'a buyer code that is no customer refuses the document (IE003)');
SELECT is((SELECT count(*) FROM erp.sales_order), (SELECT n FROM e78_before), 'and writes no order');

SELECT * FROM finish();
ROLLBACK;
