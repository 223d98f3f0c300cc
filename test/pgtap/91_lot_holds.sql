-- 91_lot_holds.sql: checkout holds of lot-tracked items (issue 16, doc/warehouse.md
-- "Checkout holds").  A hold reserves first expiry first from lots with enough shelf
-- life, in bins and outside them, exactly as allocation would (StockLotsFefo), and its
-- lines name their lots; ATP drops by exactly the held units; a conversion hands the
-- lots to the order unchanged; an expired hold gives the lot's units back; a lot whose
-- shelf life runs out between hold and conversion stays with the cart; a kit is held by
-- its components (98_kit_holds), all or nothing; every refusal changes nothing;
-- erp.verify() stays empty.
BEGIN;
SELECT plan(34);

INSERT INTO erp.node (code, kind) VALUES ('TAP91-DC', 'warehouse'), ('TAP91-N2', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP91-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP91-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TAP91-WEB' AND n.code LIKE 'TAP91-%';
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked, min_shelf_life_days) VALUES
    ('TAP91-VIT', 'vitamins', 'health', 1, 2, true, 30);
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP91-C', 'component', 1, 2), ('TAP91-KIT', 'kit', 0, 9);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP91-KIT' AND c.sku = 'TAP91-C';
INSERT INTO erp.bin (node_id, code, pick_sequence)
SELECT n.node_id, v.code, v.seq FROM erp.node n, (VALUES ('A', 1), ('B', 2)) AS v(code, seq) WHERE n.code = 'TAP91-DC';
-- L-SHORT (10 days: below the floor) in bin A; L-EARLY (100 days) 1 in A, 2 in B;
-- L-LATE (200 days) 4 outside bins; L-N2 (150 days) 2 at the second node
SELECT erp.receive('TAP91-VIT', 'TAP91-DC', 2, lot => 'L-SHORT', expires_on => current_date + 10);
SELECT erp.receive('TAP91-VIT', 'TAP91-DC', 3, lot => 'L-EARLY', expires_on => current_date + 100);
SELECT erp.receive('TAP91-VIT', 'TAP91-DC', 4, lot => 'L-LATE', expires_on => current_date + 200);
SELECT erp.receive('TAP91-VIT', 'TAP91-N2', 2, lot => 'L-N2', expires_on => current_date + 150);
SELECT erp.receive('TAP91-C', 'TAP91-DC', 6);
SELECT erp.putaway('TAP91-VIT', 'TAP91-DC', 'A', 2, lot => 'L-SHORT');
SELECT erp.putaway('TAP91-VIT', 'TAP91-DC', 'A', 1, lot => 'L-EARLY');
SELECT erp.putaway('TAP91-VIT', 'TAP91-DC', 'B', 2, lot => 'L-EARLY');

CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
-- a hold's open lines: "node/lot=qty ..."
CREATE FUNCTION pg_temp.hold_lines(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(format('%s/%s=%s', n.code, coalesce(l.lot_code, '-'), hl.qty), ' '
                               ORDER BY n.code, l.lot_code), 'none')
      FROM erp.checkout_hold_line hl JOIN erp.node n USING (node_id)
      LEFT JOIN erp.lot l ON l.item_id = hl.item_id AND l.lot_id = hl.lot_id
     WHERE hl.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP91-VIT')
       AND hl.hold_id = pg_temp.hold_of(ref) AND hl.open $$;
-- an order's reservations: "node/lot=qty ..."
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(format('%s/%s=%s', n.code, l.lot_code, r.qty), ' ' ORDER BY n.code, l.lot_code), 'none')
      FROM erp.reservation r JOIN erp.sales_order o USING (order_id) JOIN erp.node n ON n.node_id = r.node_id
      JOIN erp.lot l ON l.lot_id = r.lot_id
     WHERE o.external_ref = ref $$;
-- the item's units per bin, lot and state at the DC
CREATE FUNCTION pg_temp.bins() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s/%s:%s=%s', coalesce(b.code, '-'), l.lot_code, q.state, q.qty), ' '
                      ORDER BY coalesce(b.code, '-'), l.lot_code, q.state)
      FROM (SELECT s.bin_id, s.lot_id, st.state, sum(st.qty) AS qty
              FROM erp.stock_slot s
             CROSS JOIN LATERAL (VALUES ('available'::erp.stock_state, s.available), ('reserved', s.reserved)) AS st(state, qty)
             WHERE s.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP91-VIT')
               AND s.node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP91-DC')
             GROUP BY 1, 2, 3 HAVING sum(st.qty) <> 0) q
      JOIN erp.lot l ON l.lot_id = q.lot_id
      LEFT JOIN erp.bin b ON b.bin_id = q.bin_id $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, lot_id, qty, open), ';' ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, lot_id, state, qty), ';' ORDER BY item_id, node_id, lot_id, state) FROM erp.stock_balance),
        (SELECT string_agg(concat_ws(',', order_id, line_no, node_id, lot_id, qty), ';' ORDER BY order_id, line_no, node_id, lot_id) FROM erp.reservation),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.sales_order))) $$;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;

SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 9::bigint,
    'ATP for the channel: 3 L-EARLY + 4 L-LATE at the DC, 2 L-N2 at the second node; L-SHORT is not promised');

-- A hold reserves first expiry first, across bins -----------------------------------------
SELECT ok(erp.hold('TAP91-WEB', 'TAP91-C1', '[{"sku": "TAP91-VIT", "qty": 4}]') > 0, 'a hold of 4 units of a lot-tracked item');
SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 5::bigint, 'ATP drops by exactly the 4 held units');
SELECT is(pg_temp.hold_lines('TAP91-C1'), 'TAP91-DC/L-EARLY=3 TAP91-DC/L-LATE=1',
    'its lines name their lots: the 3 of L-EARLY (earliest with enough shelf life), then 1 of L-LATE');
SELECT is(pg_temp.bins(),
    '-/L-LATE:available=3 -/L-LATE:reserved=1 A/L-EARLY:reserved=1 A/L-SHORT:available=2 B/L-EARLY:reserved=2',
    'reserved where they lie: L-EARLY in bins A and B, L-LATE outside bins; L-SHORT untouched');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty with the hold open');
SELECT is(erp.hold('TAP91-WEB', 'TAP91-C1', '[{"sku": "TAP91-VIT", "qty": 4}]'), pg_temp.hold_of('TAP91-C1'),
    'a retry of the cart returns the same hold');

-- Conversion keeps the lots -----------------------------------------------------------------
SELECT pg_temp.state() AS s0 \gset
SELECT erp.capture_order('TAP91-WEB', 'TAP91-O1', '[{"sku": "TAP91-VIT", "qty": 4}]', hold_ref => pg_temp.hold_of('TAP91-C1')) AS o1 \gset
SELECT is(pg_temp.held('TAP91-O1'), 'TAP91-DC/L-EARLY=3 TAP91-DC/L-LATE=1', 'the order holds the hold''s lots unchanged');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP91-C1')), 'converted', 'the hold is converted');
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = :o1), 'allocated', 'the order is allocated');
SELECT is((SELECT count(*) FROM erp.stock_move m WHERE m.ref = 'order:' || :o1), 0::bigint,
    'no unit moved: the conversion writes no ledger row');
SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 5::bigint, 'ATP unchanged by the conversion');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the conversion');

-- Expiry gives the lot's units back ---------------------------------------------------------
SELECT ok(erp.hold('TAP91-WEB', 'TAP91-C2', '[{"sku": "TAP91-VIT", "qty": 4}]') > 0, 'a second hold of 4');
SELECT is(pg_temp.hold_lines('TAP91-C2'), 'TAP91-DC/L-LATE=3 TAP91-N2/L-N2=1',
    'the DC has 3 promisable units (L-LATE) left: the 4th comes from the second node''s lot');
SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 1::bigint, 'ATP: the last L-N2 unit');
SELECT pg_temp.expire('TAP91-C2');
SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 5::bigint, 'its TTL passed: the 4 units count again before the job runs');
SELECT is(erp.expire_holds(), 1, 'expire_holds expires it');
SELECT is(pg_temp.bins(),
    '-/L-LATE:available=3 -/L-LATE:reserved=1 A/L-EARLY:reserved=1 A/L-SHORT:available=2 B/L-EARLY:reserved=2',
    'the 3 L-LATE units are available again at the DC (the order''s units stay reserved)');
SELECT is((SELECT sum(b.qty) FROM erp.stock_balance b JOIN erp.lot l ON l.item_id = b.item_id AND l.lot_id = b.lot_id
            WHERE l.lot_code = 'L-N2' AND b.state = 'available'), 2::numeric, 'and lot L-N2 has its 2 units back');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the expiry');

-- A lot whose shelf life runs out between hold and conversion stays with the cart ------------
SELECT ok(erp.hold('TAP91-WEB', 'TAP91-C3', '[{"sku": "TAP91-VIT", "qty": 2}]') > 0, 'a hold of 2 L-LATE units');
UPDATE erp.lot SET expires_on = current_date + 29 WHERE lot_code = 'L-LATE';
SELECT is(erp.atp('TAP91-VIT', 'TAP91-DC', 'TAP91-WEB'), 0::bigint,
    'L-LATE now has 29 days left, below the 30-day floor: the DC promises nothing more');
SELECT erp.capture_order('TAP91-WEB', 'TAP91-O3', '[{"sku": "TAP91-VIT", "qty": 2}]', hold_ref => pg_temp.hold_of('TAP91-C3')) AS o3 \gset
SELECT is(pg_temp.held('TAP91-O3'), 'TAP91-DC/L-LATE=2',
    'the conversion keeps the 2 held L-LATE units: the hold promised them, for at most its TTL (a day)');

-- Refusals change nothing -------------------------------------------------------------------
SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err($$SELECT erp.hold('TAP91-WEB', 'TAP91-R', '[{"sku": "TAP91-KIT", "qty": 4}]')$$), 'IE001',
    'a kit is held by its components (98_kit_holds): 4 kits need 8 of the component''s 6 units (IE001)');
SELECT is(erp.atp('TAP91-VIT', NULL, 'TAP91-WEB'), 2::bigint,
    'ATP: the 2 L-N2 units at the second node (the last L-LATE unit at the DC is short-dated now)');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP91-WEB', 'TAP91-R', '[{"sku": "TAP91-VIT", "qty": 3}]')$$), 'IE001',
    'a hold of 3 is more than ATP: refused whole (IE001), the short-dated unit is not taken');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP91-WEB', 'TAP91-R', '[{"sku": "TAP91-VIT", "qty": 1000000000000}]')$$), 'IE004',
    'a huge quantity (IE004)');
SELECT is(pg_temp.state(), :'s1', 'none of the refused holds changed anything');

-- A partner holds a lot at its own node only -------------------------------------------------
CREATE ROLE t91_partner;
GRANT erp_operator, erp_reader TO t91_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't91_partner', node_id FROM erp.node WHERE code = 'TAP91-N2';
SET LOCAL ROLE t91_partner;
SELECT ok(erp.hold('TAP91-WEB', 'TAP91-P1', '[{"sku": "TAP91-VIT", "qty": 2}]') > 0, 'a partner of the second node holds 2 units');
RESET ROLE;
SELECT is(pg_temp.hold_lines('TAP91-P1'), 'TAP91-N2/L-N2=2', 'they are its node''s lot L-N2, never the DC''s');
SELECT pg_temp.state() AS s2 \gset
SET LOCAL ROLE t91_partner;
SELECT is(pg_temp.err($$SELECT erp.hold('TAP91-WEB', 'TAP91-P2', '[{"sku": "TAP91-VIT", "qty": 1}]')$$), 'IE001',
    'its node has nothing left: the DC''s lots are out of its reach (IE001)');
RESET ROLE;
SELECT is(pg_temp.state(), :'s2', 'the partner''s refused hold changed nothing');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty at the end');

SELECT * FROM finish();
ROLLBACK;
