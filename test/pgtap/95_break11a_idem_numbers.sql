-- 95_break11a_idem_numbers.sql (break11a; failed before b59d4aa, which fixed it): "numbers are compared by value"
-- (doc/idempotency.md) does not hold for numbers inside a jsonb argument.
-- A webhook sender that re-serialises its payload on retry (19.90 -> 19.9, as
-- JavaScript's JSON.stringify or Python's float do) sends the same order;
-- erp.capture_order itself calls that redelivery the same content (it returns the
-- same order id without a key), but the same call with its idempotency key is
-- refused with IE010, so the client that did everything right gets an error for
-- a retry.  Likely cause: IdemArgHashing hashes jsonb by its text form, which
-- keeps a numeric's scale (19.90 vs 19.9); only top-level numeric arguments are
-- hashed in binary, and numeric_send keeps the scale too (1 vs 1.0 differ).
BEGIN;
SELECT plan(6);

INSERT INTO erp.node (code, kind) VALUES ('B11A95-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('B11A95-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'B11A95-WEB' AND n.code = 'B11A95-DC';
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('B11A95-TEE', 5, 20);
SELECT erp.receive('B11A95-TEE', 'B11A95-DC', 10);

CREATE TEMP TABLE b11a95 (name text PRIMARY KEY, v text);
INSERT INTO b11a95 SELECT 'o1', erp.capture_order('B11A95-WEB', 'B11A95-O1',
    '[{"sku": "B11A95-TEE", "qty": 1, "unit_price": 19.90}]', idempotency_key => 'b11a95-capture')::text;

SELECT is(erp.capture_order('B11A95-WEB', 'B11A95-O1', '[{"sku": "B11A95-TEE", "qty": 1, "unit_price": 19.9}]')::text,
          (SELECT v FROM b11a95 WHERE name = 'o1'),
    'without a key, capture_order calls 19.90 and 19.9 the same content: the redelivery returns the same order (holds)');
SELECT lives_ok($$SELECT erp.capture_order('B11A95-WEB', 'B11A95-O1', '[{"sku": "B11A95-TEE", "qty": 1, "unit_price": 19.9}]',
                                           idempotency_key => 'b11a95-capture')$$,
    'with its key, the same redelivery (19.9 for 19.90) is a replay, not IE010: numbers are compared by value');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref = 'B11A95-O1'), 1::bigint,
    'one order B11A95-O1 either way');

-- place_order: the webhook's one call
INSERT INTO b11a95 SELECT 'p1', string_agg(a::text, ';' ORDER BY a::text)
  FROM erp.place_order('B11A95-WEB', 'B11A95-P1', '[{"sku": "B11A95-TEE", "qty": 2, "unit_price": 5.50}]',
                       '{"lat": 48.10, "lon": 11.50}', idempotency_key => 'b11a95-place') a;
SELECT lives_ok($$SELECT * FROM erp.place_order('B11A95-WEB', 'B11A95-P1', '[{"sku": "B11A95-TEE", "qty": 2, "unit_price": 5.5}]',
                                                '{"lat": 48.1, "lon": 11.5}', idempotency_key => 'b11a95-place')$$,
    'place_order redelivered with 5.5 / 48.1 for 5.50 / 48.10 under its key replays, not IE010');
SELECT is((SELECT string_agg(a::text, ';' ORDER BY a::text)
             FROM erp.place_order('B11A95-WEB', 'B11A95-P1', '[{"sku": "B11A95-TEE", "qty": 2, "unit_price": 5.50}]',
                                  '{"lat": 48.10, "lon": 11.50}', idempotency_key => 'b11a95-place') a),
          (SELECT v FROM b11a95 WHERE name = 'p1'),
    'the byte-identical redelivery replays (holds)');
SELECT is((SELECT sum(r.qty) FROM erp.reservation r JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'B11A95-P1'),
          2::numeric, 'B11A95-P1 holds its 2 units once');

SELECT * FROM finish();
ROLLBACK;
