-- 36_gs1.sql (issue 11, deliverable 4): GS1 element strings at receipt.
-- erp.parse_gs1 reads every form a scanner or a person sends; every malformed
-- kind is refused with IE004 and a reason; erp.receive and erp.receive_po take
-- the item, lot and expiry from a scan, and a refused scan changes nothing.
BEGIN;
SELECT plan(31);

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
SELECT is(pg_temp.gs1_why('TEE-BLK-M'),
          'IE004: A GS1 element string starts with a symbology identifier (]C1, ]d2 or ]Q3) or, printed, with "(" and an application identifier.',
          'a plain sku is not GS1 for erp.parse_gs1');
SELECT * FROM finish();
ROLLBACK;
