-- 36_gs1.sql (issue 11, deliverable 4): GS1 element strings at receipt.
-- erp.parse_gs1 reads every form a scanner or a person sends; every malformed
-- kind is refused with IE004 and a reason; erp.receive and erp.receive_po take
-- the item, lot and expiry from a scan, and a refused scan changes nothing.
BEGIN;
SELECT plan(63);

-- the SQLSTATE and the reason (DETAIL) of a refused parse, or 'parsed'
CREATE FUNCTION pg_temp.gs1_why(scan text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    PERFORM * FROM erp.parse_gs1(scan);
    RETURN 'parsed';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || d;
END
$$;

-- the year a two-digit YY means today by the GS1 century rule (-49 .. +50)
CREATE FUNCTION pg_temp.gs1_year(yy int) RETURNS int LANGUAGE sql AS $$
    SELECT y FROM pg_catalog.generate_series(
        pg_catalog.date_part('year', current_date)::int - 49,
        pg_catalog.date_part('year', current_date)::int + 50) AS y
     WHERE y % 100 = yy
$$;

SELECT ok(has_function_privilege('erp_reader', 'erp.parse_gs1(text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.parse_gs1(text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'erp.parse_gs1(text)', 'EXECUTE'),
          'readers and operators may parse scans (apps), the public may not');
SELECT is((SELECT provolatile::text || proparallel::text || proisstrict::text FROM pg_proc
            WHERE oid = 'erp.parse_gs1(text)'::regprocedure), 'sstrue',
          'erp.parse_gs1 is STABLE (the century rule reads the date), PARALLEL SAFE and STRICT');

-- parsing: every form
SELECT results_eq(
    $$SELECT gtin::text, lot, expires_on, best_before, serial, count
        FROM erp.parse_gs1(E']C10109501101530003172712311012AB\u001d21S-9')$$,
    format($$VALUES ('09501101530003', '12AB', %L::date, NULL::date, 'S-9', NULL::bigint)$$,
           make_date(pg_temp.gs1_year(27), 12, 31)),
    'GS1-128 with symbology identifier: GTIN, expiry, lot ended by GS, serial ended by the end');
SELECT results_eq(
    $$SELECT gtin::text, lot, expires_on, best_before, serial, count
        FROM erp.parse_gs1(E']d2\u001d0104006381333931152702003012\u001d10ABC-1/2')$$,
    format($$VALUES ('04006381333931', 'ABC-1/2', NULL::date, %L::date, NULL::text, 12::bigint)$$,
           make_date(pg_temp.gs1_year(27), 2, 28)),
    'DataMatrix with a leading FNC1 as GS: best before day 00 is the last day of the month, count ended by GS');
SELECT results_eq(
    $$SELECT gtin::text, lot, expires_on, count FROM erp.parse_gs1(E']Q30112345678901231\u001d37500\u001d')$$,
    $$VALUES ('12345678901231', NULL::text, NULL::date, 500::bigint)$$,
    'QR with GS after a fixed-length field and a trailing GS');
SELECT results_eq(
    $$SELECT gtin::text, lot, expires_on FROM erp.parse_gs1('(01)09501101530003(17)240200(10)AB')$$,
    format($$VALUES ('09501101530003', 'AB', %L::date)$$, make_date(pg_temp.gs1_year(24), 2, 29)),
    'human-readable form: day 00 of February in a leap year is the 29th');
SELECT results_eq(
    $$SELECT lot, serial FROM erp.parse_gs1(E']C110!"%&''*+,-./:;<=>?_z\u001d2112345678901234567890')$$,
    $$VALUES ('!"%&''*+,-./:;<=>?_z', '12345678901234567890')$$,
    'a lot of character set 82 punctuation and a serial of exactly 20 characters');
SELECT is((SELECT expires_on FROM erp.parse_gs1(']C117' || to_char(make_date(pg_temp.gs1_year(99), 1, 1), 'YYMMDD'))),
          make_date(pg_temp.gs1_year(99), 1, 1),
          'YY 99 is read by the century rule (within -49..+50 of this year)');

-- parsing: every malformed kind, with its reason
SELECT is(pg_temp.gs1_why(']C10109501101530004'),
          'IE004: AI (01) GTIN 09501101530004 has check digit 4; the GS1 check digit of its first 13 digits is 3.',
          'a bad check digit is refused, naming the right one');
SELECT is(pg_temp.gs1_why(']C10100000000000000'),
          'IE004: AI (01) GTIN is all zeros, which GS1 never assigns.', 'an all-zero GTIN is refused');
SELECT is(pg_temp.gs1_why(']C1172713321012'),
          'IE004: AI (17) date 271332 has month 13, which does not exist.', 'month 13 is refused');
SELECT is(pg_temp.gs1_why('(15)270231'),
          format('IE004: AI (15) date 270231 has day 31; %s-02 has 28 days.', pg_temp.gs1_year(27)),
          'February 31st is refused');
SELECT is(pg_temp.gs1_why(']C110123456789012345678901'),
          'IE004: AI (10) has more than 20 characters; it takes at most 20.', 'a lot of 21 characters is refused');
SELECT is(pg_temp.gs1_why('(21)123456789012345678901'),
          'IE004: AI (21) has more than 20 characters; it takes at most 20.', 'a printed serial of 21 characters is refused');
SELECT is(pg_temp.gs1_why(']C1305000000000'),
          'IE004: AI (30) has more than 8 characters; it takes at most 8.', 'a count of 9 digits is refused');
SELECT is(pg_temp.gs1_why(']C1992345'),
          'IE004: Application identifier starting "99" at position 4 is not supported; inventory_erp reads 01, 10, 15, 17, 21, 30 and 37.',
          'an unknown AI is refused by name, its length never guessed');
SELECT is(pg_temp.gs1_why('(01)09501101530003(3103)000500'),
          'IE004: Application identifier (3103) is not supported; inventory_erp reads 01, 10, 15, 17, 21, 30 and 37.',
          'an unknown printed AI is named in full');
SELECT is(pg_temp.gs1_why(']C101095011015300'),
          'IE004: AI (01) has 12 characters; it takes exactly 14.', 'a truncated GTIN is refused');
SELECT is(pg_temp.gs1_why(E']C10109501101530003172712\u001d10AB'),
          'IE004: AI (17) has 4 characters; it takes exactly 6.', 'a date cut by GS is refused');
SELECT is(pg_temp.gs1_why('(17)2712311(10)AB'),
          'IE004: AI (17) has more than 6 characters; it takes exactly 6.', 'a printed date too long is refused');
SELECT is(pg_temp.gs1_why(E']C110AB\u001d10CD'),
          'IE004: AI (10) appears more than once.', 'a repeated AI is refused');
SELECT is(pg_temp.gs1_why(E']C1301\u001d372'),
          'IE004: AI (30) and AI (37) both give a count; a scan carries one.', 'two counts are refused');
SELECT is(pg_temp.gs1_why(E']C110AB CD'),
          'IE004: AI (10) has byte 0x20 at position 3, which is not in GS1''s character set 82.',
          'a space in a lot is refused');
SELECT is(pg_temp.gs1_why(E']C110AB\u001d\u001d10CD'),
          'IE004: Position 9 does not start with an application identifier (two digits).',
          'two separators in a row are refused');
SELECT is(pg_temp.gs1_why(']C117ABCDEF'),
          'IE004: AI (17) has byte 0x41 at position 1 where a digit belongs.', 'letters in a date are refused');
SELECT is(pg_temp.gs1_why(']C110'), 'IE004: AI (10) is empty.', 'an empty lot is refused');
SELECT is(pg_temp.gs1_why(']d2'),
          'IE004: The element string has no application identifier after its symbology identifier "]d2".',
          'a symbology identifier alone is refused');
SELECT is(pg_temp.gs1_why('(1)AB'),
          'IE004: The application identifier at position 1 is not 2 to 4 digits between parentheses.',
          'a printed AI of one digit is refused');
SELECT is(pg_temp.gs1_why(']C1' || repeat('é€', 50)),
          'IE004: Position 4 does not start with an application identifier (two digits).',
          'multibyte garbage after a marker is refused');
SELECT is(pg_temp.gs1_why(']C110' || repeat('A', 10000)),
          'IE004: AI (10) has more than 20 characters; it takes at most 20.', 'a 10 kB scan is refused');
SELECT throws_like($$SELECT * FROM erp.parse_gs1(']C110' || repeat('A', 10000))$$,
                   'malformed GS1 element string "]C110AAAA%..."',
                   'the message quotes a 10 kB scan cut short');
SELECT throws_ok($$SELECT * FROM erp.parse_gs1(E']C110AB\u001d10CD')$$, 'IE004',
                 'malformed GS1 element string "]C110AB<GS>10CD"', 'the message shows the separator as <GS>');
SELECT is((SELECT count(*) FROM erp.parse_gs1(NULL)), 0::bigint, 'a NULL scan gives no row');
SELECT is(pg_temp.gs1_why('TEE-BLK-M'),
          'IE004: A GS1 element string starts with a symbology identifier (]C1, ]d2 or ]Q3) or, printed, with "(" and an application identifier.',
          'a plain sku is not GS1 for erp.parse_gs1');

-- receipts by scan
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('GS36-MILK', 1, 2, true, '09501101530003'), ('GS36-OIL', 3, 5, true, '12345678901231');
INSERT INTO erp.item (sku, unit_cost, unit_price, gtin) VALUES ('GS36-TEE', 4, 9, '04006381333931');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('(10)ODD', 1, 2);
INSERT INTO erp.node (code, kind) VALUES ('GS36-DC', 'warehouse');
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('GS36-ACME', 5);

-- everything a receipt writes: moves, lots, units, purchase order lines and statuses
CREATE FUNCTION pg_temp.gs36_state() RETURNS text LANGUAGE sql AS $$
    SELECT format('moves %s, lots %s, units %s, po lines %s, po %s',
        (SELECT count(*) FROM erp.stock_move),
        (SELECT string_agg(lot_code || '@' || coalesce(expires_on::text, '-'), ',' ORDER BY lot_code) FROM erp.lot),
        (SELECT string_agg(state || ':' || qty, ',' ORDER BY state) FROM
            (SELECT state::text, sum(qty) AS qty FROM erp.stock_balance GROUP BY state) b),
        (SELECT string_agg(qty_received::text, ',' ORDER BY purchase_order_line_id) FROM erp.purchase_order_line),
        (SELECT string_agg(status::text, ',' ORDER BY purchase_order_id) FROM erp.purchase_order))
$$;
-- the units of sku in lot (NULL: no lot) at GS36-DC, available
CREATE FUNCTION pg_temp.gs36_units(sku text, lot text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
      LEFT JOIN erp.lot l ON l.item_id = b.item_id AND l.lot_id = b.lot_id
     WHERE i.sku = $1 AND b.state = 'available' AND l.lot_code IS NOT DISTINCT FROM $2
$$;

SELECT lives_ok($$SELECT erp.receive(E']C10109501101530003172712311012AB\u001d', 'GS36-DC', 5)$$,
                'erp.receive takes a GS1-128 scan in place of the sku');
SELECT results_eq($$SELECT lot_code, expires_on FROM erp.lot JOIN erp.item USING (item_id) WHERE sku = 'GS36-MILK'$$,
                  format($$VALUES ('12AB', %L::date)$$, make_date(pg_temp.gs1_year(27), 12, 31)),
                  'the lot and its expiry come from AI 10 and AI 17');
SELECT lives_ok($$SELECT erp.receive('(01)09501101530003(15)280100(10)L2', 'GS36-DC', 3, lot => 'L2')$$,
                'a printed scan with best before and the same lot given as well is received');
SELECT results_eq($$SELECT expires_on FROM erp.lot WHERE lot_code = 'L2'$$,
                  format($$VALUES (%L::date)$$, make_date(pg_temp.gs1_year(28), 1, 31)),
                  'without AI 17 the expiry is the best before date (day 00: the last of the month)');
SELECT lives_ok($$SELECT erp.receive(']d20104006381333931' || '10ANY', 'GS36-DC', 4)$$,
                'an item not tracked by lot is received from a label that carries a lot');
SELECT lives_ok($$SELECT erp.receive('GS36-TEE', 'GS36-DC', 1)$$, 'a plain sku is received as before');
SELECT lives_ok($$SELECT erp.receive('(10)ODD', 'GS36-DC', 2)$$, 'a sku that looks like GS1 is still that sku');
SELECT is(format('%s %s %s %s', pg_temp.gs36_units('GS36-MILK', '12AB'), pg_temp.gs36_units('GS36-MILK', 'L2'),
                 pg_temp.gs36_units('GS36-TEE', NULL), pg_temp.gs36_units('(10)ODD', NULL)),
          '5 3 5 2', 'the units are where the scans said, and the tee has no lot');

-- refused receipts change nothing
SELECT pg_temp.gs36_state() AS before \gset
SELECT throws_ok($$SELECT erp.receive(']C10109501101530003' || '10L1', 'GS36-DC', 1, lot => 'L9')$$, 'IE004',
                 'lot "L9" disagrees with the lot "L1" of scan "]C1010950110153000310L1"',
                 'a lot argument that disagrees with the scan is refused, naming both');
SELECT throws_ok($$SELECT erp.receive(']C1010950110153000317271231' || '10L1', 'GS36-DC', 1, expires_on => '2030-01-01')$$,
                 'IE004', format('expiry date "2030-01-01" disagrees with the expiry date "%s" of scan "]C1010950110153000317271231' || '10L1"',
                                 make_date(pg_temp.gs1_year(27), 12, 31)),
                 'an expiry argument that disagrees with the scan is refused, naming both');
SELECT throws_ok($$SELECT erp.receive(']C10100614141000012' || '10L1', 'GS36-DC', 1)$$, 'IE003',
                 'no item has GTIN 00614141000012 (scan "]C1010061414100001210L1")', 'a GTIN that is no item is IE003');
SELECT throws_ok($$SELECT erp.receive(']C10109501101530004' || '10L1', 'GS36-DC', 1)$$, 'IE004',
                 'malformed GS1 element string "]C1010950110153000410L1"', 'a bad check digit at receipt is IE004');
SELECT throws_ok($$SELECT erp.receive(']C110L1', 'GS36-DC', 1)$$, 'IE004',
                 'scan "]C110L1" carries no GTIN', 'a scan without a GTIN cannot name the item');
SELECT throws_ok($$SELECT erp.receive(']C10109501101530003', 'GS36-DC', 1)$$, 'IE003',
                 'sku "GS36-MILK" is lot-tracked: a lot is required', 'a lot-tracked item scanned without a lot still needs one');
SELECT throws_ok($$SELECT erp.receive(']C110' || repeat('A', 10000), 'GS36-DC', 1)$$, 'IE004', NULL,
                 'a 10 kB scan at receipt is IE004');
SELECT throws_ok($$SELECT erp.receive(E']C1\u001d\u001d', 'GS36-DC', 1)$$, 'IE004', NULL,
                 'garbage after the marker at receipt is IE004');
SELECT is(pg_temp.gs36_state(), :'before', 'the refused receipts changed nothing');

-- receive_po with scan lines
SELECT erp.create_po('GS36-ACME', 'GS36-DC', '[{"sku": "GS36-OIL", "qty": 10}, {"sku": "GS36-TEE", "qty": 5}]',
                     now() + interval '1 day') AS po \gset
SELECT lives_ok(format($$SELECT erp.receive_po(%s, jsonb_build_array(
                    jsonb_build_object('scan', E']Q3011234567890123117300600\u001d10B7', 'qty', 4),
                    jsonb_build_object('scan', '(01)04006381333931', 'qty', 2),
                    jsonb_build_object('scan', '(01)12345678901231(10)B8', 'qty', 1, 'sku', 'GS36-OIL',
                                       'expires_on', '2031-01-01')))$$, :po),
                'erp.receive_po takes scan lines (with sku and expiry given as well when they agree)');
SELECT results_eq($$SELECT lot_code, expires_on FROM erp.lot JOIN erp.item USING (item_id) WHERE sku = 'GS36-OIL' ORDER BY 1$$,
                  format($$VALUES ('B7', %L::date), ('B8', '2031-01-01'::date)$$, make_date(pg_temp.gs1_year(30), 6, 30)),
                  'the lots of the purchase order come from the scans (and the expiry argument when the scan has none)');
SELECT results_eq(format($$SELECT qty_received FROM erp.purchase_order_line WHERE purchase_order_id = %s ORDER BY line_no$$, :po),
                  $$VALUES (5::bigint), (2::bigint)$$, 'the purchase order lines count the scanned units');
SELECT is(format('%s %s', pg_temp.gs36_units('GS36-OIL', 'B7'), pg_temp.gs36_units('GS36-TEE', NULL)),
          '4 7', 'the scanned units are available');

SELECT pg_temp.gs36_state() AS before \gset
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)12345678901231(10)B7", "qty": 1, "lot": "B9"}]')$$, :po),
                 'IE004', 'lot "B9" disagrees with the lot "B7" of scan "(01)12345678901231(10)B7"',
                 'a scan line with another lot is refused');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)12345678901231(10)B7", "qty": 1, "sku": "GS36-TEE"}]')$$, :po),
                 'IE004', 'sku "GS36-TEE" disagrees with the sku "GS36-OIL" of scan "(01)12345678901231(10)B7"',
                 'a scan line with another sku is refused');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "GS36-OIL", "qty": 1}]')$$, :po),
                 'IE004', 'scan "GS36-OIL" is not a GS1 element string', 'a scan line must be GS1');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)09501101530003(10)B7", "qty": 1}]')$$, :po),
                 'IE003', format('sku "GS36-MILK" is not on purchase order %s', :po), 'a scanned item not on the order is refused');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)00614141000012(10)B7", "qty": 1}]')$$, :po),
                 'IE003', NULL, 'a scanned GTIN that is no item is refused');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "GS36-TEE", "qty": 1}, {"scan": "(01)12345678901231(17)271332(10)B7", "qty": 1}]')$$, :po),
                 'IE004', 'malformed GS1 element string "(01)12345678901231(17)271332(10)B7"',
                 'a malformed scan on the second line refuses the whole receipt');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"scan": "(01)12345678901231(10)B7", "qty": 9}]')$$, :po),
                 'IE004', NULL, 'a scan line over what is due is refused as any line');
SELECT is(pg_temp.gs36_state(), :'before', 'the refused purchase order receipts changed nothing');
SELECT * FROM finish();
ROLLBACK;
