-- 50_anomalies.sql: erp.detect_anomalies (issue 15, deliverable 6; doc/planning-signals.md).
-- Planted histories: a shrinkage spike among normal counts, a burst of pick
-- exceptions, a jump of a sku's return rate, each beside a series of normal
-- noise that must not be flagged; a second run adds nothing; a partner sees and
-- closes its nodes' anomalies only.
BEGIN;
SELECT plan(27);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES
    ('A50-S', 5, 10), ('A50-Q', 5, 10), ('A50-R', 5, 10), ('A50-R2', 5, 10), ('A50-V', 100, 150);
INSERT INTO erp.node (code) VALUES ('A50-N1'), ('A50-N2');
INSERT INTO erp.channel (code) VALUES ('A50-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'A50-WEB' AND n.code = 'A50-N1';
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 100000)
    ON CONFLICT (kind) DO UPDATE SET max_auto_value = 100000;
CREATE ROLE a50_partner;
CREATE ROLE a50_clerk;
GRANT erp_operator, erp_reader TO a50_partner, a50_clerk;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'a50_partner', node_id FROM erp.node WHERE code = 'A50-N2';
SELECT erp.receive(s, 'A50-N1', 1000) FROM unnest(ARRAY['A50-S', 'A50-Q', 'A50-R', 'A50-R2', 'A50-V']) s;

-- A count that finds `variance` units more (or fewer) than the books, days_ago days ago.
CREATE FUNCTION pg_temp.count_at(sku text, variance bigint, days_ago int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cc bigint;
BEGIN
    cc := erp.count(sku, 'A50-N1',
                    (SELECT b.qty FROM erp.stock_balance b JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id)
                      WHERE i.sku = count_at.sku AND n.code = 'A50-N1' AND b.state = 'available') + variance);
    UPDATE erp.cycle_count SET counted_at = now() - days_ago * interval '1 day' WHERE cycle_count_id = cc;
    UPDATE erp.adjustment a SET created_at = now() - days_ago * interval '1 day'
      FROM erp.cycle_count c WHERE c.cycle_count_id = cc AND a.item_id = c.item_id AND a.adjustment_id = c.adjustment_id;
    RETURN cc;
END $$;

-- Normal counts every 10 days for 190 days: mostly exact, a unit or two off.
SELECT pg_temp.count_at(s, v, (200 - 10 * k)::int)
  FROM unnest(ARRAY['A50-S', 'A50-Q']) s,
       unnest(ARRAY[0, -1, 1, 0, 0, -2, 1, 0, -1, 0, 2, 0, -1, 0, 1, 0, 0, -1, 0]) WITH ORDINALITY AS t(v, k);
-- Five days ago: A50-S is 40 units short (the spike); A50-Q 2 short (noise).
CREATE TEMP TABLE a50 (name text PRIMARY KEY, id bigint);
INSERT INTO a50 VALUES ('spike', pg_temp.count_at('A50-S', -40::bigint, 5)), ('noise', pg_temp.count_at('A50-Q', -2::bigint, 5));
-- Yesterday: 30 units of an expensive item written off by hand (3,000.00). The item has no
-- history of its own to judge it by; the node's adjustments are worth 5 to 10 (and one 200).
INSERT INTO a50 VALUES ('writeoff', erp.adjust('A50-V', 'A50-N1', -30, 'fell off the truck'));

-- Pick exceptions: N1 has 0 to 2 a day, every day (today 2: its normal); N2 one every
-- fifth day, and 8 today (the burst).
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{"planted": true}'
  FROM erp.node n, generate_series(0, 80) d, generate_series(1, 2) e
 WHERE n.code = 'A50-N1' AND e <= (d % 3) + CASE WHEN d = 0 THEN 2 ELSE 0 END;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{"planted": true}'
  FROM erp.node n, generate_series(1, 80) d
 WHERE n.code = 'A50-N2' AND d % 5 = 0;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now(), '{"planted": true}'
  FROM erp.node n, generate_series(1, 8) e WHERE n.code = 'A50-N2';

-- Returns: an order of 10 units shipped weeks_ago weeks ago, of which `returned` come back.
CREATE FUNCTION pg_temp.ship_week(sku text, returned int, weeks_ago int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    o bigint;
    r bigint;
BEGIN
    o := erp.capture_order('A50-WEB', format('a50-%s-%s', sku, weeks_ago), jsonb_build_array(jsonb_build_object('sku', sku, 'qty', 10)));
    PERFORM count(*) FROM erp.allocate(o);
    PERFORM erp.pick(o, sku, 10);
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    IF returned > 0 THEN
        r := erp.authorize_return(o, jsonb_build_array(jsonb_build_object('sku', sku, 'qty', returned, 'reason', 'changed_mind')));
        UPDATE erp.rma SET authorized_at = now() - weeks_ago * interval '7 days' WHERE rma_id = r;
    END IF;
    UPDATE erp.shipment SET shipped_at = now() - weeks_ago * interval '7 days' WHERE order_id = o;
END $$;
-- ten weeks of about 10 % returns, then this week: A50-R 6 of 10 (the jump), A50-R2 2 of 10 (noise)
SELECT pg_temp.ship_week('A50-R', r, w::int)
  FROM unnest(ARRAY[1, 1, 2, 1, 0, 1, 1, 2, 1, 1]) WITH ORDINALITY AS t(r, w);
SELECT pg_temp.ship_week('A50-R2', r, w::int)
  FROM unnest(ARRAY[0, 1, 2, 1, 3, 1, 0, 2, 1, 1]) WITH ORDINALITY AS t(r, w);
SELECT pg_temp.ship_week('A50-R', 6, 0), pg_temp.ship_week('A50-R2', 2, 0);

-- First run
CREATE TEMP TABLE a50_run (n int);
INSERT INTO a50_run SELECT erp.detect_anomalies();
CREATE TEMP VIEW mine AS
SELECT a.* FROM erp.anomaly a
 WHERE a.item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'A50-%')
    OR a.node_id IN (SELECT node_id FROM erp.node WHERE code LIKE 'A50-%');
GRANT SELECT ON mine, a50 TO PUBLIC;

SELECT results_eq(
    $$SELECT kind, ref FROM mine WHERE kind IN ('shrinkage', 'adjustment') AND item_id IN (SELECT item_id FROM erp.item WHERE sku IN ('A50-S', 'A50-Q'))$$,
    format($$VALUES ('shrinkage', 'count:%s')$$, (SELECT id FROM a50 WHERE name = 'spike')),
    'the 40 units missing among counts a unit or two off are found, as shrinkage; the same two units off on another item are not');
SELECT ok((SELECT score FROM mine WHERE ref = 'count:' || (SELECT id FROM a50 WHERE name = 'spike')) > 3.5,
          'its score is above the threshold 3.5');
SELECT is((SELECT value FROM mine WHERE ref = 'count:' || (SELECT id FROM a50 WHERE name = 'spike')), 200.00,
          'its value: 40 units at a unit cost of 5');
SELECT is((SELECT (detail -> 'item_node' ->> 'median')::numeric FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike')), 0.00::numeric,
          'the detail gives the series'' median (0: counts are mostly exact)');
SELECT results_eq(
    $$SELECT kind, ref FROM mine WHERE kind = 'pick_exceptions'$$,
    $$VALUES ('pick_exceptions', 'pick_exceptions:A50-N2:' || CURRENT_DATE)$$,
    'eight pick exceptions today at a node that has one every fifth day are a burst; two at a node that has 0 to 2 a day are not');
SELECT results_eq(
    $$SELECT kind, ref FROM mine WHERE kind = 'return_rate'$$,
    $$VALUES ('return_rate', 'return_rate:A50-R:' || date_trunc('week', now())::date)$$,
    'a sku whose returns jump from about 10 % to 60 % this week is found; one at 20 % after weeks between 0 and 30 % is not');
SELECT results_eq(
    $$SELECT kind, ref, value FROM mine WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'A50-V')$$,
    format($$VALUES ('shrinkage', 'adjustment:%s', 3000.00)$$, (SELECT id FROM a50 WHERE name = 'writeoff')),
    'a write-off of an item without history is judged against its node''s adjustments: 3,000.00 among 5 to 10 is found');
SELECT ok((SELECT detail ? 'node_value' AND NOT detail ? 'item_node' FROM mine WHERE ref = 'adjustment:' || (SELECT id FROM a50 WHERE name = 'writeoff')),
          'by the node''s test alone (the item has fewer than 8 observations)');
SELECT is((SELECT count(*) FROM mine), 4::bigint, 'four anomalies in all');
SELECT is((SELECT count(*) FROM erp.event e JOIN mine m ON (e.payload ->> 'anomaly_id')::bigint = m.anomaly_id
            WHERE e.kind = 'anomaly' AND e.payload ->> 'ref' = m.ref AND e.node_id IS NOT DISTINCT FROM m.node_id),
          4::bigint, 'each has its anomaly event, about its node, naming it (consumers and LISTEN see it)');
SELECT ok((SELECT n FROM a50_run) >= 4, 'detect_anomalies returns how many it added');

-- Second run: nothing new
SELECT is(erp.detect_anomalies(), 0, 'a second run adds nothing');
SELECT is((SELECT count(*) FROM mine), 4::bigint, 'and duplicates nothing');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'anomaly' AND (payload ->> 'anomaly_id')::bigint IN (SELECT anomaly_id FROM mine)),
          4::bigint, 'nor writes an event again');

-- The list, and what a partner of N2 sees
SELECT is((SELECT count(*) FROM erp.anomalies WHERE anomaly_id IN (SELECT anomaly_id FROM mine)), 4::bigint,
          'erp.anomalies lists the four open ones');
SET ROLE a50_partner;
SELECT results_eq(
    $$SELECT kind, node FROM erp.anomalies WHERE node LIKE 'A50-%' OR sku LIKE 'A50-%'$$,
    $$VALUES ('pick_exceptions', 'A50-N2')$$,
    'a partner of N2 sees N2''s burst only: not N1''s shrinkage nor the business''s return rates');
SELECT throws_ok(
    format('SELECT erp.close_anomaly(%s, %L)', (SELECT anomaly_id FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike')), 'not mine'),
    'IE009', NULL, 'a partner may not close another node''s anomaly');
SELECT throws_ok('SELECT erp.detect_anomalies()', 'IE009', NULL,
                 'nor run detection, which reads and records every node''s findings');
SELECT lives_ok(format('SELECT erp.close_anomaly(%s, %L)', (SELECT anomaly_id FROM mine WHERE kind = 'pick_exceptions'), 'picker training'),
                'it closes its own node''s anomaly');
RESET ROLE;
SELECT results_eq(
    $$SELECT status, closed_by::text COLLATE "default", note FROM mine WHERE kind = 'pick_exceptions'$$,
    $$VALUES ('closed', 'a50_partner', 'picker training')$$,
    'closed, with who closed it and the note');
SELECT is((SELECT status FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike')), 'open', 'the refused close changed nothing');
SELECT throws_ok(
    format('SELECT erp.close_anomaly(%s)', (SELECT anomaly_id FROM mine WHERE kind = 'pick_exceptions')),
    'IE010', NULL, 'closing it again is refused');
SELECT throws_ok('SELECT erp.close_anomaly(-1)', 'IE003', 'unknown anomaly -1', 'an unknown anomaly is refused');
SELECT is(erp.detect_anomalies(), 0, 'a closed anomaly is not found again');

-- a retried close (lost COMMIT) replays instead of IE010; the key with another note is refused
SELECT lives_ok(format($$SELECT erp.close_anomaly(%s, 'recounted', idempotency_key => 'a50-close')$$,
                       (SELECT anomaly_id FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike'))), 'the shrinkage is closed with a key');
SELECT lives_ok(format($$SELECT erp.close_anomaly(%s, 'recounted', idempotency_key => 'a50-close')$$,
                       (SELECT anomaly_id FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike'))),
                'the same call with the same key replays (not "it is closed")');
SELECT throws_ok(format($$SELECT erp.close_anomaly(%s, 'other note', idempotency_key => 'a50-close')$$,
                        (SELECT anomaly_id FROM mine WHERE ref = (SELECT 'count:' || id FROM a50 WHERE name = 'spike'))),
                 'IE010', 'idempotency key "a50-close" was used for another call', 'the key with another note is refused');

SELECT * FROM finish();
ROLLBACK;
