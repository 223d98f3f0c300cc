-- 12-orders-input.sql: the order functions hold every input to a bound and check
-- partners (issue 9, sections 2, 3 and 5): every refusal has an IE code and
-- changes nothing; a stored ship_to that is no position (an old row) does not
-- stop allocation; one failing order does not stop erp.allocate_pending; a pick
-- exception keeps its scan whole characters; a partner works on its own
-- channel's and nodes' orders only.
--
-- Shares the pgTAP database: master data codes start with TAP12-, and everything
-- is rolled back at the end, except the pick_exception event of the wrong scan
-- (written by a background worker so that it survives the refusal).
BEGIN;
SELECT plan(73);

INSERT INTO erp.item (sku, title, unit_price) VALUES
    ('TAP12-TEE', 'tee', 10.00), ('TAP12-SOCK', 'sock', 2.00);
INSERT INTO erp.node (code, latitude, longitude) VALUES ('TAP12-A', 53.55, 9.99), ('TAP12-B', 48.14, 11.58);
INSERT INTO erp.channel (code) VALUES ('TAP12-WEB'), ('TAP12-B2B');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP12-A' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n
 WHERE c.code = 'TAP12-WEB' AND n.code LIKE 'TAP12-%'
    OR c.code = 'TAP12-B2B' AND n.code = 'TAP12-A';
SELECT erp.receive('TAP12-TEE', 'TAP12-A', 10, ref => 'tap12');
SELECT erp.receive('TAP12-TEE', 'TAP12-B', 10, ref => 'tap12');
SELECT erp.receive('TAP12-SOCK', 'TAP12-A', 10, ref => 'tap12');

CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.sales_order) || '/' || (SELECT count(*) FROM erp.order_line) || '/'
        || (SELECT count(*) FROM erp.reservation) || '/' || (SELECT count(*) FROM erp.stock_move)
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT order_id FROM erp.sales_order WHERE external_ref = ref
$$;
SELECT pg_temp.books() AS books_before \gset

-- capture_order: bounds on every argument ------------------------------------------

SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', repeat('x', 96 * 1024), '[{"sku": "TAP12-TEE", "qty": 1}]')$$,
    'IE004', NULL, 'a 96 kB external_ref is refused with IE004 (was 54000 from the index), or one webhook could break the unique index');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', repeat('x', 256), '[{"sku": "TAP12-TEE", "qty": 1}]')$$,
    'IE004', NULL, 'an external_ref over 255 bytes is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order(repeat('c', 65), 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]')$$,
    'IE004', NULL, 'a channel code over 64 bytes is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '{"sku": "TAP12-TEE", "qty": 1}')$$,
    'IE004', NULL, 'lines that are no JSON array are refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[]')$$,
    'IE004', NULL, 'an order without lines is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1',
        (SELECT jsonb_agg(jsonb_build_object('sku', 'TAP12-TEE', 'qty', 1)) FROM generate_series(1, 1001)))$$,
    'IE004', 'order "R1" from channel "TAP12-WEB" has 1001 lines', 'an order of 1,001 lines is refused (IE004): at most 1,000');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[1]')$$,
    'IE004', NULL, 'a line that is no JSON object is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": 12, "qty": 1}]')$$,
    'IE004', NULL, 'a sku that is no JSON string is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', jsonb_build_array(jsonb_build_object('sku', repeat('s', 65), 'qty', 1)))$$,
    'IE004', NULL, 'a sku over 64 bytes is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 0}]')$$,
    'IE004', NULL, 'qty 0 is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 10000000000}]')$$,
    'IE004', NULL, 'qty above 1e9 is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1.5}]')$$,
    'IE004', NULL, 'a fractional qty is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 99999999999999999999999}]')$$,
    'IE004', NULL, 'a qty beyond bigint is refused (IE004), not 22003');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1, "unit_price": -1}]')$$,
    'IE004', NULL, 'a negative unit_price is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1, "unit_price": 10000000000000}]')$$,
    'IE004', NULL, 'a unit_price beyond numeric(14,2) is refused (IE004), not 22003');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1, "unit_price": 1.234}]')$$,
    'IE004', NULL, 'a unit_price with more than 2 decimals is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1, "unit_price": true}]')$$,
    'IE004', NULL, 'a unit_price that is no number is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', priority => 2000000)$$,
    'IE004', NULL, 'a priority beyond +-1,000,000 is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', '{"lat": 1e400, "lon": 0}')$$,
    'IE004', NULL, 'ship_to {"lat": 1e400} is refused at capture (IE004), or allocate and cancel would fail with 22003 later');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', '{"lat": 999, "lon": 0}')$$,
    'IE004', NULL, 'a latitude of 999 is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', '{"lat": "53", "lon": 10}')$$,
    'IE004', NULL, 'a latitude that is no JSON number is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', '{"lat": 53}')$$,
    'IE004', NULL, 'a latitude without a longitude is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]', '[53, 10]')$$,
    'IE004', NULL, 'a ship_to that is no JSON object is refused (IE004)');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'R1', '[{"sku": "TAP12-TEE", "qty": 1}]',
        jsonb_build_object('street', repeat('x', 5000)))$$,
    'IE004', NULL, 'a ship_to over 4 kB is refused (IE004)');
SELECT is(pg_temp.books(), :'books_before', 'none of the refused captures changed anything');
SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', repeat('g', 255), '[{"sku": "TAP12-TEE", "qty": 1}]')$$,
    'a 255-byte marketplace order id is accepted');

SELECT throws_ok($$SELECT erp.atp('TAP12-TEE', at => 'infinity')$$, 'IE004', NULL,
    'erp.atp refuses a promise date at infinity (IE004)');
SELECT throws_ok($$SELECT erp.atp(repeat('s', 65))$$, 'IE004', NULL, 'erp.atp refuses a sku over 64 bytes (IE004)');

-- a redelivery is compared with what was captured, also after its item retired
SELECT erp.capture_order('TAP12-WEB', 'RET1', '[{"sku": "TAP12-SOCK", "qty": 1}]') AS ret1 \gset
UPDATE erp.item SET active = false WHERE sku = 'TAP12-SOCK';
SELECT is(erp.capture_order('TAP12-WEB', 'RET1', '[{"sku": "TAP12-SOCK", "qty": 1}]'), :ret1::bigint,
    'a redelivery of an order captured before its item retired returns the same id, not IE010');
SELECT throws_ok($$SELECT erp.capture_order('TAP12-WEB', 'RET2', '[{"sku": "TAP12-SOCK", "qty": 1}]')$$, 'IE010', NULL,
    'a new order of a retired item is refused (IE010)');
UPDATE erp.item SET active = true WHERE sku = 'TAP12-SOCK';
SELECT lives_ok($$SELECT erp.cancel_order(pg_temp.ord('RET1'))$$, 'that order is cancelled again');

-- a NULL order id, over-long scans and texts ------------------------------------

SELECT throws_ok('SELECT * FROM erp.allocate(NULL)', 'IE003', 'no order id given',
    'erp.allocate(NULL) says no order id was given (IE003), not "unknown order 0"');
SELECT throws_ok('SELECT erp.cancel_order(NULL)', 'IE003', 'no order id given', 'erp.cancel_order(NULL): IE003');
SELECT throws_ok($$SELECT erp.pick(NULL, 'TAP12-TEE')$$, 'IE003', 'no order id given', 'erp.pick(NULL, ...): IE003');
SELECT throws_ok($$SELECT erp.short_pick(NULL, 'TAP12-TEE', 1)$$, 'IE003', 'no order id given', 'erp.short_pick(NULL, ...): IE003');
SELECT throws_ok('SELECT erp.pack(NULL)', 'IE003', 'no order id given', 'erp.pack(NULL): IE003');
SELECT throws_ok('SELECT erp.ship(NULL)', 'IE003', 'no order id given', 'erp.ship(NULL): IE003');
SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', 'T1', '[{"sku": "TAP12-TEE", "qty": 2}]')$$,
    'an ordinary order is captured');
SELECT lives_ok($$SELECT * FROM erp.allocate(pg_temp.ord('T1'))$$, 'and allocated');
SELECT pg_temp.books() AS books_t1 \gset
SELECT throws_ok($$SELECT erp.pick(pg_temp.ord('T1'), repeat('x', 65))$$, 'IE007', NULL,
    'a scan over 64 bytes matches no item: a wrong scan (IE007), recorded as a pick exception like any other');
SELECT throws_ok($$SELECT erp.pick(pg_temp.ord('T1'), NULL)$$, 'IE004', NULL, 'a NULL scan is refused (IE004)');
SELECT throws_ok($$SELECT erp.short_pick(pg_temp.ord('T1'), repeat('s', 65), 1)$$, 'IE004', NULL,
    'a short_pick sku over 64 bytes is refused (IE004)');
SELECT throws_ok($$SELECT erp.ship(pg_temp.ord('T1'), 'DHL', repeat('t', 1025))$$, 'IE004', NULL,
    'a tracking text over 1 kB is refused (IE004)');
SELECT is(pg_temp.books(), :'books_t1', 'the refused order steps changed nothing');

-- a wrong scan of multibyte characters is kept as whole characters -------------------

SELECT throws_ok($$SELECT erp.pick(pg_temp.ord('T1'), repeat('é', 30))$$, 'IE007', NULL,
    'a wrong scan is refused (IE007)');
SELECT is((SELECT payload->>'scan' FROM erp.event
            WHERE kind = 'pick_exception' AND (payload->>'uncommitted_order_id')::bigint = pg_temp.ord('T1')
            ORDER BY event_id DESC LIMIT 1),
    repeat('é', 30),
    'the pick exception keeps the whole multibyte scan (60 bytes), never half a character, or the event would break pg_restore');

-- a stored ship_to that is no position (a row from before the check) ----------------

SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', 'OLD1', '[{"sku": "TAP12-TEE", "qty": 1}]')$$,
    'an order to become an old row');
UPDATE erp.sales_order SET ship_to = '{"lat": 1e400, "lon": 0}' WHERE order_id = pg_temp.ord('OLD1');
SELECT lives_ok($$SELECT * FROM erp.allocate(pg_temp.ord('OLD1'))$$,
    'erp.allocate reads a stored ship_to of 1e400 as no position instead of failing with 22003');
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = pg_temp.ord('OLD1')), 'allocated',
    'and the order is allocated');
SELECT lives_ok($$SELECT erp.cancel_order(pg_temp.ord('OLD1'))$$, 'erp.cancel_order of that order works too');

-- erp.allocate_pending: one failing order does not stop the batch ------------------

SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', 'BAD1', '[{"sku": "TAP12-TEE", "qty": 1}]')$$, 'a pending order that will fail');
SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', 'GOOD1', '[{"sku": "TAP12-TEE", "qty": 1}]')$$, 'a pending order that will not');
SELECT lives_ok($$SELECT erp.capture_order('TAP12-WEB', 'OLD2', '[{"sku": "TAP12-TEE", "qty": 1}]')$$, 'a pending old row');
UPDATE erp.sales_order SET ship_to = '{"lat": 1e400, "lon": 0}' WHERE order_id = pg_temp.ord('OLD2');
CREATE FUNCTION pg_temp.fail_bad1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id = pg_temp.ord('BAD1') THEN
        RAISE EXCEPTION 'order BAD1 cannot hold stock' USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tap12_fail_bad1 BEFORE INSERT ON erp.reservation FOR EACH ROW EXECUTE FUNCTION pg_temp.fail_bad1();
SELECT lives_ok('SELECT erp.allocate_pending()',
    'erp.allocate_pending goes on when one order fails (a WARNING names it), or one bad order would block every waiting order');
SELECT is((SELECT string_agg(external_ref || '=' || status, ',' ORDER BY external_ref) FROM erp.sales_order
            WHERE external_ref IN ('BAD1', 'GOOD1', 'OLD2')),
    'BAD1=open,GOOD1=allocated,OLD2=allocated',
    'the failing order stays open with nothing held; the others, the old row with ship_to 1e400 too, are allocated');
SELECT is((SELECT count(*) FROM erp.reservation WHERE order_id = pg_temp.ord('BAD1')), 0::bigint,
    'nothing of the failing order was kept');
DROP TRIGGER tap12_fail_bad1 ON erp.reservation;
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() finds nothing after the batch');

-- partners: their own channels, orders and nodes only -----------------------------

CREATE ROLE tap12_partner;
GRANT erp_operator TO tap12_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap12_partner', node_id FROM erp.node WHERE code = 'TAP12-B';
SELECT lives_ok($$SELECT erp.capture_order('TAP12-B2B', 'PA1', '[{"sku": "TAP12-SOCK", "qty": 1}]')$$,
    'an order of node A (the B2B channel is fulfilled from A only)');
SELECT lives_ok($$SELECT * FROM erp.allocate(pg_temp.ord('PA1'))$$, 'allocated at node A');
SELECT lives_ok($$SELECT erp.capture_order('TAP12-B2B', 'PA2', '[{"sku": "TAP12-SOCK", "qty": 1}]')$$,
    'another order of node A, waiting');
SELECT count(*) AS events_before FROM erp.event WHERE kind = 'pick_exception' \gset
-- (a partner does not see other nodes' orders: the ids are read before SET ROLE)
SELECT pg_temp.ord('PA1') AS pa1, pg_temp.ord('PA2') AS pa2 \gset
SET ROLE tap12_partner;
SELECT throws_ok($$SELECT erp.capture_order('TAP12-B2B', 'PX', '[{"sku": "TAP12-SOCK", "qty": 1}]')$$, 'IE009', NULL,
    'a partner cannot create orders on a channel none of its nodes fulfils (IE009)');
SELECT throws_ok('SELECT erp.cancel_order(' || :pa1 || ')', 'IE009', NULL,
    'a partner cannot cancel another node''s order (IE009)');
SELECT throws_ok('SELECT * FROM erp.allocate(' || :pa2 || ')', 'IE009', NULL,
    'a partner cannot allocate another node''s order (IE009)');
SELECT throws_ok('SELECT erp.pick(' || :pa1 || ', ''NOT-A-SKU'')', 'IE009', NULL,
    'a partner cannot record pick exceptions on another node''s order (IE009 before the scan is looked at)');
SELECT throws_ok('SELECT erp.short_pick(' || :pa1 || ', ''TAP12-SOCK'', 1)', 'IE009', NULL,
    'a partner cannot short-pick another node''s order (IE009)');
SELECT throws_ok('SELECT erp.pack(' || :pa1 || ')', 'IE009', NULL, 'nor pack it (IE009)');
SELECT throws_ok('SELECT erp.ship(' || :pa1 || ')', 'IE009', NULL, 'nor ship it (IE009)');
SELECT is(erp.allocate_pending(), 1,
    'a partner''s allocate_pending serves the one waiting order of a channel its node fulfils (BAD1), not the other node''s');
SELECT erp.capture_order('TAP12-WEB', 'PB1', '[{"sku": "TAP12-TEE", "qty": 3}]') AS pb1 \gset
SELECT isnt(:pb1::bigint, NULL, 'a partner captures an order on a channel its node fulfils');
SELECT results_eq('SELECT node, qty FROM erp.allocate(' || :pb1 || ')', $$VALUES ('TAP12-B', 3::bigint)$$,
    'a partner''s allocation takes stock at its own node B only, although A ranks first and has tees');
RESET ROLE;
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = pg_temp.ord('PA2')), 'open',
    'the other node''s waiting order was left alone');
SELECT is((SELECT string_agg(DISTINCT n.code, ',') FROM erp.reservation r JOIN erp.node n USING (node_id)
            WHERE r.order_id = pg_temp.ord('BAD1')), 'TAP12-B',
    'the order the partner''s allocate_pending served holds stock at the partner''s node only');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'pick_exception'), :'events_before'::bigint,
    'no pick exception was recorded on the other node''s order');

SELECT * FROM finish();
ROLLBACK;
