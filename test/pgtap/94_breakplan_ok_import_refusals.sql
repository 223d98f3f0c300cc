-- 94_breakplan_ok_import_refusals.sql (break-it pass on issue 15, helper breakplan).
-- Attacks on erp.import_demand and the horizon of erp.forecast that HELD:
-- every malformed batch is refused with its documented SQLSTATE (IE004 for
-- bad values, IE003 for unknown objects) and changes nothing, not even its
-- valid lines; duplicates of one key, in one call or across calls, keep one
-- row with the last quantity; the day is read as YYYY-MM-DD whatever the
-- session's DateStyle; a batch of 100,000 lines is taken (about 8 s here) and
-- 100,001 refused.
BEGIN;
SELECT plan(57);

INSERT INTO erp.node (code) VALUES ('BPI-DC'), ('BPI-3PL');
INSERT INTO erp.channel (code) VALUES ('BPI-WEB');
INSERT INTO erp.item (sku, unit_price) VALUES ('BPI-A', 10);
SELECT is(erp.import_demand('[{"sku": "BPI-A", "channel": "BPI-WEB", "node": "BPI-DC", "day": "2026-01-05", "qty": 3}]'), 1,
    'a valid line is imported');
CREATE TEMP TABLE bpi_before AS SELECT count(*) AS n, sum(qty) AS q, max(imported_at) AS t FROM erp.demand_import;
GRANT SELECT ON bpi_before TO PUBLIC;

-- each batch: a valid first line, then the bad one
CREATE FUNCTION pg_temp.batch(bad text) RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT erp.import_demand(%L)',
                  '[{"sku": "BPI-A", "day": "2026-01-06", "qty": 1}, ' || bad || ']') $$;

-- bad values: IE004
SELECT throws_ok(pg_temp.batch(x), 'IE004', NULL, 'refused with IE004: ' || x)
  FROM unnest(ARRAY[
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": -3}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": 1e30}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": 1.5}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": "NaN"}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": "Infinity"}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": "1e3"}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": true}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": null}',
    '{"sku": "BPI-A", "day": "2026-01-07"}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": [1]}',
    '{"sku": "BPI-A", "day": "2026-01-07", "qty": 1000000001}',
    '{"sku": "BPI-A", "day": "2026-02-30", "qty": 1}',
    '{"sku": "BPI-A", "day": "2026-13-01", "qty": 1}',
    '{"sku": "BPI-A", "day": "1969-12-31", "qty": 1}',
    '{"sku": "BPI-A", "day": "9999-12-31", "qty": 1}',
    '{"sku": "BPI-A", "day": "today", "qty": 1}',
    '{"sku": "BPI-A", "day": "-infinity", "qty": 1}',
    '{"sku": "BPI-A", "day": "epoch", "qty": 1}',
    '{"sku": "BPI-A", "day": "01/02/2026", "qty": 1}',
    '{"sku": "BPI-A", "day": "2026-01-07T00:00:00Z", "qty": 1}',
    '{"sku": "BPI-A", "day": 20260107, "qty": 1}',
    '{"sku": "BPI-A", "qty": 1}',
    '{"sku": "BPI-A", "channel": "", "day": "2026-01-07", "qty": 1}',
    '{"sku": "' || repeat('x', 65) || '", "day": "2026-01-07", "qty": 1}',
    '[{"sku": "BPI-A", "day": "2026-01-07", "qty": 1}]',
    'null',
    '"BPI-A"'
  ]) x;
SELECT throws_ok(format('SELECT erp.import_demand(%L)', x), 'IE004', NULL, 'lines refused with IE004: ' || coalesce(x, 'SQL NULL'))
  FROM unnest(ARRAY['{"sku": "BPI-A", "day": "2026-01-07", "qty": 1}', 'null', '"x"', '42', NULL]) x;
SELECT throws_ok(format('SELECT erp.import_demand(%L)', format('[{"sku": "BPI-A", "day": "%s", "qty": 1}]', CURRENT_DATE + 1)),
    'IE004', NULL, 'refused with IE004: tomorrow (demand is history)');

-- unknown objects: IE003
SELECT throws_ok(pg_temp.batch(x), 'IE003', NULL, 'refused with IE003: ' || x)
  FROM unnest(ARRAY[
    '{"sku": "BPI-NOPE", "day": "2026-01-07", "qty": 1}',
    '{"sku": "BPI-A", "channel": "BPI-NOPE", "day": "2026-01-07", "qty": 1}',
    '{"sku": "BPI-A", "node": "BPI-NOPE", "day": "2026-01-07", "qty": 1}',
    '{"sku": 42, "day": "2026-01-07", "qty": 1}',
    '{"day": "2026-01-07", "qty": 1}'
  ]) x;

SELECT results_eq($$SELECT count(*), sum(qty), max(imported_at) FROM erp.demand_import$$, $$SELECT n, q, t FROM bpi_before$$,
    'none of the refused batches changed erp.demand_import, not even their valid first line');

-- what is accepted
SELECT is(erp.import_demand('[]'), 0, 'an empty array imports nothing');
SELECT is(erp.import_demand('[{"sku": "BPI-A", "day": "2026-01-08", "qty": "12"}, {"sku": "BPI-A", "day": "2026-01-09", "qty": 0}]'), 2,
    'a quantity given as the string "12" and a quantity 0 are taken');
SELECT is(erp.import_demand(format('[{"sku": "BPI-A", "day": "%s", "qty": 1}]', CURRENT_DATE)::jsonb), 1, 'today is history too');
-- the same key twice in one call, then again in another call
SELECT lives_ok($$SELECT erp.import_demand('[{"sku": "BPI-A", "node": "BPI-DC", "day": "2026-01-10", "qty": 3},
                                              {"sku": "BPI-A", "node": "BPI-DC", "day": "2026-01-10", "qty": 4}]')$$,
    'the same item, node and day twice in one call is taken');
SELECT is((SELECT array_agg(qty) FROM erp.demand_import WHERE day = '2026-01-10'), ARRAY[4::bigint],
    '... as one row with the later quantity');
SELECT lives_ok($$SELECT erp.import_demand('[{"sku": "BPI-A", "node": "BPI-DC", "day": "2026-01-10", "qty": 9}]')$$, 'and again in a later call');
SELECT is((SELECT array_agg(qty) FROM erp.demand_import WHERE day = '2026-01-10'), ARRAY[9::bigint], '... still one row, 9');
-- the day does not depend on DateStyle
SET LOCAL DateStyle = 'SQL, DMY';
SELECT lives_ok($$SELECT erp.import_demand('[{"sku": "BPI-A", "day": "2026-03-04", "qty": 5}]')$$, 'under DateStyle SQL, DMY');
RESET DateStyle;
SELECT is((SELECT array_agg(day) FROM erp.demand_import WHERE qty = 5), ARRAY['2026-03-04'::date],
    '2026-03-04 is the 4th of March, not the 3rd of April');

-- the batch size limit
-- (5 channel/node combinations x 20,000 days from 1970-01-01: 100,000 distinct keys)
SELECT is(erp.import_demand((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('sku', 'BPI-A', 'channel', c, 'node', n,
                                                                                   'day', DATE '1970-01-01' + d, 'qty', d % 7)))
                               FROM generate_series(0, 19999) d,
                                    (VALUES (NULL, NULL), ('BPI-WEB', NULL), (NULL, 'BPI-DC'), ('BPI-WEB', 'BPI-DC'), (NULL, 'BPI-3PL')) k(c, n))),
          100000, '100,000 lines are one call''s worth');
SELECT is((SELECT count(*) FROM erp.demand_import JOIN erp.item USING (item_id) WHERE sku = 'BPI-A' AND day < '2025-01-01'), 100000::bigint,
    '... stored as 100,000 rows');
SELECT throws_ok($$SELECT erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', 'BPI-A', 'day', '2026-01-01', 'qty', 1))
                                               FROM generate_series(1, 100001)))$$,
    'IE004', NULL, '100,001 lines are refused (IE004)');

-- horizons of erp.forecast
SELECT throws_ok(format('SELECT * FROM erp.forecast(%L, horizon_days => %s)', 'BPI-A', h), 'IE004', NULL, 'horizon ' || h || ' is refused (IE004)')
  FROM unnest(ARRAY['0', '-1', '367', 'NULL']) h;
SELECT is((SELECT count(*) FROM erp.forecast('BPI-A', horizon_days => 366)), 366::bigint, 'a horizon of 366 days gives 366 rows');

SELECT * FROM finish();
ROLLBACK;
