-- gs1: a goods-in desk receives by scanning GS1 barcodes (doc/gs1.md).
--
-- The handheld sends the element string of a GS1-128 carton label, of a
-- DataMatrix on a pack, or the printed line under the bars typed by hand.
-- erp.parse_gs1 shows what each one says; erp.receive and erp.receive_po take
-- the item (by GTIN), the lot and the expiry from it.  Wrong scans are refused
-- with the reason and change nothing.  At the end the parser is fuzzed with
-- 2,000 mutated scans (test/fuzz/gs1_fuzz.sql): `make valgrind` runs this
-- scenario under memcheck.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;
\set VERBOSITY default

INSERT INTO erp.node (code, kind) VALUES ('GS-DC', 'warehouse');
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('GS-DAIRY', 3);
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('YOG-STRAW', 0.40, 0.99, true, '09501101530003');
INSERT INTO erp.item (sku, unit_cost, unit_price, gtin) VALUES ('SPOON-100', 2.00, 4.50, '04006381333931');

-- What the scans say.  <GS> is the group separator (0x1D) that ends a lot.
SELECT * FROM erp.parse_gs1(E']C1010950110153000317271231' || '10B-0425' || E'\u001d' || '3024');
SELECT * FROM erp.parse_gs1('(01)09501101530003(15)280200(10)B-0426');

-- A carton of yoghurt scanned at goods-in: item, lot and expiry come from the label.
SELECT erp.receive(E']C1010950110153000317271231' || '10B-0425', 'GS-DC', 24) > 0 AS received;
SELECT sku, l.lot_code, l.expires_on, b.state, b.qty
  FROM erp.stock_balance b JOIN erp.item USING (item_id) JOIN erp.lot l USING (item_id, lot_id);

-- Wrong scans: a mistyped check digit, 31 June, a lot typed in that is not the label's.
SELECT erp.receive(']C10109501101530004' || '10B-0425', 'GS-DC', 1);
SELECT erp.receive('(01)09501101530003(17)270631(10)B-0425', 'GS-DC', 1);
SELECT erp.receive(']C10109501101530003' || '10B-0425', 'GS-DC', 1, lot => 'B-0999');
SELECT count(*) AS moves FROM erp.stock_move;

-- A delivery against a purchase order, line by line as scanned.
SELECT erp.create_po('GS-DAIRY', 'GS-DC', '[{"sku": "YOG-STRAW", "qty": 48}, {"sku": "SPOON-100", "qty": 10}]',
                     now() + interval '2 days') AS po \gset
SELECT erp.receive_po(:po, '[{"scan": "(01)09501101530003(17)280115(10)B-0501", "qty": 48},
                             {"scan": "(01)04006381333931", "qty": 10}]');
SELECT sku, l.lot_code, l.expires_on, b.qty
  FROM erp.stock_balance b JOIN erp.item USING (item_id) LEFT JOIN erp.lot l USING (item_id, lot_id)
 ORDER BY sku, l.lot_code;
SELECT status FROM erp.purchase_order WHERE purchase_order_id = :po;

-- The parser fuzzed: every scan parsed or refused with IE004, no violation.
\set ECHO none
\o /dev/null
\i test/fuzz/gs1_fuzz.sql
\o
\set ECHO all
SELECT count(*) FILTER (WHERE outcome LIKE 'VIOLATION%') AS violations,
       bool_and(calls > 0) FILTER (WHERE outcome IN ('parsed', 'refused IE004', 'received', 'receipt refused')) AS every_outcome_seen,
       count(*) FILTER (WHERE outcome IN ('parsed', 'refused IE004', 'received', 'receipt refused')) AS outcomes
  FROM gs1fuzz.run(2000, 127, 0.5);
SELECT erp.verify();
SET client_min_messages = warning;
DROP SCHEMA gs1fuzz CASCADE;
