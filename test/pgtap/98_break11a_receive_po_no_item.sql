-- 98_break11a_receive_po_no_item.sql (break11a; failed before b59d4aa, which fixed it): a receive_po line
-- with neither a sku nor a scan - {"qty": 1}, or a scanner integration that sends
-- "scan": null when the read failed - is malformed input (IE004, "a line needs a
-- sku or a scan"), but it is refused as IE003 'sku "(null)" is not on purchase
-- order N': the client is told to look for a sku literally named "(null)".
-- Likely cause: src/supply.c looks the NULL sku up on the order and formats it
-- with sku ? sku : "(null)" instead of refusing the line as malformed first.
BEGIN;
SELECT plan(4);

INSERT INTO erp.node (code, kind) VALUES ('B11A98-DC', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price, gtin) VALUES ('B11A98-TEE', 5, 20, '04006381333931');
INSERT INTO erp.supplier (code, name) VALUES ('B11A98-ACME', 'acme');
CREATE TEMP TABLE b11a98 AS
SELECT erp.create_po('B11A98-ACME', 'B11A98-DC', '[{"sku": "B11A98-TEE", "qty": 5}]', now() + interval '2 days') AS po_id;

SELECT throws_ok(format('SELECT erp.receive_po(%s, %L)', (SELECT po_id FROM b11a98), '[{"scan": null, "qty": 1}]'), 'IE004', NULL,
    'a line whose scan is null (and no sku) is malformed: IE004');
SELECT throws_ok(format('SELECT erp.receive_po(%s, %L)', (SELECT po_id FROM b11a98), '[{"qty": 1}]'), 'IE004', NULL,
    'a line with neither sku nor scan is malformed: IE004');
SELECT is((SELECT sum(qty_received) FROM erp.purchase_order_line WHERE purchase_order_id = (SELECT po_id FROM b11a98)), 0::numeric,
    'nothing was received');
SELECT lives_ok(format('SELECT erp.receive_po(%s, %L)', (SELECT po_id FROM b11a98), '[{"scan": "(01)04006381333931", "qty": 1}]'),
    'the same line with its scan is received (holds)');

SELECT * FROM finish();
ROLLBACK;
