-- 02-gtin.sql: the contract of the erp.gtin type (SPEC.md section 3): what it
-- accepts, how it shows values, what it refuses (IE006), its casts, its binary
-- form, and that btree and hash indexes, joins and aggregates treat the same
-- GTIN written in different lengths as one value.
BEGIN;
SELECT plan(54);

-- The operators live in schema erp, like every object of the extension.
SET LOCAL search_path = public, erp;

-- Plans are checked by reading EXPLAIN output.
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END
$$;

-- The type and its functions ---------------------------------------------------

SELECT has_type('erp', 'gtin', 'erp.gtin exists, or no column could hold a barcode');
SELECT has_function('erp', 'gtin_is_valid', ARRAY['text'],
    'erp.gtin_is_valid(text) exists, or scan code could not test a barcode without catching errors');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_cast
                  WHERE castsource = 'text'::regtype AND casttarget = 'erp.gtin'::regtype
                    AND castcontext = 'a' AND castfunc = 'erp.gtin_from_text(text)'::regprocedure),
    'text converts to erp.gtin on assignment through gtin_from_text, or imported codes could not be stored');

-- Accepted forms and canonical output -----------------------------------------

SELECT is('96385074'::erp.gtin::text, '00000096385074',
    'a GTIN-8 is accepted and shown as 14 digits, or small-pack barcodes could not be stored');
SELECT is('036000291452'::erp.gtin::text, '00036000291452',
    'a GTIN-12 (UPC-A) is accepted and shown as 14 digits, or North American barcodes could not be stored');
SELECT is('4006381333931'::erp.gtin::text, '04006381333931',
    'a GTIN-13 (EAN-13) is accepted and shown as 14 digits, or European barcodes could not be stored');
SELECT is('10614141000415'::erp.gtin::text, '10614141000415',
    'a GTIN-14 is accepted unchanged, or case and pallet barcodes could not be stored');
SELECT is(E' \t4006381333931\n '::erp.gtin::text, '04006381333931',
    'whitespace around a GTIN is ignored, or codes pasted from a file with a stray space would be refused');
SELECT is(length('96385074'::erp.gtin::text), 14,
    'output always has exactly 14 digits, or reports and exports would mix lengths for one product');

-- Equality across lengths and ordering -----------------------------------------

SELECT ok('036000291452'::erp.gtin = '0036000291452'::erp.gtin,
    'a UPC-A equals the same number written as EAN-13, or one product could be entered twice');
SELECT ok('036000291452'::erp.gtin = '00036000291452'::erp.gtin,
    'a UPC-A equals the same number written as GTIN-14, or a scan would not find the item');
SELECT ok(NOT ('036000291452'::erp.gtin <> '0036000291452'::erp.gtin),
    '<> is false for the same number in two lengths, or filters would treat one product as two');
SELECT ok('036000291452'::erp.gtin <> '4006381333931'::erp.gtin,
    '<> is true for different GTINs, or different products would be confused');
SELECT ok('96385074'::erp.gtin < '036000291452'::erp.gtin
          AND '96385074'::erp.gtin <= '036000291452'::erp.gtin
          AND '036000291452'::erp.gtin > '96385074'::erp.gtin
          AND '036000291452'::erp.gtin >= '96385074'::erp.gtin
          AND '96385074'::erp.gtin <= '96385074'::erp.gtin
          AND '96385074'::erp.gtin >= '96385074'::erp.gtin
          AND NOT ('96385074'::erp.gtin < '96385074'::erp.gtin),
    '< <= > >= agree with the 14-digit numbers, or range filters on barcodes would return wrong rows');
SELECT results_eq(
    $$SELECT g::text FROM (VALUES ('10614141000415'::erp.gtin), ('4006381333931'),
                                  ('96385074'), ('036000291452')) v(g) ORDER BY g$$,
    ARRAY['00000096385074', '00036000291452', '04006381333931', '10614141000415'],
    'ORDER BY sorts GTINs as their 14-digit numbers, or sorted barcode lists would be out of order');
SELECT is(erp.gtin_cmp('4006381333931', '96385074'), 1,
    'gtin_cmp orders by number, or btree indexes would be built in the wrong order');

-- Refusals (IE006) ---------------------------------------------------------------

SELECT throws_ok($$SELECT '4006381333932'::erp.gtin$$, 'IE006', 'invalid GTIN "4006381333932"',
    'a wrong check digit is refused, or a mistyped barcode would be stored as a real product');
SELECT throws_ok($$SELECT '123'::erp.gtin$$, 'IE006', 'invalid GTIN "123"',
    'a code of 3 digits is refused, or truncated scans would be stored');
SELECT throws_ok($$SELECT '40063813339310'::erp.gtin$$, 'IE006', 'invalid GTIN "40063813339310"',
    'a 14-digit code with a wrong check digit is refused, or an extra digit would go unnoticed');
SELECT throws_ok($$SELECT '400638133393'::erp.gtin$$, 'IE006', 'invalid GTIN "400638133393"',
    'a code missing its last digit is refused, or a cut-off scan could match another product');
SELECT throws_ok($$SELECT '4006381333931000'::erp.gtin$$, 'IE006', 'invalid GTIN "4006381333931000"',
    'a code of 16 digits is refused, or two scans run together would be stored');
SELECT throws_ok($$SELECT '40O6381333931'::erp.gtin$$, 'IE006', 'invalid GTIN "40O6381333931"',
    'a letter among the digits is refused, or a typed O for 0 would be stored');
SELECT throws_ok($$SELECT '4006381 333931'::erp.gtin$$, 'IE006', 'invalid GTIN "4006381 333931"',
    'a space inside the number is refused, or partly typed codes would be stored');
SELECT throws_ok($$SELECT ''::erp.gtin$$, 'IE006', 'invalid GTIN ""',
    'an empty string is refused, or an empty scan would be stored as a barcode');
SELECT throws_ok($$SELECT '00000000'::erp.gtin$$, 'IE006', 'invalid GTIN "00000000"',
    'all zeros is refused, or a placeholder code would be stored as a real product');
SELECT throws_ok($$SELECT '-4006381333931'::erp.gtin$$, 'IE006', 'invalid GTIN "-4006381333931"',
    'a sign is refused, or a negative number could be stored');

-- Casts -----------------------------------------------------------------------

SELECT is(4006381333931::bigint::erp.gtin, '4006381333931'::erp.gtin,
    'a bigint casts to the GTIN with that number, or numeric barcode columns could not be converted');
SELECT is('00036000291452'::erp.gtin::bigint, 36000291452::bigint,
    'a GTIN casts to its number as bigint, or systems that keep barcodes as numbers could not be fed');
SELECT throws_ok($$SELECT 4006381333932::bigint::erp.gtin$$, 'IE006', 'invalid GTIN "4006381333932"',
    'a bigint with a wrong check digit is refused, or a mistyped number would be stored');
SELECT throws_ok($$SELECT 0::bigint::erp.gtin$$, 'IE006', 'invalid GTIN "0"',
    'a bigint zero is refused, or a missing number would be stored as a barcode');
SELECT throws_ok($$SELECT (-36000291452)::bigint::erp.gtin$$, 'IE006', 'invalid GTIN "-36000291452"',
    'a negative bigint is refused, or a negative number would be stored as a barcode');
SELECT throws_ok($$SELECT 100000000000000::bigint::erp.gtin$$, 'IE006', 'invalid GTIN "100000000000000"',
    'a bigint of 15 digits is refused, or a number no barcode can carry would be stored');

CREATE TEMP TABLE gtin_import (code text);
INSERT INTO gtin_import VALUES ('036000291452'), ('4006381333931');
CREATE TEMP TABLE gtin_item (g erp.gtin);
SELECT lives_ok($$INSERT INTO gtin_item SELECT code FROM gtin_import$$,
    'text converts to erp.gtin on assignment, or importing barcodes from a text column would need a cast');
SELECT throws_ok($$INSERT INTO gtin_item SELECT '036000291453'::text$$, 'IE006', 'invalid GTIN "036000291453"',
    'assigning bad text to a gtin column is refused, or imports would store mistyped barcodes');

-- Binary form ------------------------------------------------------------------

SELECT is(erp.gtin_send('4006381333931'), '\x000003a4ceefadab'::bytea,
    'the binary form is the 14-digit number as a big-endian 8-byte integer, or binary clients would read wrong values');

-- Binary COPY through files in the data directory (COPY to a file needs superuser,
-- as the test runs).
CREATE FUNCTION pg_temp.copy_file(name text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_catalog.current_setting('data_directory') || '/pgtap_02_gtin_' || name || '.bin'
$$;
DO $$
BEGIN
    EXECUTE format('COPY (SELECT g FROM gtin_item ORDER BY g) TO %L (FORMAT binary)',
                   pg_temp.copy_file('good'));
    EXECUTE format('COPY (SELECT 4006381333932::bigint) TO %L (FORMAT binary)',
                   pg_temp.copy_file('bad'));
END
$$;
CREATE TEMP TABLE gtin_binary (g erp.gtin);
SELECT lives_ok(format('COPY gtin_binary FROM %L (FORMAT binary)', pg_temp.copy_file('good')),
    'binary COPY reads GTINs back in, or binary dumps and drivers could not load barcodes');
SELECT results_eq(
    $$SELECT g::text FROM gtin_binary ORDER BY g$$,
    ARRAY['00036000291452', '04006381333931'],
    'GTINs survive a binary COPY out and in, or binary dumps and drivers would corrupt barcodes');
SELECT throws_ok(format('COPY gtin_binary FROM %L (FORMAT binary)', pg_temp.copy_file('bad')),
    'IE006', 'invalid GTIN "4006381333932"',
    'binary input refuses a wrong check digit, or binary loads could bring in what text input refuses');

-- Indexes, joins and aggregates --------------------------------------------------

CREATE TEMP TABLE gtin_unique (g erp.gtin PRIMARY KEY);
INSERT INTO gtin_unique VALUES ('036000291452'), ('4006381333931'), ('96385074');
SELECT throws_ok($$INSERT INTO gtin_unique VALUES ('0036000291452')$$, '23505', NULL,
    'a unique index refuses a GTIN already stored in another length, or one product could have two items');

ANALYZE gtin_unique;

SET LOCAL enable_seqscan = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of(
        $$SELECT g FROM gtin_unique WHERE g = '0036000291452'$$) l WHERE l ~ 'Index'),
    'an equality lookup uses the btree index, or barcode lookups would scan the whole table');
SELECT is((SELECT g::text FROM gtin_unique WHERE g = '0036000291452'), '00036000291452',
    'an index lookup in another length finds the stored GTIN, or a scan would not find its item');
SELECT results_eq(
    $$SELECT g::text FROM gtin_unique WHERE g >= '036000291452' AND g < '10614141000415' ORDER BY g$$,
    ARRAY['00036000291452', '04006381333931'],
    'an index range scan returns the GTINs in range, or barcode range reports would be wrong');
RESET enable_seqscan;

CREATE TEMP TABLE gtin_scan (g erp.gtin);
INSERT INTO gtin_scan VALUES ('036000291452'), ('0036000291452'), ('00036000291452'),
    ('4006381333931'), ('04006381333931'), ('96385074');
ANALYZE gtin_scan;

SET LOCAL enable_sort = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of(
        $$SELECT g, count(*) FROM gtin_scan GROUP BY g$$) l WHERE l ~ 'HashAggregate'),
    'GROUP BY on a GTIN can hash, or grouping scans by barcode would always sort');
SELECT results_eq(
    $$SELECT g::text, count(*) FROM gtin_scan GROUP BY g ORDER BY 1$$,
    $$VALUES ('00000096385074', 1::bigint), ('00036000291452', 3), ('04006381333931', 2)$$,
    'hash aggregation groups one GTIN written in several lengths together, or scan counts per product would split');
SELECT is((SELECT count(DISTINCT g) FROM gtin_scan), 3::bigint,
    'count(DISTINCT) counts a GTIN once whatever its length, or product counts would be inflated');
RESET enable_sort;

SET LOCAL enable_mergejoin = off;
SET LOCAL enable_nestloop = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of(
        $$SELECT * FROM gtin_scan s JOIN gtin_unique u ON s.g = u.g$$) l WHERE l ~ 'Hash Join'),
    'a join on GTINs can hash, or matching scans to items would be slow on large tables');
SELECT results_eq(
    $$SELECT u.g::text, count(*) FROM gtin_scan s JOIN gtin_unique u ON s.g = u.g GROUP BY u.g ORDER BY 1$$,
    $$VALUES ('00000096385074', 1::bigint), ('00036000291452', 3), ('04006381333931', 2)$$,
    'a hash join matches scans in any length to their item, or scans would be lost');
RESET enable_mergejoin;
RESET enable_nestloop;

SET LOCAL enable_hashjoin = off;
SET LOCAL enable_nestloop = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of(
        $$SELECT * FROM gtin_scan s JOIN gtin_unique u ON s.g = u.g$$) l WHERE l ~ 'Merge Join'),
    'a join on GTINs can merge, or joins of sorted barcode lists would be slow');
SELECT is((SELECT count(*) FROM gtin_scan s JOIN gtin_unique u ON s.g = u.g), 6::bigint,
    'a merge join matches scans in any length to their item, or scans would be lost');
RESET enable_hashjoin;
RESET enable_nestloop;

CREATE INDEX gtin_scan_hash ON gtin_scan USING hash (g);
SET LOCAL enable_seqscan = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_temp.plan_of(
        $$SELECT count(*) FROM gtin_scan WHERE g = '36000291452'::bigint::erp.gtin$$) l
        WHERE l ~ 'gtin_scan_hash'),
    'an equality lookup can use a hash index on a GTIN column, or hash indexes on barcodes would be useless');
SELECT is((SELECT count(*) FROM gtin_scan WHERE g = '36000291452'::bigint::erp.gtin), 3::bigint,
    'a hash index finds a GTIN in every length it was written in, or hash-indexed lookups would miss rows');
RESET enable_seqscan;

-- erp.gtin_is_valid ------------------------------------------------------------

SELECT results_eq(
    $$SELECT erp.gtin_is_valid(c) FROM unnest(ARRAY['96385074', '036000291452', '4006381333931',
                                                    '10614141000415', ' 4006381333931 ']) c$$,
    ARRAY[true, true, true, true, true],
    'gtin_is_valid accepts every valid form, or scan checks would reject good barcodes');
SELECT results_eq(
    $$SELECT erp.gtin_is_valid(c) FROM unnest(ARRAY['4006381333932', '123', '40O6381333931', '',
                                                    '00000000', '4006381333931000']) c$$,
    ARRAY[false, false, false, false, false, false],
    'gtin_is_valid answers false, without an error, for bad codes, or scan checks would abort the transaction');
SELECT is(erp.gtin_is_valid(NULL), NULL,
    'gtin_is_valid of NULL is NULL, or a missing scan would read as a verdict');

SELECT * FROM finish();
ROLLBACK;
