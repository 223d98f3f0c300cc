-- 75_service_levels.sql: service levels, ship-by and promise dates (issue 17 part 2,
-- doc/orchestration.md).  An order asks for a service with ship_to {"service": ..}; its
-- ship_by is the earliest time a node of its channel can ship it; allocation prefers nodes
-- that can still ship by then, and express the nearest of them before the channel's rank;
-- an allocation at a node that cannot raises ship_by_at_risk.  erp.promise answers the
-- delivery time for a fixed order time; erp.kpi_late_shipments counts late orders.
--
-- Cut-offs: NEAR ships at 00:00:00 local (so never later today: it ships tomorrow at
-- midnight, but for the single microsecond of midnight itself), FAR and MID at 23:59:59
-- (today), every day of the week: NEAR can never meet an order's ship_by when FAR or MID
-- can.  Master data uses codes starting with TAP75- and is rolled back at the end.
BEGIN;
SELECT plan(21);

INSERT INTO erp.node (code, kind, latitude, longitude) VALUES
    ('TAP75-NEAR', 'warehouse', 53.55, 9.99), ('TAP75-MID', 'warehouse', 52.52, 13.40),
    ('TAP75-FAR', 'warehouse', 48.14, 11.58);
INSERT INTO erp.channel (code, kind) VALUES ('TAP75-WEB', 'storefront'), ('TAP75-SHOP', 'storefront');
-- WEB: FAR rank 1, NEAR rank 2; SHOP: FAR rank 1, MID rank 2
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('TAP75-WEB', 'TAP75-FAR', 1), ('TAP75-WEB', 'TAP75-NEAR', 2),
               ('TAP75-SHOP', 'TAP75-FAR', 1), ('TAP75-SHOP', 'TAP75-MID', 2)) v(c, n, rank)
  JOIN erp.channel c ON c.code = v.c JOIN erp.node n ON n.code = v.n;
INSERT INTO erp.node_cutoff (node_id, cutoff, time_zone, ships_weekends)
SELECT node_id, CASE code WHEN 'TAP75-NEAR' THEN '00:00:00'::time ELSE '23:59:59'::time END, 'Europe/Berlin', true
  FROM erp.node WHERE code LIKE 'TAP75-%';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP75-TEE', 'tee', 4, 20), ('TAP75-CAP', 'cap', 2, 9);
SELECT erp.receive('TAP75-TEE', 'TAP75-NEAR', 10), erp.receive('TAP75-TEE', 'TAP75-MID', 10), erp.receive('TAP75-TEE', 'TAP75-FAR', 10);
SELECT erp.receive('TAP75-CAP', 'TAP75-NEAR', 5);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.node_of(ref text) RETURNS text LANGUAGE sql
    AS $$ SELECT string_agg(DISTINCT node, ',') FROM erp.allocate(pg_temp.ord(ref)) $$;

-- erp.ship_time and erp.promise at a fixed time -------------------------------------------------

-- Friday 2026-12-04 12:00 UTC = 13:00 in Berlin
SELECT is(erp.ship_time((SELECT node_id FROM erp.node WHERE code = 'TAP75-FAR'), '2026-12-04 12:00+00'),
    '2026-12-04 22:59:59+00'::timestamptz, 'FAR ships the same day at its 23:59:59 Berlin cut-off');
SELECT is(erp.ship_time((SELECT node_id FROM erp.node WHERE code = 'TAP75-NEAR'), '2026-12-04 12:00+00'),
    '2026-12-04 23:00:00+00'::timestamptz, 'NEAR ships at the next midnight in Berlin');
SELECT is(erp.ship_time((SELECT node_id FROM erp.node WHERE code = 'TAP75-FAR'), '2026-12-04 12:00+00', 2),
    '2026-12-06 22:59:59+00'::timestamptz, 'two ship days later (weekends are ship days here)');
SELECT is(erp.ship_time(0, '2026-12-04 16:00+00'), '2026-12-07 15:00:00+00'::timestamptz,
    'a node without cut-off ships at 15:00 UTC on weekdays: after Friday''s, on Monday');
SELECT is(erp.promise('TAP75-TEE', 2, 'TAP75-WEB', NULL, 'express', '2026-12-04 12:00+00'),
    '2026-12-05 22:59:59+00'::timestamptz, 'express: shipped at FAR today, 1 transit day');
SELECT is(erp.promise('TAP75-TEE', 2, 'TAP75-WEB', NULL, 'standard', '2026-12-04 12:00+00'),
    '2026-12-08 22:59:59+00'::timestamptz, 'standard: 1 ship day later, 3 transit days');
INSERT INTO erp.service_level (channel_id, service, ship_within_days, transit_days)
SELECT channel_id, 'economy', 0, 10 FROM erp.channel WHERE code = 'TAP75-WEB';
SELECT is(erp.promise('TAP75-TEE', 2, 'TAP75-WEB', service => 'economy', at => '2026-12-04 12:00+00'),
    '2026-12-14 22:59:59+00'::timestamptz, 'the channel''s own rule for economy: 0 ship days, 10 transit days');
SELECT is(erp.promise('TAP75-CAP', 2, 'TAP75-WEB', NULL, 'express', '2026-12-04 12:00+00'),
    '2026-12-05 23:00:00+00'::timestamptz, 'only NEAR has caps: the promise is NEAR''s midnight shipment + 1 day');
SELECT is(erp.promise('TAP75-CAP', 6, 'TAP75-WEB', NULL, 'express', '2026-12-04 12:00+00'), NULL::timestamptz,
    'no node has 6 caps: no promise (NULL)');
SELECT is(pg_temp.err($$SELECT erp.promise('TAP75-TEE', 2, 'TAP75-WEB', NULL, 'overnight')$$),
    'IE003: unknown service level "overnight"', 'an unknown service is refused (IE003)');
SELECT is(pg_temp.err($$SELECT erp.promise('TAP75-TEE', 0, 'TAP75-WEB')$$) LIKE 'IE004:%', true, 'a quantity of 0 is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.promise('TAP75-NOPE', 1, 'TAP75-WEB')$$) LIKE 'IE003:%', true, 'an unknown sku is refused (IE003)');

-- Allocation by service level ------------------------------------------------------------------

-- near NEAR (Hamburg); NEAR cannot ship by the ship_by FAR can make
SELECT erp.capture_order('TAP75-WEB', 'TAP75-E1', '[{"sku": "TAP75-TEE", "qty": 1}]', '{"service": "express", "lat": 53.5, "lon": 10.0}');
SELECT is(pg_temp.node_of('TAP75-E1'), 'TAP75-FAR',
    'express: the nearest node (NEAR) cannot ship by the ship_by, so the line goes to FAR, which can');
SELECT is((SELECT meets_ship_by FROM erp.order_service WHERE order_id = pg_temp.ord('TAP75-E1')), true, 'and its order meets its ship_by');
-- SHOP: FAR (rank 1) and MID (rank 2, nearer to Berlin) both ship today
SELECT erp.capture_order('TAP75-SHOP', 'TAP75-E2', '[{"sku": "TAP75-TEE", "qty": 1}]', '{"service": "express", "lat": 52.5, "lon": 13.4}');
SELECT is(pg_temp.node_of('TAP75-E2'), 'TAP75-MID', 'express: of the nodes that can ship in time, the nearest (MID) before the rank');
SELECT erp.capture_order('TAP75-SHOP', 'TAP75-S2', '[{"sku": "TAP75-TEE", "qty": 1}]', '{"service": "standard", "lat": 52.5, "lon": 13.4}');
SELECT is(pg_temp.node_of('TAP75-S2'), 'TAP75-FAR', 'standard: the channel''s rank (FAR) among the nodes that can ship in time');
-- caps only at NEAR: allocated there, which cannot meet the ship_by FAR could have made
SELECT erp.capture_order('TAP75-WEB', 'TAP75-E3', '[{"sku": "TAP75-CAP", "qty": 1}]', '{"service": "express"}');
SELECT is(pg_temp.node_of('TAP75-E3'), 'TAP75-NEAR', 'the only node with caps gets the order');
SELECT is((SELECT meets_ship_by::text || ' ' || (SELECT count(*) FROM erp.event e WHERE e.kind = 'ship_by_at_risk' AND e.order_id = os.order_id)
             FROM erp.order_service os WHERE order_id = pg_temp.ord('TAP75-E3')),
    'false 1', 'it cannot meet its ship_by: order_service says so and one ship_by_at_risk event is raised');

-- Late shipments -------------------------------------------------------------------------------

SELECT erp.pick(pg_temp.ord('TAP75-E2'), 'TAP75-TEE', 1), erp.pack(pg_temp.ord('TAP75-E2')), erp.ship(pg_temp.ord('TAP75-E2'));
-- E1 was due 24 hours ago (history rewritten for the test; in hours, not '1 day', which is
-- 23 or 25 hours across a DST change of the session's zone)
UPDATE erp.order_service SET ship_by = now() - interval '24 hours' WHERE order_id = pg_temp.ord('TAP75-E1');
SELECT erp.pick(pg_temp.ord('TAP75-E1'), 'TAP75-TEE', 1), erp.pack(pg_temp.ord('TAP75-E1')), erp.ship(pg_temp.ord('TAP75-E1'));
SELECT results_eq($$SELECT channel, service, orders_shipped, late, late_pct, avg_hours_late FROM erp.kpi_late_shipments
                     WHERE channel LIKE 'TAP75-%' ORDER BY channel, service$$,
    $$VALUES ('TAP75-SHOP', 'express', 1::bigint, 0::bigint, 0.0::numeric, NULL::numeric),
             ('TAP75-WEB', 'express', 1::bigint, 1::bigint, 100.0::numeric, 24.0::numeric)$$,
    'kpi_late_shipments: SHOP''s express order shipped in time, WEB''s 24 hours late');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP75-WEB', 'TAP75-X', '[{"sku": "TAP75-TEE", "qty": 1}]', '{"service": "rocket"}')$$),
    'IE003: unknown service level "rocket"', 'a capture asking for an unknown service is refused (IE003)');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
