-- 72_order_holds.sql: order holds (issue 17 part 1, doc/orchestration.md).
-- A held order reserves nothing (its reserved units are released when it is put on
-- hold), erp.allocate refuses it (IE010), erp.allocate_pending skips it and fills it
-- once every hold is released; an order may arrive on hold (ship_to {"hold": reason});
-- a channel whose held_orders_reserve is set keeps and takes reservations for held
-- orders.  Credit holds are released by erp_approver only; a partner acts on its own
-- orders only.  Hold age shows in erp.kpi_order_aging and erp.worklist.  Every
-- refusal changes nothing.
--
-- Master data uses codes starting with TAP72- and is rolled back at the end.
BEGIN;
SELECT plan(64);

INSERT INTO erp.node (code, kind) VALUES ('TAP72-N1', 'warehouse'), ('TAP72-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP72-WEB', 'storefront'), ('TAP72-PAY', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n
 WHERE c.code IN ('TAP72-WEB', 'TAP72-PAY') AND n.code = 'TAP72-N1';
INSERT INTO erp.channel_order_rules (channel_id, held_orders_reserve)
SELECT channel_id, true FROM erp.channel WHERE code = 'TAP72-PAY';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP72-A', 'plain', 4, 10, false);
SELECT erp.receive('TAP72-A', 'TAP72-N1', 10);

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
-- an order as text: status, then each line's status:qty_allocated, then units reserved
CREATE FUNCTION pg_temp.o(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT o.status || ' ' || (SELECT string_agg(l.status || ':' || l.qty_allocated, ',' ORDER BY l.line_no)
                                 FROM erp.order_line l WHERE l.order_id = o.order_id)
           || ' reserved ' || COALESCE((SELECT sum(r.qty) FROM erp.reservation r WHERE r.order_id = o.order_id), 0)
      FROM erp.sales_order o WHERE o.external_ref = ref $$;
CREATE FUNCTION pg_temp.avail() RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
     WHERE i.sku = 'TAP72-A' AND b.state = 'available' $$;
-- everything a hold or release could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', order_id, status), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty_allocated, qty_backordered, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT string_agg(concat_ws(',', order_id, line_no, node_id, qty), ';' ORDER BY order_id, line_no, node_id) FROM erp.reservation),
        (SELECT string_agg(concat_ws(',', order_hold_id, reason, note, released_at IS NULL, released_by), ';' ORDER BY order_hold_id) FROM erp.order_hold),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

-- A hold releases what the order reserved, and allocation waits -------------------------

SELECT erp.capture_order('TAP72-WEB', 'TAP72-O1', '[{"sku": "TAP72-A", "qty": 4}]');
SELECT ok((SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP72-O1'))) = 1, 'O1 is allocated');
SELECT is(pg_temp.o('TAP72-O1'), 'allocated allocated:4 reserved 4', 'O1 reserves its 4 units');
SELECT is(pg_temp.avail(), 6::bigint, '6 of 10 units stay available');

SELECT ok(erp.hold_order(pg_temp.ord('TAP72-O1'), 'payment', 'card authorization pending') > 0, 'hold_order returns the hold id');
SELECT is(pg_temp.o('TAP72-O1'), 'open open:0 reserved 0',
    'holding an order of a channel without held_orders_reserve releases its 4 reserved units: it is open again');
SELECT is(pg_temp.avail(), 10::bigint, 'the 4 units are available again');
SELECT is((SELECT payload->>'reason' || ' ' || (payload->>'units_released') FROM erp.event
            WHERE kind = 'order_held' AND order_id = pg_temp.ord('TAP72-O1')),
    'payment 4', 'an order_held event names the reason and the 4 units released');
SELECT is(erp.hold_order(pg_temp.ord('TAP72-O1'), 'payment'),
    (SELECT order_hold_id FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP72-O1')),
    'holding it again for the same reason returns the same hold');
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP72-O1')), 1::bigint,
    'and writes no second hold');

SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err(format('SELECT * FROM erp.allocate(%s)', pg_temp.ord('TAP72-O1'))),
    format('IE010: cannot allocate order %s: it is on hold (payment)', pg_temp.ord('TAP72-O1')),
    'erp.allocate of a held order is refused with IE010 naming the reason');
SELECT is(pg_temp.state(), :'s0', 'the refused allocation changed nothing');

SELECT erp.allocate_pending();
SELECT is(pg_temp.o('TAP72-O1'), 'open open:0 reserved 0', 'erp.allocate_pending skips the held order');

-- two reasons: released one by one
SELECT ok(erp.hold_order(pg_temp.ord('TAP72-O1'), 'fraud') > 0, 'the order is held for fraud review too');
SELECT is(erp.release_order(pg_temp.ord('TAP72-O1'), 'payment'), 1, 'releasing the payment hold releases 1 hold');
SELECT erp.allocate_pending();
SELECT is(pg_temp.o('TAP72-O1'), 'open open:0 reserved 0', 'still held for fraud: allocate_pending skips it');
SELECT is(erp.release_order(pg_temp.ord('TAP72-O1')), 1, 'releasing all releases the fraud hold');
SELECT is(erp.release_order(pg_temp.ord('TAP72-O1')), 0, 'releasing an order with no open hold releases 0 and is no error');
SELECT is((SELECT string_agg((payload->>'reasons') || ' still_held=' || (payload->>'still_held'), '; ' ORDER BY event_id)
             FROM erp.event WHERE kind = 'order_released' AND order_id = pg_temp.ord('TAP72-O1')),
    'payment still_held=true; fraud still_held=false', 'each release records an order_released event');
SELECT ok(erp.allocate_pending() >= 1, 'allocate_pending serves the released order');
SELECT is(pg_temp.o('TAP72-O1'), 'allocated allocated:4 reserved 4', 'the released order is filled: 4 units reserved');
SELECT is(pg_temp.avail(), 6::bigint, '6 units available again');

-- Arriving on hold ------------------------------------------------------------------------

SELECT erp.capture_order('TAP72-WEB', 'TAP72-O2', '[{"sku": "TAP72-A", "qty": 3}]', '{"hold": "fraud", "lat": 50, "lon": 8}');
SELECT is((SELECT string_agg(reason || ' ' || note, ',') FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP72-O2') AND released_at IS NULL),
    'fraud on capture', 'ship_to {"hold": "fraud"} captures the order on a fraud hold');
SELECT is(erp.capture_order('TAP72-WEB', 'TAP72-O2', '[{"sku": "TAP72-A", "qty": 3}]', '{"hold": "fraud", "lat": 50, "lon": 8}'),
    pg_temp.ord('TAP72-O2'), 'a redelivery returns the same order');
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP72-O2')), 1::bigint,
    'and writes no second hold');
SELECT results_eq($$SELECT qty, order_status::text FROM erp.place_order('TAP72-WEB', 'TAP72-O3', '[{"sku": "TAP72-A", "qty": 2}]', '{"hold": "payment"}')$$,
    $$VALUES (0::bigint, 'open')$$, 'place_order of an order arriving on hold captures it and reserves nothing (no error)');
SELECT is(pg_temp.o('TAP72-O3'), 'open open:0 reserved 0', 'O3 waits on its payment hold');
SELECT erp.allocate_pending();
SELECT is(pg_temp.o('TAP72-O2') || ' / ' || pg_temp.o('TAP72-O3'), 'open open:0 reserved 0 / open open:0 reserved 0',
    'allocate_pending skips both orders that arrived on hold');
SELECT is(erp.release_order(pg_temp.ord('TAP72-O3')), 1, 'O3 is released');
SELECT ok(erp.allocate_pending() >= 1, 'allocate_pending serves it');
SELECT is(pg_temp.o('TAP72-O3'), 'allocated allocated:2 reserved 2', 'O3 is filled after its release');
SELECT is(pg_temp.avail(), 4::bigint, '4 units available');

-- Refusals --------------------------------------------------------------------------------

SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err(format('SELECT erp.hold_order(%s, %L)', pg_temp.ord('TAP72-O3'), 'whim')),
    'IE003: unknown hold reason "whim"', 'an unknown reason is refused (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.hold_order(%s, NULL)', pg_temp.ord('TAP72-O3'))),
    'IE003: a hold needs a reason', 'no reason is refused (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.hold_order(%s, %L)', pg_temp.ord('TAP72-O3'), repeat('x', 100000))),
    'IE003: unknown hold reason "(longer than 64 bytes)"', 'a huge reason is refused without echoing it (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.hold_order(%s, %L, %L)', pg_temp.ord('TAP72-O3'), 'payment', repeat('n', 1025))),
    'IE004: hold note is 1025 bytes long', 'a note over 1024 bytes is refused (IE004)');
SELECT is(pg_temp.err('SELECT erp.hold_order(9223372036854775807, ''payment'')'),
    'IE003: unknown order 9223372036854775807', 'an unknown order is refused (IE003)');
SELECT is(pg_temp.err('SELECT erp.release_order(9223372036854775807)'),
    'IE003: unknown order 9223372036854775807', 'releasing an unknown order is refused (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.release_order(%s, %L)', pg_temp.ord('TAP72-O3'), 'whim')),
    'IE003: unknown hold reason "whim"', 'releasing an unknown reason is refused (IE003)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP72-WEB', 'TAP72-O9', '[{"sku": "TAP72-A", "qty": 1}]', '{"hold": 42}')$$),
    'IE004: invalid ship_to hold: not a JSON string', 'a ship_to hold that is no string is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP72-WEB', 'TAP72-O9', '[{"sku": "TAP72-A", "qty": 1}]', '{"hold": "later"}')$$),
    'IE003: unknown hold reason "later"', 'a ship_to hold of an unknown reason is refused (IE003)');
SELECT is(pg_temp.state(), :'s1', 'the refusals changed nothing');
SELECT erp.pick(pg_temp.ord('TAP72-O3'), 'TAP72-A', 1);
SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err(format('SELECT erp.hold_order(%s, %L)', pg_temp.ord('TAP72-O3'), 'payment')),
    format('IE010: cannot hold order %s: it is picking', pg_temp.ord('TAP72-O3')),
    'an order being picked cannot be held (IE010)');
SELECT is(pg_temp.state(), :'s1', 'the refused hold of a picking order changed nothing');

-- Rights: credit holds, partners -------------------------------------------------------------

CREATE ROLE t72_operator;
GRANT erp_operator, erp_reader TO t72_operator;
CREATE ROLE t72_approver;
GRANT erp_operator, erp_reader, erp_approver TO t72_approver;
CREATE ROLE t72_partner;
GRANT erp_operator, erp_reader TO t72_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't72_partner', node_id FROM erp.node WHERE code = 'TAP72-N2';

SELECT erp.capture_order('TAP72-WEB', 'TAP72-O4', '[{"sku": "TAP72-A", "qty": 1}]', '{"hold": "credit"}');
SELECT pg_temp.state() AS s2 \gset
SELECT pg_temp.ord('TAP72-O1') AS o1, pg_temp.ord('TAP72-O2') AS o2, pg_temp.ord('TAP72-O4') AS o4 \gset
SET LOCAL ROLE t72_operator;
SELECT is(pg_temp.err(format('SELECT erp.release_order(%s)', :o4)),
    format('IE009: role "t72_operator" may not release the credit hold of order %s', :o4),
    'an operator may not release a credit hold (IE009)');
SELECT is(pg_temp.err(format('SELECT erp.release_order(%s, %L)', :o4, 'credit')),
    format('IE009: role "t72_operator" may not release the credit hold of order %s', :o4),
    'not even by naming the reason (IE009)');
RESET ROLE;
SET LOCAL ROLE t72_partner;
SELECT is(left(pg_temp.err(format('SELECT erp.hold_order(%s, %L)', :o1, 'fraud')), 6), 'IE009:',
    'a partner may not hold an order of another node (IE009)');
SELECT is(left(pg_temp.err(format('SELECT erp.release_order(%s)', :o2)), 6), 'IE009:',
    'nor release one (IE009)');
SELECT is((SELECT count(*) FROM erp.order_hold), 0::bigint, 'a partner sees no hold of orders it does not serve');
RESET ROLE;
SELECT is(pg_temp.state(), :'s2', 'the refused releases and holds changed nothing');
SET LOCAL ROLE t72_approver;
SELECT is(erp.release_order(pg_temp.ord('TAP72-O4')), 1, 'an approver releases the credit hold');
RESET ROLE;
SELECT is((SELECT released_by FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP72-O4')), 't72_approver',
    'the hold records who released it');

-- A channel whose held orders keep their reservations -----------------------------------------

SELECT erp.capture_order('TAP72-PAY', 'TAP72-O5', '[{"sku": "TAP72-A", "qty": 2}]');
SELECT ok((SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP72-O5'))) = 1, 'O5 is allocated');
SELECT ok(erp.hold_order(pg_temp.ord('TAP72-O5'), 'payment') > 0, 'O5 is held');
SELECT is(pg_temp.o('TAP72-O5'), 'allocated allocated:2 reserved 2',
    'with held_orders_reserve the held order keeps its 2 reserved units');
SELECT is((SELECT (payload->>'units_released')::int FROM erp.event WHERE kind = 'order_held' AND order_id = pg_temp.ord('TAP72-O5')),
    0, 'its order_held event released 0 units');
SELECT erp.capture_order('TAP72-PAY', 'TAP72-O6', '[{"sku": "TAP72-A", "qty": 1}]', '{"hold": "payment"}');
SELECT ok((SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP72-O6'))) = 1, 'a held order of that channel may be allocated');
SELECT is(pg_temp.o('TAP72-O6'), 'allocated allocated:1 reserved 1', 'and reserves its unit while held');
SELECT erp.pick(pg_temp.ord('TAP72-O6'), 'TAP72-A', 1);
SELECT pg_temp.state() AS s3 \gset
SELECT is(pg_temp.err(format('SELECT erp.pack(%s)', pg_temp.ord('TAP72-O6'))),
    format('IE010: cannot pack order %s: it is on hold (payment)', pg_temp.ord('TAP72-O6')),
    'but nothing of a held order is packed (IE010)');
SELECT is(pg_temp.state(), :'s3', 'the refused pack changed nothing');

-- Order aging and the worklist -----------------------------------------------------------------

-- O2 (3 units of 10.00, fraud) has waited 30 hours; O6 (PAY) was held now
UPDATE erp.order_hold SET held_at = held_at - interval '30 hours' WHERE order_id = pg_temp.ord('TAP72-O2');
SELECT results_eq($$SELECT status, orders, on_hold, oldest_hold_hours FROM erp.kpi_order_aging ORDER BY status$$,
    $$VALUES ('allocated', 2::bigint, 1::bigint, 0.0::numeric), ('open', 2::bigint, 1::bigint, 30.0::numeric),
             ('picking', 2::bigint, 1::bigint, 0.0::numeric)$$,
    'kpi_order_aging counts the held orders per status and the oldest hold''s age in hours');
SELECT results_eq($$SELECT ref, value, days_waiting, score FROM erp.worklist WHERE kind = 'order_hold' ORDER BY score DESC$$,
    format($$VALUES ('order:%s', 30.00::numeric, 1.3::numeric, 35.36::numeric), ('order:%s', 20.00::numeric, 0.0::numeric, 20.00::numeric), ('order:%s', 10.00::numeric, 0.0::numeric, 10.00::numeric)$$,
           pg_temp.ord('TAP72-O2'), pg_temp.ord('TAP72-O5'), pg_temp.ord('TAP72-O6')),
    'the worklist has a row per held order: value of its unshipped lines, days since the hold, score = value x (1 + days / 7)');
SELECT is(erp.release_order(pg_temp.ord('TAP72-O2')), 1, 'O2''s fraud hold is released');
SELECT is((SELECT count(*) FROM erp.worklist WHERE kind = 'order_hold' AND ref = 'order:' || pg_temp.ord('TAP72-O2')), 0::bigint,
    'a released order leaves the worklist');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong after the holds and releases');

SELECT * FROM finish();
ROLLBACK;
