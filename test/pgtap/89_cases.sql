-- 89_cases.sql: counts per bin and receiving / counting in cases (issue 16,
-- doc/warehouse.md).  erp.count_bin counts the available units of one bin and
-- adjusts the variance in that bin (at once, or after an approver); a bin that
-- a short pick flagged leaves erp.bin_count_worklist when it is counted.  A
-- pack's GTIN or a uom makes a count or a receipt line count packs; every
-- refusal has its SQLSTATE and changes nothing.
BEGIN;
SELECT plan(93);

INSERT INTO erp.node (code, kind) VALUES ('TAP89-DC', 'warehouse'), ('TAP89-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP89-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP89-WEB' AND n.code = 'TAP89-DC';
INSERT INTO erp.supplier (code, name) VALUES ('TAP89-ACME', 'tap supplier');
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, gtin) VALUES
    ('TAP89-SOAP', 'soap', 'home', 1, 2, '4006381333931'),
    ('TAP89-TEA', 'tea', 'home', 1, 2, '5901234123464'),
    ('TAP89-GOLD', 'gold bar', 'home', 500, 900, NULL);
INSERT INTO erp.item_uom (item_id, uom, units, gtin)
SELECT i.item_id, v.uom, v.units, v.gtin::erp.gtin
  FROM erp.item i, (VALUES ('TAP89-SOAP', 'inner', 6, '14006381333938'), ('TAP89-SOAP', 'case', 24, '24006381333935'),
                           ('TAP89-TEA', 'case', 10, '35901234123465')) v(sku, uom, units, gtin)
 WHERE i.sku = v.sku;
INSERT INTO erp.bin (node_id, code, zone, pick_sequence, active)
SELECT n.node_id, v.code, 'home', v.seq, v.active
  FROM erp.node n, (VALUES ('A-01', 10, true), ('A-02', 20, true), ('X-OLD', 1, false)) AS v(code, seq, active)
 WHERE n.code = 'TAP89-DC';
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT node_id, 'S-01', 'home', 1 FROM erp.node WHERE code = 'TAP89-ST';
SELECT erp.receive('TAP89-SOAP', 'TAP89-DC', 100);
SELECT erp.receive('TAP89-GOLD', 'TAP89-DC', 5);
SELECT erp.putaway('TAP89-SOAP', 'TAP89-DC', 'A-01', 30);
SELECT erp.putaway('TAP89-SOAP', 'TAP89-DC', 'A-02', 20);
SELECT erp.putaway('TAP89-GOLD', 'TAP89-DC', 'A-01', 5);
CREATE ROLE tap89_counter;
CREATE ROLE tap89_approver;
CREATE ROLE tap89_partner;
GRANT erp_operator, erp_reader TO tap89_counter, tap89_partner;
GRANT erp_operator, erp_approver, erp_reader TO tap89_approver;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap89_partner', node_id FROM erp.node WHERE code = 'TAP89-ST';

-- available units of sku at the DC per bin: "bin=qty ..." (outside bins as "-")
CREATE FUNCTION pg_temp.bins(p_sku text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s=%s', coalesce(b.code, '-'), q.qty), ' ' ORDER BY coalesce(b.code, '-'))
      FROM (SELECT s.bin_id, sum(s.available) AS qty FROM erp.stock_slot s
             WHERE s.item_id = (SELECT item_id FROM erp.item WHERE sku = p_sku)
               AND s.node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP89-DC')
             GROUP BY 1 HAVING sum(s.available) <> 0) q
      LEFT JOIN erp.bin b ON b.bin_id = q.bin_id
$$;
-- everything a count or a receipt could change
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s|m%s c%s a%s|po%s', pg_temp.bins('TAP89-SOAP'), pg_temp.bins('TAP89-GOLD'),
                  pg_temp.bins('TAP89-TEA'), (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.cycle_count),
                  (SELECT count(*) FROM erp.adjustment),
                  (SELECT coalesce(sum(l.qty_received), 0) FROM erp.purchase_order_line l
                     JOIN erp.purchase_order p ON p.purchase_order_id = l.purchase_order_id
                     JOIN erp.supplier s ON s.supplier_id = p.supplier_id WHERE s.code = 'TAP89-ACME'))
$$;
GRANT EXECUTE ON FUNCTION pg_temp.bins(text), pg_temp.books() TO PUBLIC;
-- the last cycle count: "bin system counted variance adjustment-status"
CREATE FUNCTION pg_temp.last_count() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s %s %s %s %s', coalesce(b.code, '-'), c.system_qty, c.counted_qty, c.variance, coalesce(a.status::text, '-'))
      FROM erp.cycle_count c LEFT JOIN erp.bin b ON b.bin_id = c.bin_id
      LEFT JOIN erp.adjustment a ON a.item_id = c.item_id AND a.adjustment_id = c.adjustment_id
     ORDER BY c.cycle_count_id DESC LIMIT 1
$$;

SELECT is(pg_temp.bins('TAP89-SOAP'), '-=50 A-01=30 A-02=20', 'setup: 50 soaps outside bins, 30 in A-01, 20 in A-02');

-- Counts per bin -------------------------------------------------------------------------

SELECT ok(erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 27) > 0, 'a count of bin A-01 returns the cycle count id');
SELECT is(pg_temp.last_count(), 'A-01 30 27 -3 applied', 'the count names bin A-01: the books said 30, 27 found, 3 written off at once');
SELECT is(pg_temp.bins('TAP89-SOAP'), '-=50 A-01=27 A-02=20', 'the 3 left bin A-01; the stock outside bins and A-02 are untouched');
SELECT is((SELECT format('%s %s>%s %s %s', m.event, m.from_state, coalesce(m.to_state::text, 'outside'),
                         (SELECT code FROM erp.bin WHERE bin_id = m.from_bin_id), m.qty)
             FROM erp.stock_move m WHERE m.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP89-SOAP')
            ORDER BY m.move_id DESC LIMIT 1),
    'adjust available>outside A-01 3', 'the ledger row of the write-off names the bin it left');
SELECT is((SELECT (SELECT code FROM erp.bin WHERE bin_id = a.bin_id) FROM erp.adjustment a
            WHERE a.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP89-SOAP') ORDER BY a.adjustment_id DESC LIMIT 1),
    'A-01', 'the adjustment records its bin');
SELECT is((SELECT available FROM erp.availability WHERE sku = 'TAP89-SOAP' AND node = 'TAP89-DC'), 97::bigint,
    'the node''s balance is the sum over its bins: 97');

SELECT ok(erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-02', 1, uom => 'case') > 0, 'bin A-02 counted in cases: one case');
SELECT is(pg_temp.last_count(), 'A-02 20 24 4 applied', 'one case is 24 units: 4 found in A-02');
SELECT ok(erp.count_bin('24006381333935', 'TAP89-DC', 'A-02', 1) > 0, 'A-02 counted by scanning the case''s GTIN');
SELECT is(pg_temp.last_count(), 'A-02 24 24 0 -', 'the case GTIN counts as its 24 units: no variance, no adjustment');
SELECT ok(erp.count_bin('14006381333938', 'TAP89-DC', 'A-02', 4, uom => 'inner') > 0, 'four inners, by the inner''s GTIN and uom');
SELECT is(pg_temp.last_count(), 'A-02 24 24 0 -', 'four inners of 6 are 24 units');
SELECT ok(erp.count('24006381333935', 'TAP89-DC', 2) > 0, 'erp.count of the stock outside bins by the case GTIN');
SELECT is(pg_temp.last_count(), '- 50 48 -2 applied', 'two cases are 48: 2 written off outside bins (the count names no bin)');
SELECT is(pg_temp.bins('TAP89-SOAP'), '-=48 A-01=27 A-02=24', 'each count moved its own bin only');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty: bins agree with the ledger');

-- a lot-tracked item is counted per lot in the bin
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked) VALUES ('TAP89-VIT', 'vitamins', 'home', 1, 2, true);
SELECT erp.receive('TAP89-VIT', 'TAP89-DC', 10, lot => 'L1', expires_on => '2030-01-31');
SELECT erp.receive('TAP89-VIT', 'TAP89-DC', 4, lot => 'L2', expires_on => '2030-06-30');
SELECT erp.putaway('TAP89-VIT', 'TAP89-DC', 'A-02', 10, lot => 'L1');
SELECT erp.putaway('TAP89-VIT', 'TAP89-DC', 'A-02', 4, lot => 'L2');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-VIT', 'TAP89-DC', 'A-02', 8)$$, 'IE003', NULL,
    'a lot-tracked item''s bin count names its lot (IE003)');
SELECT ok(erp.count_bin('TAP89-VIT', 'TAP89-DC', 'A-02', 8, lot => 'L1') > 0, 'lot L1 counted in A-02');
SELECT is(pg_temp.last_count(), 'A-02 10 8 -2 applied', 'the books said 10 of lot L1 in A-02 (the 4 of L2 are not counted): 2 written off');
SELECT is((SELECT string_agg(format('%s:%s=%s', l.lot_code, s.bin, s.qty), ' ' ORDER BY l.lot_code) FROM erp.bin_stock s
             JOIN erp.lot l ON l.lot_id = s.lot_id WHERE s.sku = 'TAP89-VIT' AND s.state = 'available'),
    'L1:A-02=8 L2:A-02=4', 'lot L1 in A-02 lost 2 units, lot L2 none');

-- A variance above the threshold waits, and its approval corrects the bin --------------------

SET ROLE tap89_counter;
SELECT ok(erp.count_bin('TAP89-GOLD', 'TAP89-DC', 'A-01', 3) > 0, 'two gold bars missing in A-01 (worth 1000.00)');
RESET ROLE;
SELECT is(pg_temp.last_count(), 'A-01 5 3 -2 pending_approval', 'above the 100.00 threshold: the adjustment waits');
SELECT is(pg_temp.bins('TAP89-GOLD'), 'A-01=5', 'nothing written off before the approval');
SET ROLE tap89_counter;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT max(adjustment_id) FROM erp.adjustment)), 'IE009', NULL,
    'the counter is no approver (IE009)');
RESET ROLE;
SET ROLE tap89_approver;
SELECT lives_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT max(adjustment_id) FROM erp.adjustment)),
    'another person approves');
RESET ROLE;
SELECT is(pg_temp.bins('TAP89-GOLD'), 'A-01=3', 'the approval wrote the 2 bars off in bin A-01, the bin counted');
SELECT is((SELECT (SELECT code FROM erp.bin WHERE bin_id = m.from_bin_id) || ' ' || m.qty FROM erp.stock_move m
            WHERE m.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP89-GOLD') ORDER BY m.move_id DESC LIMIT 1),
    'A-01 2', 'the approval''s ledger row names bin A-01');

-- the bin emptied before the approval: the write-off from it is refused (IE001), nothing changes
SET ROLE tap89_counter;
SELECT ok(erp.count_bin('TAP89-GOLD', 'TAP89-DC', 'A-01', 1) > 0, 'A-01 counted again: 1 bar of 3 (waits: 1000.00)');
RESET ROLE;
SELECT erp.bin_move('TAP89-GOLD', 'TAP89-DC', 'A-01', 'A-02', 3);
CREATE TEMP TABLE gold89 AS SELECT pg_temp.bins('TAP89-GOLD') AS b, (SELECT count(*) FROM erp.stock_move) AS moves,
                                   (SELECT max(adjustment_id) FROM erp.adjustment) AS adj;
GRANT SELECT ON gold89 TO PUBLIC;
SET ROLE tap89_approver;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', (SELECT adj FROM gold89)), 'IE001', NULL,
    'the 3 bars left A-01 for A-02 before the approval: writing 2 off from A-01 is refused (IE001)');
RESET ROLE;
SELECT is(format('%s|%s|%s', pg_temp.bins('TAP89-GOLD'), (SELECT count(*) FROM erp.stock_move),
                 (SELECT status FROM erp.adjustment WHERE adjustment_id = (SELECT adj FROM gold89))),
          (SELECT format('%s|%s|pending_approval', b, moves) FROM gold89),
    'the refused approval changed nothing: the bars stay in A-02, the adjustment still waits');

-- A short pick flags the bin; a count of it clears the flag ---------------------------------

CREATE TEMP TABLE o89 AS SELECT erp.capture_order('TAP89-WEB', 'TAP89-1', '[{"sku": "TAP89-SOAP", "qty": 30}]') AS order_id;
SELECT is((SELECT sum(qty) FROM erp.allocate((SELECT order_id FROM o89))), 30::numeric, '30 soaps allocated');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 30, %L)', (SELECT order_id FROM o89), 'TAP89-SOAP', 'A-02'), 'IE007',
    format('bin "A-02" at node "TAP89-DC" holds 24 units of sku "TAP89-SOAP", 30 picked for order %s', (SELECT order_id FROM o89)),
    'A-02 holds 24: a pick of 30 there is short (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 28, %L)', (SELECT order_id FROM o89), 'TAP89-SOAP', 'A-01'), 'IE007',
    NULL, 'A-01 holds 27: short too');
SELECT is((SELECT string_agg(format('%s %s %s %s', node, bin, sku, flags), ', ' ORDER BY bin) FROM erp.bin_count_worklist
            WHERE node = 'TAP89-DC'),
    'TAP89-DC A-01 TAP89-SOAP 1, TAP89-DC A-02 TAP89-SOAP 1', 'both short bins are on the count worklist');
SELECT is((SELECT order_ids FROM erp.bin_count_worklist WHERE node = 'TAP89-DC' AND bin = 'A-02'),
    ARRAY[(SELECT order_id FROM o89)], 'the worklist names the order that found the bin short');
SELECT ok(erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-02', 24) > 0, 'A-02 counted: 24, as the books say');
SELECT is((SELECT string_agg(bin, ', ') FROM erp.bin_count_worklist WHERE node = 'TAP89-DC'), 'A-01',
    'the count of A-02 satisfied its flag; A-01 still waits');
SELECT ok(erp.count_bin('TAP89-TEA', 'TAP89-DC', 'A-01', 0) > 0, 'a count of another sku in A-01');
SELECT is((SELECT string_agg(bin, ', ') FROM erp.bin_count_worklist WHERE node = 'TAP89-DC'), 'A-01',
    'a count of another sku does not satisfy the soap''s flag');
SELECT ok(erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 25) > 0, 'A-01 counted: 25 soaps');
SELECT is_empty($$SELECT 1 FROM erp.bin_count_worklist WHERE node = 'TAP89-DC'$$, 'the worklist is empty');
SELECT is(pg_temp.bins('TAP89-SOAP'), '-=18 A-01=25 A-02=24',
    'A-01 lost 2 available units; the 30 reserved for the order are outside bins (48 - 30 = 18 available)');
SET ROLE tap89_partner;
SELECT is_empty($$SELECT 1 FROM erp.bin_count_worklist$$, 'a partner sees no worklist of another node');
RESET ROLE;

-- Refused counts change nothing ------------------------------------------------------------

CREATE TEMP TABLE before89 AS SELECT pg_temp.books() AS b;
GRANT SELECT ON before89 TO PUBLIC;
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'NOPE', 1)$$, 'IE003',
    'unknown bin "NOPE" at node "TAP89-DC"', 'an unknown bin (IE003)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'S-01', 1)$$, 'IE003',
    'unknown bin "S-01" at node "TAP89-DC"', 'a bin of another node is unknown at this one (IE003)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', NULL, 1)$$, 'IE004', 'no bin given for the count',
    'no bin (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'X-OLD', 5)$$, 'IE010',
    'bin "X-OLD" at node "TAP89-DC" is inactive', 'units found in an inactive bin cannot be added to it (IE010)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 1000000000, uom => 'case')$$, 'IE004',
    'a count of 1000000000 packs of 24 units of sku "TAP89-SOAP" is too many units', 'a billion cases overflow one move (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 9223372036854775807, uom => 'case')$$, 'IE004',
    NULL, 'the largest bigint of cases (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', -1)$$, 'IE004', NULL, 'a negative count (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 1, uom => 'pallet')$$, 'IE003',
    'unknown unit of measure "pallet" of sku "TAP89-SOAP"', 'a pack the item has not (IE003)');
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 1, uom => repeat('c', 65))$$, 'IE004', NULL,
    'an over-long uom (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('24006381333935', 'TAP89-DC', 'A-01', 1, uom => 'inner')$$, 'IE004',
    'the GTIN counted is a pack of 24 units of sku "TAP89-SOAP", but uom "inner" holds 6', 'a case GTIN counted as inners (IE004)');
SELECT throws_ok($$SELECT erp.count_bin('240063813339350000001', 'TAP89-DC', 'A-01', 1)$$, 'IE003', NULL,
    'a 21-digit code is no sku and no GTIN (IE003)');
SELECT throws_ok(format('SELECT erp.count_bin(%L, %L, %L, 1)', repeat('2', 65), 'TAP89-DC', 'A-01'), 'IE004', NULL,
    'a 65-byte sku or GTIN (IE004)');
SET ROLE tap89_partner;
SELECT throws_ok($$SELECT erp.count_bin('TAP89-SOAP', 'TAP89-DC', 'A-01', 1)$$, 'IE009', NULL,
    'a partner counting at another node (IE009)');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT b FROM before89), 'the refused counts changed nothing');

-- Receiving in cases ------------------------------------------------------------------------

CREATE TEMP TABLE po89 AS SELECT erp.create_po('TAP89-ACME', 'TAP89-DC', '[{"sku": "TAP89-SOAP", "qty": 100}]',
                                               now() + interval '7 days') AS po_id;
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "qty": 3, "uom": "case"}]')$$, (SELECT po_id FROM po89)),
    'three cases received');
SELECT is((SELECT qty_received FROM erp.purchase_order_line WHERE purchase_order_id = (SELECT po_id FROM po89)), 72::bigint,
    'three cases of 24 are 72 units received');
SELECT is(pg_temp.bins('TAP89-SOAP'), '-=90 A-01=25 A-02=24', 'the 72 entered outside bins (18 + 72 = 90)');
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"gtin": "14006381333938", "qty": 2}]')$$, (SELECT po_id FROM po89)),
    'two inners received by their GTIN');
SELECT is((SELECT qty_received FROM erp.purchase_order_line WHERE purchase_order_id = (SELECT po_id FROM po89)), 84::bigint,
    'two inners of 6: 84 units received');

DELETE FROM before89;
INSERT INTO before89 SELECT pg_temp.books();
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "gtin": "35901234123465", "qty": 1}]')$$,
                        (SELECT po_id FROM po89)), 'IE007',
    format('GTIN "35901234123465" is of sku "TAP89-TEA", but the receipt line of purchase order %s names sku "TAP89-SOAP"',
           (SELECT po_id FROM po89)), 'a line whose GTIN is of another item (IE007)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"gtin": "35901234123465", "qty": 1}]')$$, (SELECT po_id FROM po89)),
    'IE003', format('sku "TAP89-TEA" is not on purchase order %s', (SELECT po_id FROM po89)),
    'a case of an item not on the purchase order (IE003)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "qty": 1, "uom": "case"}]')$$, (SELECT po_id FROM po89)),
    'IE004', format('receipt of 24 of sku "TAP89-SOAP" exceeds the 16 still due on purchase order %s', (SELECT po_id FROM po89)),
    'a case of 24 when 16 are due is an over-receipt (IE004)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "qty": 1000000000, "uom": "case"}]')$$,
                        (SELECT po_id FROM po89)), 'IE004',
    'a receipt of 1000000000 packs of 24 units of sku "TAP89-SOAP" is too many units', 'a billion cases (IE004)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"gtin": "24006381333936", "qty": 1}]')$$, (SELECT po_id FROM po89)),
    'IE006', 'invalid GTIN "24006381333936"', 'a GTIN with a wrong check digit (IE006)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"gtin": "%s", "qty": 1}]')$$, (SELECT po_id FROM po89), repeat('9', 70)),
    'IE004', NULL, 'a 70-digit GTIN (IE004)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "qty": 1, "uom": "crate"}]')$$, (SELECT po_id FROM po89)),
    'IE003', 'unknown unit of measure "crate" of sku "TAP89-SOAP"', 'a uom that is no pack of the item (IE003)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"gtin": "24006381333935", "uom": "inner", "qty": 1}]')$$, (SELECT po_id FROM po89)),
    'IE004', NULL, 'a case GTIN with uom inner (IE004)');
SELECT throws_ok($$SELECT erp.receive('24006381333936', 'TAP89-DC', 3)$$, 'IE003', NULL,
    'erp.receive of a case GTIN with a wrong check digit: no such sku (IE003)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)24006381333935", "qty": 1}]')$$, (SELECT po_id FROM po89)),
    'IE004', format('receipt of 24 of sku "TAP89-SOAP" exceeds the 16 still due on purchase order %s', (SELECT po_id FROM po89)),
    'a GS1 scan of the case counts its 24 units: over the 16 due (IE004)');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)24006381333935", "gtin": "14006381333938", "qty": 1}]')$$,
                        (SELECT po_id FROM po89)), 'IE004', NULL, 'a case scanned and an inner''s GTIN on one line (IE004)');
SELECT throws_ok($$SELECT erp.receive('24006381333935', 'TAP89-DC', 50000000)$$, 'IE004', NULL,
    'erp.receive of 50,000,000 cases of 24: beyond the units one move may move (IE004)');
SELECT is(pg_temp.books(), (SELECT b FROM before89), 'the refused receipts changed nothing');
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)14006381333938", "qty": 2}]')$$, (SELECT po_id FROM po89)),
    'two inners received by a GS1 scan of the inner');
SELECT is((SELECT qty_received FROM erp.purchase_order_line WHERE purchase_order_id = (SELECT po_id FROM po89)), 96::bigint,
    'AI 01 of an inner counts its 6 units: 96 received');
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP89-SOAP", "qty": 4, "uom": "each"}]')$$, (SELECT po_id FROM po89)),
    'the last 4 as eaches');
SELECT is((SELECT status::text FROM erp.purchase_order WHERE purchase_order_id = (SELECT po_id FROM po89)), 'received',
    'the purchase order is received: 3 cases, 4 inners and 4 eaches are its 100 units');
-- A wave's pick list names the lot to pick ---------------------------------------------------

SELECT erp.receive('TAP89-VIT', 'TAP89-DC', 10, lot => 'L3', expires_on => '2029-12-31');
CREATE TEMP TABLE o89v AS SELECT erp.capture_order('TAP89-WEB', 'TAP89-V1', '[{"sku": "TAP89-VIT", "qty": 3}]') AS order_id;
SELECT count(*) FROM erp.allocate((SELECT order_id FROM o89v));
CREATE TEMP TABLE w89 AS SELECT erp.create_wave('TAP89-DC') AS wave_id;
SELECT results_eq(format($$SELECT coalesce(bin, '-'), lot, qty, order_ids FROM erp.pick_list(%s) WHERE sku = 'TAP89-VIT'$$,
                         (SELECT wave_id FROM w89)),
    format($$VALUES ('-'::text, 'L3'::text, 3::bigint, ARRAY[%s]::bigint[])$$, (SELECT order_id FROM o89v)),
    'the vitamins are picked from lot L3 outside bins, the lot reserved, not from the L1 and L2 units in A-02 that walk first');
SELECT is((SELECT string_agg(coalesce(bin, '-') || ':' || qty || ':' || coalesce(lot, 'no lot'), ' ' ORDER BY seq)
             FROM erp.pick_list((SELECT wave_id FROM w89)) WHERE sku = 'TAP89-SOAP'),
    'A-01:25:no lot A-02:5:no lot', 'an item without lots has no lot on its rows; its 30 units are walked from the bins first');
-- erp.receive by a pack's GTIN ---------------------------------------------------------------
CREATE TEMP TABLE recv89 AS
SELECT (SELECT coalesce(sum(qty), 0) FROM erp.stock_balance b JOIN erp.item i USING (item_id)
         WHERE i.sku = 'TAP89-SOAP' AND b.state = 'available') AS before_units;
SELECT ok(erp.receive('24006381333935', 'TAP89-DC', 3) > 0, 'erp.receive of a case GTIN typed as its sku');
SELECT ok(erp.receive('(01)24006381333935', 'TAP89-DC', 1) > 0, 'erp.receive of a GS1 scan of the case');
SELECT is((SELECT coalesce(sum(qty), 0) FROM erp.stock_balance b JOIN erp.item i USING (item_id)
            WHERE i.sku = 'TAP89-SOAP' AND b.state = 'available') - (SELECT before_units FROM recv89), 96::numeric,
    '3 + 1 cases of 24 are 96 units received');
SELECT is((SELECT qty FROM erp.stock_move m JOIN erp.item i USING (item_id)
            WHERE i.sku = 'TAP89-SOAP' AND m.event = 'receive' ORDER BY m.move_id DESC LIMIT 1), 24::bigint,
    'the ledger row of the scanned case moves its 24 units');
-- order lines in packs ------------------------------------------------------------------------
CREATE TEMP TABLE ord89 AS SELECT count(*) AS n FROM erp.sales_order;
SELECT throws_ok($$SELECT erp.capture_order('TAP89-WEB', 'TAP89-U0', '[{"sku": "TAP89-SOAP", "qty": 1, "uom": "crate"}]')$$,
    'IE003', 'unknown unit of measure "crate" of sku "TAP89-SOAP"', 'an order line in a uom the item has no pack of (IE003)');
SELECT throws_ok($$SELECT erp.capture_order('TAP89-WEB', 'TAP89-U0', '[{"sku": "TAP89-SOAP", "qty": 50000000, "uom": "case"}]')$$,
    'IE004', NULL, '50,000,000 cases of 24 on a line: beyond a move (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP89-WEB', 'TAP89-U0', '[{"sku": "TAP89-SOAP", "qty": 1, "uom": 12}]')$$,
    'IE004', 'line 1 of order "TAP89-U0": uom is a JSON number', 'a uom that is no string (IE004)');
SELECT is((SELECT count(*) FROM erp.sales_order), (SELECT n FROM ord89), 'the refused orders wrote nothing');
CREATE TEMP TABLE o89u AS
SELECT erp.capture_order('TAP89-WEB', 'TAP89-U1', '[{"sku": "TAP89-SOAP", "qty": 2, "uom": "case"}, {"sku": "TAP89-SOAP", "qty": 3, "uom": "each"}]') AS order_id;
SELECT is((SELECT string_agg(qty::text, ' ' ORDER BY line_no) FROM erp.order_line WHERE order_id = (SELECT order_id FROM o89u)),
    '48 3', 'two cases of 24 are a line of 48 units; 3 eaches are 3');
SELECT is(erp.capture_order('TAP89-WEB', 'TAP89-U1', '[{"sku": "TAP89-SOAP", "qty": 2, "uom": "case"}, {"sku": "TAP89-SOAP", "qty": 3, "uom": "each"}]'),
    (SELECT order_id FROM o89u), 'the redelivered order in cases is the same order');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty at the end');

SELECT * FROM finish();
ROLLBACK;
