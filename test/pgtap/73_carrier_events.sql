-- 73_carrier_events.sql: carrier events (issue 17 part 3, doc/orchestration.md).
-- erp.carrier_event records a scan once per (shipment, status, at): a resent scan returns
-- the same id and changes nothing.  A failed scan raises a carrier_failed event and the
-- parcel is on the worklist while its last scan is failed; the first returned_to_sender
-- scan authorizes and receives a return of the parcel's units (reason returned_to_sender)
-- at the node that shipped them, so they wait for inspection; a second one opens none.
-- Refusals change nothing; a partner scans its own shipments only.
--
-- Master data uses codes starting with TAP73- and is rolled back at the end.
BEGIN;
SELECT plan(32);

INSERT INTO erp.node (code, kind) VALUES ('TAP73-DC', 'warehouse'), ('TAP73-3PL', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP73-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP73-WEB' AND n.code = 'TAP73-DC';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP73-TEE', 'tee', 4, 20), ('TAP73-MUG', 'mug', 2, 8);
SELECT erp.receive('TAP73-TEE', 'TAP73-DC', 10), erp.receive('TAP73-MUG', 'TAP73-DC', 10);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- ships an order of 2 tees (20.00) and 1 mug (8.00): returns the shipment id
CREATE FUNCTION pg_temp.shipped(ref text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP73-WEB', ref, '[{"sku": "TAP73-TEE", "qty": 2, "unit_price": 20}, {"sku": "TAP73-MUG", "qty": 1, "unit_price": 8}]');
BEGIN
    PERFORM * FROM erp.allocate(o);
    PERFORM erp.pick(o, 'TAP73-TEE', 2);
    PERFORM erp.pick(o, 'TAP73-MUG', 1);
    PERFORM erp.pack(o);
    RETURN erp.ship(o, 'DHL', 'TRK-' || ref);
END
$$;
-- stock of the two items at the DC, per state with units
CREATE FUNCTION pg_temp.stock() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(i.sku || ' ' || b.state || ' ' || b.qty, ', ' ORDER BY i.sku, b.state::text)
      FROM (SELECT item_id, node_id, state, sum(qty) AS qty FROM erp.stock_balance GROUP BY 1, 2, 3 HAVING sum(qty) <> 0) b
      JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id)
     WHERE i.sku LIKE 'TAP73-%' AND n.code = 'TAP73-DC' $$;
-- everything a carrier event could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', shipment_tracking_id, status, at, detail, rma_id), ';' ORDER BY shipment_tracking_id) FROM erp.shipment_tracking),
        (SELECT string_agg(concat_ws(',', rma_id, status), ';' ORDER BY rma_id) FROM erp.rma),
        (SELECT string_agg(concat_ws(',', rma_line_id, qty, qty_received), ';' ORDER BY rma_line_id) FROM erp.rma_line),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

SELECT pg_temp.shipped('TAP73-O1') AS s1 \gset
SELECT pg_temp.shipped('TAP73-O2') AS s2 \gset
SELECT is(pg_temp.stock(), 'TAP73-MUG available 8, TAP73-TEE available 6', 'two parcels of 2 tees and 1 mug left the DC');

-- Scans and redelivery -----------------------------------------------------------------------

SELECT ok(erp.carrier_event(:s1, 'picked_up', '2026-12-01 10:00+00') > 0, 'a pick-up scan is recorded');
SELECT erp.carrier_event(:s1, 'in_transit', '2026-12-01 18:00+00', '{"hub": "Hamburg"}') AS t2 \gset
SELECT pg_temp.state() AS before_resend \gset
SELECT is(erp.carrier_event(:s1, 'in_transit', '2026-12-01 18:00+00', '{"hub": "Hamburg"}'), :t2::bigint,
    'the same scan sent again returns the id it got the first time');
SELECT is(pg_temp.state(), :'before_resend', 'and changes nothing');
SELECT is((SELECT count(*) FROM erp.shipment_tracking WHERE shipment_id = :s1), 2::bigint, 'shipment 1 has 2 scans');

-- A failed scan ----------------------------------------------------------------------------------

SELECT erp.carrier_event(:s1, 'failed', '2026-12-02 09:00+00', '{"reason": "address not found"}') AS t3 \gset
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'carrier_failed' AND order_id = (SELECT order_id FROM erp.shipment WHERE shipment_id = :s1)),
    1::bigint, 'a failed scan raises one carrier_failed event');
SELECT is((SELECT (payload->>'shipment_id')::bigint || ' ' || (payload->'detail'->>'reason') FROM erp.event WHERE kind = 'carrier_failed'),
    :s1 || ' address not found', 'the event names the shipment and carries the carrier''s detail');
SELECT is((SELECT n.code FROM erp.event e JOIN erp.node n USING (node_id) WHERE e.kind = 'carrier_failed'), 'TAP73-DC',
    'the event names the node that shipped the parcel');
SELECT pg_temp.state() AS before_resend \gset
SELECT is(erp.carrier_event(:s1, 'failed', '2026-12-02 09:00+00', '{"reason": "address not found"}'), :t3::bigint,
    'the failed scan resent returns the same id');
SELECT is(pg_temp.state(), :'before_resend', 'and raises no second event');
SELECT results_eq(format($$SELECT kind, ref, node, value FROM erp.worklist WHERE ref = 'shipment:%s'$$, :s1),
    format($$VALUES ('carrier_exception', 'shipment:%s', 'TAP73-DC', 48.00::numeric)$$, :s1),
    'the failed parcel is on the worklist at its node, worth its 2 x 20.00 + 1 x 8.00');
SELECT ok(erp.carrier_event(:s1, 'in_transit', '2026-12-02 19:00+00') > 0, 'a later scan of the parcel');
SELECT is((SELECT count(*) FROM erp.worklist WHERE kind = 'carrier_exception'), 0::bigint,
    'once the last scan is no longer failed the parcel leaves the worklist');
SELECT ok(erp.carrier_event(:s1, 'failed', '2026-12-01 12:00+00') > 0, 'a failed scan reported late, older than the last scan');
SELECT is((SELECT count(*) FROM erp.worklist WHERE kind = 'carrier_exception'), 0::bigint,
    'does not put the parcel back on the worklist (the last scan by the carrier''s time counts)');

-- Returned to sender -----------------------------------------------------------------------------

SELECT erp.carrier_event(:s2, 'returned_to_sender', '2026-12-04 15:00+00') AS t5 \gset
SELECT is((SELECT rma_id IS NOT NULL FROM erp.shipment_tracking WHERE shipment_tracking_id = :t5), true,
    'a returned_to_sender scan opens a return');
SELECT results_eq(format($$SELECT i.sku, l.qty, l.qty_received, l.reason, r.status::text
                             FROM erp.rma r JOIN erp.rma_line l USING (rma_id) JOIN erp.item i USING (item_id)
                            WHERE r.rma_id = (SELECT rma_id FROM erp.shipment_tracking WHERE shipment_tracking_id = %s)
                            ORDER BY i.sku$$, :t5),
    $$VALUES ('TAP73-MUG', 1::bigint, 1::bigint, 'returned_to_sender', 'received'),
             ('TAP73-TEE', 2::bigint, 2::bigint, 'returned_to_sender', 'received')$$,
    'the return holds the parcel''s 2 tees and 1 mug, received, reason returned_to_sender');
SELECT is(pg_temp.stock(), 'TAP73-MUG available 8, TAP73-MUG inspection 1, TAP73-TEE available 6, TAP73-TEE inspection 2',
    'the units are back at the DC waiting for inspection');
SELECT is((SELECT (payload->>'units')::int FROM erp.event WHERE kind = 'carrier_returned'), 3,
    'a carrier_returned event counts the 3 units');
SELECT pg_temp.state() AS before_resend \gset
SELECT is(erp.carrier_event(:s2, 'returned_to_sender', '2026-12-04 15:00+00'), :t5::bigint, 'the scan resent returns the same id');
SELECT is(pg_temp.state(), :'before_resend', 'and opens no second return');
SELECT ok(erp.carrier_event(:s2, 'returned_to_sender', '2026-12-05 08:00+00') > 0, 'a second returned_to_sender scan at another time');
SELECT is((SELECT count(*) FROM erp.rma WHERE order_id = (SELECT order_id FROM erp.shipment WHERE shipment_id = :s2)), 1::bigint,
    'is recorded but opens no second return');
SELECT is(pg_temp.stock(), 'TAP73-MUG available 8, TAP73-MUG inspection 1, TAP73-TEE available 6, TAP73-TEE inspection 2',
    'and moves no stock');

-- Refusals ---------------------------------------------------------------------------------------

SELECT pg_temp.state() AS before_refusals \gset
SELECT is(pg_temp.err(format('SELECT erp.carrier_event(%s, %L, now())', :s1, 'lost')),
    'IE003: unknown carrier status "lost"', 'an unknown status is refused (IE003)');
SELECT is(pg_temp.err('SELECT erp.carrier_event(9223372036854775807, ''delivered'', now())'),
    'IE003: unknown shipment 9223372036854775807', 'an unknown shipment is refused (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.carrier_event(%s, %L, NULL)', :s1, 'delivered')),
    format('IE004: a carrier event of shipment %s needs the time of the scan', :s1), 'a scan without a time is refused (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.carrier_event(%s, %L, now(), %L)', :s1, 'delivered', '[1, 2]')),
    'IE004: invalid carrier event detail: not a JSON object', 'a detail that is no object is refused (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.carrier_event(%s, %L, now(), jsonb_build_object(''note'', repeat(''x'', 5000)))', :s1, 'delivered')),
    'IE004: carrier event detail is 5012 bytes long', 'a detail over 4096 bytes is refused (IE004)');
CREATE ROLE t73_partner;
GRANT erp_operator, erp_reader TO t73_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't73_partner', node_id FROM erp.node WHERE code = 'TAP73-3PL';
SET LOCAL ROLE t73_partner;
SELECT is(left(pg_temp.err(format('SELECT erp.carrier_event(%s, %L, now())', :s1, 'delivered')), 6), 'IE009:',
    'a partner may not record scans of another node''s shipment (IE009)');
RESET ROLE;
SELECT is(pg_temp.state(), :'before_refusals', 'the refused scans changed nothing');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong after the scans and the return');

SELECT * FROM finish();
ROLLBACK;
