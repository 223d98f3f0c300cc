-- 88_orch_leftovers.sql: issue 17's remaining rules (doc/orchestration.md).
-- erp.change_line edits a kit line's quantity in kits (a smaller one releases exactly the
-- kits above it, each component by its units per kit; a larger one allocates whole kits);
-- erp.release_line refuses a kit line (IE010, nothing changed); a parcel of a kit line or of
-- a substituted line returned to sender comes back as its components / its substitute, at
-- the customer's prices; erp.kpi_order_edits counts the edits per channel, kind and day.
--
-- Master data uses codes starting with TAP88- and is rolled back at the end.
BEGIN;
SELECT plan(24);
SET LOCAL TimeZone = 'UTC';

INSERT INTO erp.node (code) VALUES ('TAP88-N1');
INSERT INTO erp.channel (code) VALUES ('TAP88-WEB'), ('TAP88-B2B');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code LIKE 'TAP88-%' AND n.code = 'TAP88-N1';
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES
    ('TAP88-BOX', 'gift box', 30, false), ('TAP88-TEE', 'tee', 20, false), ('TAP88-SOCK', 'sock', 5, false),
    ('TAP88-A', 'ordered', 12, false), ('TAP88-S', 'substitute', 9, false);
-- a box is 1 tee and 2 socks
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, CASE c.sku WHEN 'TAP88-TEE' THEN 1 ELSE 2 END
  FROM erp.item k, erp.item c WHERE k.sku = 'TAP88-BOX' AND c.sku IN ('TAP88-TEE', 'TAP88-SOCK');
SELECT erp.receive('TAP88-TEE', 'TAP88-N1', 10), erp.receive('TAP88-SOCK', 'TAP88-N1', 20),
       erp.receive('TAP88-S', 'TAP88-N1', 10);
SELECT erp.set_substitute('TAP88-A', 'TAP88-S', 1);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT COALESCE(string_agg(sku || '=' || qty, ', ' ORDER BY sku), 'nothing')
      FROM (SELECT i.sku, sum(r.qty) AS qty FROM erp.reservation r JOIN erp.item i ON i.item_id = r.item_id
             WHERE r.order_id = pg_temp.ord(ref) AND r.qty > 0 GROUP BY i.sku) x $$;
CREATE FUNCTION pg_temp.line(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(l.line_no || '=' || l.status || ':' || l.qty || ':' || l.qty_allocated, ',' ORDER BY l.line_no)
      FROM erp.order_line l WHERE l.order_id = pg_temp.ord(ref) $$;
CREATE FUNCTION pg_temp.avail() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(sku || ' ' || available || '/' || reserved, ', ' ORDER BY sku)
      FROM erp.availability WHERE sku IN ('TAP88-TEE', 'TAP88-SOCK', 'TAP88-S') $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', order_id, status), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty, qty_allocated, qty_backordered, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT string_agg(concat_ws(',', order_id, line_no, item_id, node_id, qty, qty_picked), ';' ORDER BY order_id, line_no, item_id) FROM erp.reservation),
        (SELECT count(*) FROM erp.order_edit), (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

-- Kit lines' quantities ---------------------------------------------------------------------------

SELECT erp.allocate(erp.capture_order('TAP88-WEB', 'TAP88-K1', '[{"sku": "TAP88-BOX", "qty": 4}, {"sku": "TAP88-TEE", "qty": 1}]'));
SELECT is(pg_temp.held('TAP88-K1'), 'TAP88-SOCK=8, TAP88-TEE=5', '4 boxes (4 tees, 8 socks) and 1 tee are reserved');
SELECT ok(erp.change_line(pg_temp.ord('TAP88-K1'), 1, 1) > 0, 'the box line goes down to 1');
SELECT is(pg_temp.held('TAP88-K1') || ' | ' || pg_temp.line('TAP88-K1'),
    'TAP88-SOCK=2, TAP88-TEE=2 | 1=allocated:1:1,2=allocated:1:1',
    'exactly 3 boxes are released: 3 tees and 6 socks; the line holds 1 box');
SELECT is(pg_temp.avail(), 'TAP88-S 10/0, TAP88-SOCK 18/2, TAP88-TEE 8/2', 'the components are available again');
SELECT is((SELECT kind || ' ' || old_qty || '>' || new_qty || ' released ' || units_released || ' reserved ' || units_reserved
             FROM erp.order_edit WHERE order_id = pg_temp.ord('TAP88-K1') ORDER BY order_edit_id DESC LIMIT 1),
    'change_qty 4>1 released 9 reserved 0', 'the edit counts the 9 units of the 3 kits released');
SELECT ok(erp.change_line(pg_temp.ord('TAP88-K1'), 1, 9) > 0, 'the box line goes up to 9');
SELECT is(pg_temp.held('TAP88-K1') || ' | ' || pg_temp.line('TAP88-K1'),
    'TAP88-SOCK=18, TAP88-TEE=10 | 1=allocated:9:9,2=allocated:1:1',
    'nine whole boxes fit (9 tees + 1 tee = all 10 tees, 18 socks)');
SELECT is((SELECT units_reserved FROM erp.order_edit WHERE order_id = pg_temp.ord('TAP88-K1') ORDER BY order_edit_id DESC LIMIT 1),
    24::bigint, 'the edit reserved the 24 units of the 8 new boxes');

SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err(format('SELECT erp.release_line(%s, 1, 1)', pg_temp.ord('TAP88-K1'))),
    format('IE010: line 1 of order %s is a kit: its reserved units are not released in part', pg_temp.ord('TAP88-K1')),
    'a kit line''s units are not released in part (IE010)');
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 1, 0)', pg_temp.ord('TAP88-K1'))),
    'IE004: invalid quantity 0 for a line', 'a kit line''s quantity 0 is refused (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 1, 1000000001)', pg_temp.ord('TAP88-K1'))),
    'IE004: invalid quantity 1000000001 for a line', 'a huge kit quantity is refused (IE004)');
SELECT erp.pick(pg_temp.ord('TAP88-K1'), 'TAP88-TEE', 1);
SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 1, 2)', pg_temp.ord('TAP88-K1'))),
    format('IE010: line 1 of order %s has picked units', pg_temp.ord('TAP88-K1')),
    'a kit line with a picked component is not edited (IE010)');
SELECT is(pg_temp.state(), :'s1', 'the refused edits changed nothing');
SELECT ok(:'s0' <> :'s1', '(the pick itself did change the state)');

-- Returned to sender: a kit's components and a substitute, at the customer's prices ----------------

SELECT erp.allocate(erp.capture_order('TAP88-B2B', 'TAP88-K2', '[{"sku": "TAP88-A", "qty": 2, "unit_price": 12, "substitutes": true}]'));
SELECT erp.cancel_order(pg_temp.ord('TAP88-K1'));
SELECT erp.allocate(erp.capture_order('TAP88-B2B', 'TAP88-K3', '[{"sku": "TAP88-BOX", "qty": 1, "unit_price": 30}]'));
SELECT erp.pick(pg_temp.ord('TAP88-K2'), 'TAP88-S', 2), erp.pack(pg_temp.ord('TAP88-K2'));
SELECT erp.ship(pg_temp.ord('TAP88-K2')) AS ship2 \gset
SELECT erp.pick(pg_temp.ord('TAP88-K3'), 'TAP88-TEE', 1), erp.pick(pg_temp.ord('TAP88-K3'), 'TAP88-SOCK', 2),
       erp.pack(pg_temp.ord('TAP88-K3'));
SELECT erp.ship(pg_temp.ord('TAP88-K3')) AS ship3 \gset
SELECT erp.carrier_event(:ship3, 'returned_to_sender', '2026-12-04 15:00+00') AS t3 \gset
SELECT results_eq(format($$SELECT i.sku, l.qty, l.qty_received, l.unit_price, l.reason
                             FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = (SELECT rma_id FROM erp.shipment_tracking WHERE shipment_tracking_id = %s)
                            ORDER BY i.sku$$, :t3),
    $$VALUES ('TAP88-SOCK', 2::bigint, 2::bigint, 5.00::numeric, 'returned_to_sender'),
             ('TAP88-TEE', 1::bigint, 1::bigint, 20.00::numeric, 'returned_to_sender')$$,
    'a returned kit parcel comes back as its components: 1 tee at 20.00, 2 socks at 5.00 (30.00 split by list price 20 : 2 x 5)');
SELECT is((SELECT (payload->>'units')::int FROM erp.event WHERE kind = 'carrier_returned' AND order_id = pg_temp.ord('TAP88-K3')), 3,
    'its carrier_returned event counts the 3 units');
SELECT erp.carrier_event(:ship2, 'returned_to_sender', '2026-12-04 16:00+00') AS t2 \gset
SELECT results_eq(format($$SELECT i.sku, l.qty, l.unit_price
                             FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = (SELECT rma_id FROM erp.shipment_tracking WHERE shipment_tracking_id = %s)$$, :t2),
    $$VALUES ('TAP88-S', 2::bigint, 12.00::numeric)$$,
    'a returned parcel of a substituted line comes back as the substitute at the line''s 12.00');
SELECT is((SELECT string_agg(sku || ' ' || state || ' ' || qty, ', ' ORDER BY sku, state)
             FROM (SELECT i.sku, b.state::text, sum(b.qty) AS qty FROM erp.stock_balance b JOIN erp.item i USING (item_id)
                    WHERE i.sku IN ('TAP88-TEE', 'TAP88-SOCK', 'TAP88-S') AND b.state = 'inspection' GROUP BY 1, 2) x),
    'TAP88-S inspection 2, TAP88-SOCK inspection 2, TAP88-TEE inspection 1', 'every unit waits for inspection');

-- erp.kpi_order_edits ---------------------------------------------------------------------------

SELECT erp.capture_order('TAP88-B2B', 'TAP88-E1', '[{"sku": "TAP88-SOCK", "qty": 2}, {"sku": "TAP88-SOCK", "qty": 1}]');
SELECT erp.allocate(pg_temp.ord('TAP88-E1'));
SELECT erp.change_line(pg_temp.ord('TAP88-E1'), 1, 5), erp.change_line(pg_temp.ord('TAP88-E1'), 1, 3),
       erp.release_line(pg_temp.ord('TAP88-E1'), 2, 1), erp.add_line(pg_temp.ord('TAP88-E1'), 'TAP88-SOCK', 4),
       erp.cancel_line(pg_temp.ord('TAP88-E1'), 3);
SELECT results_eq($$SELECT channel, kind, day = current_date, edits, orders, units_added, units_removed, units_released, units_reserved
                      FROM erp.kpi_order_edits WHERE channel LIKE 'TAP88-%' ORDER BY channel, kind$$,
    $$VALUES ('TAP88-B2B', 'add_line', true, 1::bigint, 1::bigint, 4::bigint, 0::bigint, 0::bigint, 5::bigint),
             ('TAP88-B2B', 'cancel_line', true, 1::bigint, 1::bigint, 0::bigint, 4::bigint, 4::bigint, 0::bigint),
             ('TAP88-B2B', 'change_qty', true, 2::bigint, 1::bigint, 3::bigint, 2::bigint, 2::bigint, 3::bigint),
             ('TAP88-B2B', 'release', true, 1::bigint, 1::bigint, 0::bigint, 0::bigint, 1::bigint, 0::bigint),
             ('TAP88-WEB', 'change_qty', true, 2::bigint, 1::bigint, 8::bigint, 3::bigint, 9::bigint, 24::bigint)$$,
    'per channel, kind and day: edits, orders, units added and removed, released and reserved (add_line reserved 5: its 4 and the unit release_line gave back on line 2)');
SELECT is((SELECT sum(edits)::bigint FROM erp.kpi_order_edits WHERE channel LIKE 'TAP88-%'),
    (SELECT count(*) FROM erp.order_edit e JOIN erp.sales_order o USING (order_id) JOIN erp.channel c USING (channel_id) WHERE c.code LIKE 'TAP88-%'),
    'the view counts every edit once');

-- A ship-complete order an edit adds a line to --------------------------------------------------
-- (the race itself is test/isolation/specs/orch_ship_complete_race.spec: one session cannot race itself)

INSERT INTO erp.node (code) VALUES ('TAP88-N2');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 2 FROM erp.channel c, erp.node n WHERE c.code = 'TAP88-B2B' AND n.code = 'TAP88-N2';
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES ('TAP88-M', 'mug', 6, false), ('TAP88-N', 'n2 only', 6, false);
SELECT erp.receive('TAP88-M', 'TAP88-N1', 5), erp.receive('TAP88-N', 'TAP88-N2', 5);
SELECT erp.allocate(erp.capture_order('TAP88-B2B', 'TAP88-SC', '[{"sku": "TAP88-M", "qty": 2}]', '{"ship_complete": true}'));
SELECT erp.add_line(pg_temp.ord('TAP88-SC'), 'TAP88-N', 2);
SELECT is(pg_temp.held('TAP88-SC') || ' | ' || pg_temp.line('TAP88-SC'), 'TAP88-M=2 | 1=allocated:2:2,2=open:2:0',
    'a ship-complete order keeps the units it held before (its node N1) and its added line, only at N2, waits open');
SELECT erp.receive('TAP88-N', 'TAP88-N1', 2);
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP88-SC') || ' | ' || pg_temp.line('TAP88-SC'), 'TAP88-M=2, TAP88-N=2 | 1=allocated:2:2,2=allocated:2:2',
    'once N1 has the item the line is filled there, at the order''s one node');
SELECT is((SELECT count(DISTINCT node_id) FROM erp.reservation WHERE order_id = pg_temp.ord('TAP88-SC')), 1::bigint, 'one node');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
