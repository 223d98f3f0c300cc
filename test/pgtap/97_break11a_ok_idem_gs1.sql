-- 97_break11a_ok_idem_gs1.sql (break11a, regression tests that HOLD): attacks on
-- idempotency keys, place_order redeliveries, partner and approver rules and GS1
-- at pick and receipt that the issue 11 code withstood.  Codes start B11A97-;
-- everything is rolled back.
BEGIN;
SELECT plan(36);

-- what a user would see change: moves, holdings, orders, adjustments, lots
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws('|',
        (SELECT count(*) || '/' || coalesce(sum(qty), 0) FROM erp.stock_move),
        (SELECT count(*) || '/' || coalesce(sum(qty), 0) || '/' || coalesce(sum(qty_picked), 0) FROM erp.reservation),
        (SELECT count(*) || '/' || string_agg(status::text, ',' ORDER BY order_id) FROM erp.sales_order),
        (SELECT count(*) || '/' || coalesce(string_agg(status::text, ',' ORDER BY adjustment_id), '') FROM erp.adjustment),
        (SELECT count(*) FROM erp.lot))
$$;
CREATE TEMP TABLE b11a97 (name text PRIMARY KEY, v text);
GRANT ALL ON b11a97 TO PUBLIC;
CREATE FUNCTION pg_temp.v(p text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM b11a97 WHERE name = p $$;
CREATE FUNCTION pg_temp.keep(p text, val text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO b11a97 VALUES (p, val) ON CONFLICT (name) DO UPDATE SET v = excluded.v
$$;

INSERT INTO erp.node (code, kind) VALUES ('B11A97-DC', 'warehouse'), ('B11A97-N1', '3pl'), ('B11A97-N2', '3pl');
INSERT INTO erp.channel (code, kind) VALUES ('B11A97-WEB', 'storefront'), ('B11A97-C1', 'storefront'), ('B11A97-C2', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c JOIN erp.node n ON substr(n.code, 8) = CASE substr(c.code, 8) WHEN 'WEB' THEN 'DC'
       WHEN 'C1' THEN 'N1' ELSE 'N2' END
 WHERE c.code LIKE 'B11A97-%';
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('B11A97-TEE', 5, 20, false, '04006381333931'),
    ('B11A97-CREAM', 1, 10, true, '09501101530003'),
    ('B11A97-SOAP', 1, 10, true, '05901234123457'),
    ('B11A97-LAP', 800, 1200, false, NULL);
SELECT erp.receive('B11A97-TEE', n, 20) FROM unnest(ARRAY['B11A97-DC', 'B11A97-N1', 'B11A97-N2']) n;
SELECT erp.receive('B11A97-CREAM', 'B11A97-DC', 5, 'B11A97-L1', '2030-06-30');
SELECT erp.receive('B11A97-SOAP', 'B11A97-DC', 5, 'B11A97-S1', '2030-06-30');
SELECT erp.receive('B11A97-LAP', 'B11A97-DC', 10);
CREATE ROLE b11a97_p1;
CREATE ROLE b11a97_p2;
CREATE ROLE b11a97_a;
CREATE ROLE b11a97_b;
GRANT erp_operator, erp_reader TO b11a97_p1, b11a97_p2;
GRANT erp_operator, erp_approver, erp_reader TO b11a97_a, b11a97_b;
INSERT INTO erp.node_access (role_name, node_id)
SELECT 'b11a97_p' || substr(code, 9), node_id FROM erp.node WHERE code IN ('B11A97-N1', 'B11A97-N2');

-- Keys: content ------------------------------------------------------------------

SELECT pg_temp.keep('o1', erp.capture_order('B11A97-WEB', 'B11A97-O1', '[{"sku": "B11A97-TEE", "qty": 2, "unit_price": 20}]',
                                            '{"lat": 48.1, "lon": 11.5}', idempotency_key => 'b11a97-order')::text);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT is(erp.capture_order('B11A97-WEB', 'B11A97-O1', '[{"unit_price": 20, "qty": 2, "sku": "B11A97-TEE"}]',
                            '{"lon": 11.5, "lat": 48.1}', idempotency_key => 'b11a97-order')::text, pg_temp.v('o1'),
    'jsonb objects with their keys in another order are the same content: the retry replays');
SELECT is(pg_temp.books(), pg_temp.v('books'), 'and changes nothing');

SELECT pg_temp.keep('m1', erp.receive('B11A97-TEE', 'B11A97-DC', 1, ref => NULL, idempotency_key => 'b11a97-null')::text);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT throws_ok($$SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 1, ref => 'NULL', idempotency_key => 'b11a97-null')$$, 'IE010', NULL,
    'a NULL ref and the string ''NULL'' are other calls: IE010');
SELECT throws_ok($$SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 1, ref => '', idempotency_key => 'b11a97-null')$$, 'IE010', NULL,
    'a NULL ref and an empty ref are other calls: IE010');
SELECT throws_ok($$SELECT erp.adjust('B11A97-TEE', 'B11A97-DC', 1, 'found', idempotency_key => 'b11a97-null')$$, 'IE010', NULL,
    'the key of a receipt used for an adjustment: IE010');
SELECT is(erp.receive('B11A97-TEE', 'B11A97-DC', 1, idempotency_key => 'b11a97-null')::text, pg_temp.v('m1'),
    'the same receipt with the ref left out (NULL by default) replays');
SELECT is(pg_temp.books(), pg_temp.v('books'), 'the refusals and the replay changed nothing');

SELECT lives_ok($$SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 1, idempotency_key => repeat('é', 100))$$,
    'a key of 100 two-byte characters (200 bytes) is accepted');
SELECT throws_ok($$SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 1, idempotency_key => repeat('é', 101))$$, 'IE004', NULL,
    'a key of 101 two-byte characters (202 bytes) is refused with IE004');
SELECT throws_ok($$SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 1, idempotency_key => repeat('x', 200000))$$, 'IE004', NULL,
    'a 200 kB key is refused with IE004');

-- Keys: savepoints ------------------------------------------------------------------

SELECT pg_temp.keep('books', pg_temp.books());
SAVEPOINT b11a97_s;
SELECT erp.receive('B11A97-TEE', 'B11A97-DC', 3, idempotency_key => 'b11a97-sp');
ROLLBACK TO SAVEPOINT b11a97_s;
SELECT is(pg_temp.books(), pg_temp.v('books'), 'a call rolled back to a savepoint leaves nothing');
SELECT pg_temp.keep('sp', erp.receive('B11A97-TEE', 'B11A97-DC', 3, idempotency_key => 'b11a97-sp')::text);
SELECT is(erp.receive('B11A97-TEE', 'B11A97-DC', 3, idempotency_key => 'b11a97-sp')::text, pg_temp.v('sp'),
    'after the rollback the key runs once, then replays');
SELECT is((SELECT count(*) FROM erp.stock_move WHERE event = 'receive' AND qty = 3), 1::bigint,
    'one receipt of 3 in all');

-- Keys on the SRFs, replayed after the order changed ---------------------------------

SELECT pg_temp.keep('a1', (SELECT string_agg(a::text, ';' ORDER BY a::text)
                             FROM erp.allocate(pg_temp.v('o1')::bigint, idempotency_key => 'b11a97-alloc') a));
SELECT erp.pick(pg_temp.v('o1')::bigint, 'B11A97-TEE', 2);
SELECT erp.pack(pg_temp.v('o1')::bigint);
SELECT erp.ship(pg_temp.v('o1')::bigint);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT is((SELECT string_agg(a::text, ';' ORDER BY a::text) FROM erp.allocate(pg_temp.v('o1')::bigint, idempotency_key => 'b11a97-alloc') a),
          pg_temp.v('a1'), 'allocate retried after the order shipped returns the first call''s rows (what the client missed)');
SELECT is(pg_temp.books(), pg_temp.v('books'), 'and changes nothing');
SELECT is((SELECT string_agg(order_status::text || ':' || created, ',')
             FROM erp.place_order('B11A97-WEB', 'B11A97-O1', '[{"sku": "B11A97-TEE", "qty": 2, "unit_price": 20}]',
                                  '{"lat": 48.1, "lon": 11.5}')),
          'shipped:false', 'place_order redelivering the shipped order (no key) says shipped, created false');

SELECT pg_temp.keep('p2', (SELECT min(order_id)::text FROM erp.place_order('B11A97-WEB', 'B11A97-O2', '[{"sku": "B11A97-TEE", "qty": 1}]')));
SELECT erp.cancel_order(pg_temp.v('p2')::bigint);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT is((SELECT string_agg(order_status::text || ':' || created || ':' || qty, ',')
             FROM erp.place_order('B11A97-WEB', 'B11A97-O2', '[{"sku": "B11A97-TEE", "qty": 1}]')),
          'cancelled:false:0', 'place_order redelivering a cancelled order says cancelled and holds nothing');
SELECT is(pg_temp.books(), pg_temp.v('books'), 'it neither revives nor reallocates the cancelled order');

-- Partners -----------------------------------------------------------------------------

SET ROLE b11a97_p2;
SELECT pg_temp.keep('x2', (SELECT min(order_id)::text FROM erp.place_order('B11A97-C2', 'B11A97-X2', '[{"sku": "B11A97-TEE", "qty": 1}]')));
RESET ROLE;
SELECT pg_temp.keep('books', pg_temp.books());
SET ROLE b11a97_p1;
SELECT throws_ok($$SELECT * FROM erp.place_order('B11A97-C2', 'B11A97-X9', '[{"sku": "B11A97-TEE", "qty": 1}]')$$, 'IE009', NULL,
    'a partner placing an order on a channel none of its nodes fulfils: IE009');
SELECT throws_ok($$SELECT * FROM erp.place_order('B11A97-C2', 'B11A97-X2', '[{"sku": "B11A97-TEE", "qty": 5}]')$$, 'IE009', NULL,
    'a partner redelivering another partner''s external_ref with other content: IE009, not IE010 (which would tell it exists)');
SELECT throws_ok(format('SELECT * FROM erp.allocate(%s, idempotency_key => %L)', pg_temp.v('x2'), 'b11a97-x2'), 'IE009', NULL,
    'a partner allocating another partner''s order with a key: IE009');
SELECT throws_ok(format('SELECT * FROM erp.allocate(%s, idempotency_key => %L)', pg_temp.v('x2'), 'b11a97-x2'), 'IE009', NULL,
    'its retry: IE009 again (the refusal stored no key)');
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', pg_temp.v('x2'), '(01)04006381333931'), 'IE009', NULL,
    'a partner scanning a GS1 label at another partner''s order: IE009');
SELECT throws_ok($$SELECT erp.receive('(01)09501101530003(10)B11A97-L9(17)300101', 'B11A97-N2', 1)$$, 'IE009', NULL,
    'a partner receiving a GS1 scan at another partner''s node: IE009');
RESET ROLE;
SELECT is(pg_temp.books(), pg_temp.v('books'), 'the partner''s refusals changed nothing');
SELECT is((SELECT count(*) FROM erp.idempotency_key WHERE role_name = 'b11a97_p1'), 0::bigint,
    'and stored no key for it');

-- Approvers ---------------------------------------------------------------------------

SET ROLE b11a97_a;
SELECT pg_temp.keep('adj', erp.adjust('B11A97-LAP', 'B11A97-DC', -2, 'water damage')::text);
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s, idempotency_key => %L)', pg_temp.v('adj'), 'b11a97-appr'), 'IE009', NULL,
    'an approver approving its own adjustment with a key: IE009');
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s, idempotency_key => %L)', pg_temp.v('adj'), 'b11a97-appr'), 'IE009', NULL,
    'its retry with the key: IE009 again, never a stored success');
RESET ROLE;
SET ROLE b11a97_b;
SELECT pg_temp.keep('appr', erp.approve_adjustment(pg_temp.v('adj')::bigint, idempotency_key => 'b11a97-appr')::text);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT is(erp.approve_adjustment(pg_temp.v('adj')::bigint, idempotency_key => 'b11a97-appr')::text, pg_temp.v('appr'),
    'another approver''s approval with the same key string is its own, and its retry replays');
RESET ROLE;
SELECT is(pg_temp.books(), pg_temp.v('books'), 'the replay changed nothing');
SELECT is((SELECT status::text FROM erp.adjustment WHERE adjustment_id = pg_temp.v('adj')::bigint), 'applied',
    'the adjustment was applied once, by the other approver');

-- GS1 at pick and receipt ---------------------------------------------------------------

SELECT pg_temp.keep('o3', erp.capture_order('B11A97-WEB', 'B11A97-O3', '[{"sku": "B11A97-CREAM", "qty": 3}]')::text);
SELECT count(*) FROM erp.allocate(pg_temp.v('o3')::bigint);
SELECT pg_temp.keep('books', pg_temp.books());
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', pg_temp.v('o3'), '(01)09501101530003(10)B11A97-S1'), 'IE007', NULL,
    'the right GTIN with another item''s lot: IE007');
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', pg_temp.v('o3'), E']C10109501101530003\x0110B11A97-L1'), 'IE007', NULL,
    'a control byte in a raw scan: IE007');
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', pg_temp.v('o3'), '(01)09501101530003(10)B11A97-L1(30)4'), 'IE004', NULL,
    'AI 30 counting more than the order holds: IE004');
SELECT throws_ok($$SELECT erp.receive('(01)09501101530003(17)300630(10)B11A97-L1', 'B11A97-DC', 2, lot => 'B11A97-L2')$$, 'IE004', NULL,
    'a receipt whose lot argument disagrees with the scan: IE004');
SELECT is(pg_temp.books(), pg_temp.v('books'), 'the refused scans changed nothing (no pick, no lot, no receipt)');

SELECT * FROM finish();
ROLLBACK;
