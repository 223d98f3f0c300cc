-- 98_kit_holds.sql: checkout holds of kits (issue 16 item 4, SPEC 12, doc/warehouse.md
-- "Checkout holds").  A kit line holds its components as allocation reserves a kit
-- line: whole kits, every component of a kit at one node, the first node by rank whose
-- kit ATP covers the line, else whole kits node by node; above safety stock and the
-- other channels' ring-fences; lot-tracked components first expiry first.  One hold line
-- per component (and node, lot) naming the kit; a conversion hands the component units to
-- the order's kit line exactly as allocation would have written them; expiry and release
-- give every component back; refusals change nothing; erp.verify() stays empty.
--
-- Master data uses codes starting with TAP98- and is rolled back at the end.
BEGIN;
SELECT plan(91);

INSERT INTO erp.node (code, kind) VALUES ('TAP98-N1', 'warehouse'), ('TAP98-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP98-WEB', 'storefront'), ('TAP98-AMZ', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP98-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TAP98-WEB' AND n.code LIKE 'TAP98-N%';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP98-AMZ' AND n.code = 'TAP98-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TAP98-C1', 'component 1', 1, 2), ('TAP98-C2', 'component 2', 1, 2), ('TAP98-C3', 'component 3', 1, 2),
    ('TAP98-X', 'only at N1', 1, 2), ('TAP98-Y', 'only at N2', 1, 2),
    ('TAP98-KIT', 'kit: 2 C1 + 1 C2', 0, 9), ('TAP98-SPLIT', 'kit: X + Y', 0, 9), ('TAP98-KLOT', 'kit: C3 + LOT', 0, 9),
    ('TAP98-BIG', 'kit: 10,000,000,000 C3', 0, 9);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked, min_shelf_life_days) VALUES
    ('TAP98-LOT', 'lots', 1, 2, true, 30);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, v.qty
  FROM (VALUES ('TAP98-KIT', 'TAP98-C1', 2), ('TAP98-KIT', 'TAP98-C2', 1), ('TAP98-SPLIT', 'TAP98-X', 1),
               ('TAP98-SPLIT', 'TAP98-Y', 1), ('TAP98-KLOT', 'TAP98-C3', 1), ('TAP98-KLOT', 'TAP98-LOT', 1),
               ('TAP98-BIG', 'TAP98-C3', 10000000000)) AS v(kit, comp, qty)
  JOIN erp.item k ON k.sku = v.kit JOIN erp.item c ON c.sku = v.comp;
-- C1: safety stock 2 at N1; C2: 1 unit ring-fenced for the other channel
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 2 FROM erp.item i, erp.node n WHERE i.sku = 'TAP98-C1' AND n.code = 'TAP98-N1';
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 1 FROM erp.item i, erp.channel c WHERE i.sku = 'TAP98-C2' AND c.code = 'TAP98-AMZ';
SELECT erp.receive('TAP98-C1', 'TAP98-N1', 10), erp.receive('TAP98-C1', 'TAP98-N2', 4),
       erp.receive('TAP98-C2', 'TAP98-N1', 4), erp.receive('TAP98-C2', 'TAP98-N2', 6),
       erp.receive('TAP98-X', 'TAP98-N1', 5), erp.receive('TAP98-Y', 'TAP98-N2', 5),
       erp.receive('TAP98-C3', 'TAP98-N1', 5);
SELECT erp.receive('TAP98-LOT', 'TAP98-N1', 2, lot => 'L-SHORT', expires_on => current_date + 10);
SELECT erp.receive('TAP98-LOT', 'TAP98-N1', 1, lot => 'L-EARLY', expires_on => current_date + 100);
SELECT erp.receive('TAP98-LOT', 'TAP98-N1', 3, lot => 'L-LATE', expires_on => current_date + 200);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.atp(sku text DEFAULT 'TAP98-KIT', node text DEFAULT NULL) RETURNS bigint LANGUAGE sql
    AS $$ SELECT erp.atp(sku, node, 'TAP98-WEB') $$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
-- a hold's open lines as sku@node[/lot]:qty[<kit], by sku, node, lot, kit
CREATE FUNCTION pg_temp.lines(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(i.sku || '@' || n.code || COALESCE('/' || lt.lot_code, '') || ':' || l.qty || COALESCE('<' || k.sku, ''),
                      ',' ORDER BY i.sku, n.code, lt.lot_code, k.sku NULLS FIRST)
      FROM erp.checkout_hold_line l JOIN erp.item i ON i.item_id = l.item_id JOIN erp.node n ON n.node_id = l.node_id
      LEFT JOIN erp.lot lt ON lt.item_id = l.item_id AND lt.lot_id = l.lot_id
      LEFT JOIN erp.item k ON k.item_id = l.kit_item_id
     WHERE l.item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND l.hold_id = pg_temp.hold_of(ref) AND l.open $$;
-- an order's reservations as line:sku@node[/lot]=qty
CREATE FUNCTION pg_temp.res(ext text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(r.line_no || ':' || i.sku || '@' || n.code || COALESCE('/' || lt.lot_code, '') || '=' || r.qty,
                      ',' ORDER BY r.line_no, i.sku, n.code, lt.lot_code)
      FROM erp.reservation r JOIN erp.sales_order o ON o.order_id = r.order_id
      JOIN erp.item i ON i.item_id = r.item_id JOIN erp.node n ON n.node_id = r.node_id
      LEFT JOIN erp.lot lt ON lt.item_id = r.item_id AND lt.lot_id = r.lot_id
     WHERE o.external_ref = ext $$;
-- units of sku at node in a state
CREATE FUNCTION pg_temp.bal(sku text, node text, st erp.stock_state) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
      JOIN erp.node n USING (node_id) WHERE i.sku = $1 AND n.code = node AND b.state = st $$;
-- everything a hold, a conversion, an expiry or a refusal could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, lot_id, qty, open, kit_item_id), ';'
                           ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, lot_id, state, qty), ';' ORDER BY item_id, node_id, lot_id, state)
           FROM erp.stock_balance),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event), (SELECT count(*) FROM erp.sales_order),
        (SELECT count(*) FROM erp.reservation))) $$;
-- makes a hold's TTL pass (the tests cannot wait for a clock)
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;

SELECT has_column('erp', 'checkout_hold_line', 'kit_item_id', 'erp.checkout_hold_line.kit_item_id exists');

-- Before any hold ----------------------------------------------------------------------------
-- C1: N1 10 - safety 2 = 8, N2 4; C2: N1 4 - fence 1 = 3, N2 6 - 1 = 5
-- KIT (2 C1 + 1 C2): N1 min(8 / 2, 3) = 3, N2 min(4 / 2, 5) = 2

SELECT is(pg_temp.atp(), 5::bigint, 'before any hold: 3 kits at N1 + 2 at N2');
SELECT is(pg_temp.atp('TAP98-C1'), 12::bigint, 'C1: 8 at N1 + 4 at N2');
SELECT is(pg_temp.atp('TAP98-C2'), 8::bigint, 'C2: 3 at N1 + 5 at N2');

-- A kit hold: whole kits at the first node that covers the line --------------------------------

SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K1', '[{"sku": "TAP98-KIT", "qty": 2}]') > 0, 'hold K1 of 2 kits');
SELECT is(pg_temp.lines('TAP98-K1'), 'TAP98-C1@TAP98-N1:4<TAP98-KIT,TAP98-C2@TAP98-N1:2<TAP98-KIT',
    'one hold line per component at N1 (the best rank that covers 2 kits), kits x units per kit, naming the kit');
SELECT is(pg_temp.atp(), 3::bigint, 'the kit''s ATP drops by the 2 held kits at once: N1 min(4 / 2, 1) + N2 2');
SELECT is(pg_temp.atp('TAP98-KIT', 'TAP98-N1'), 1::bigint, 'at N1: 1 kit left');
SELECT is(pg_temp.atp('TAP98-C1'), 8::bigint, 'C1''s ATP drops by 4');
SELECT is(pg_temp.atp('TAP98-C2'), 6::bigint, 'C2''s ATP drops by 2');
SELECT is(pg_temp.bal('TAP98-C1', 'TAP98-N1', 'reserved'), 4::bigint, 'N1 holds 4 C1 reserved');
SELECT is(pg_temp.bal('TAP98-C2', 'TAP98-N1', 'reserved'), 2::bigint, 'and 2 C2');
SELECT is((SELECT units FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K1')), 6::bigint,
    'the hold''s units are the component units: 4 + 2');
SELECT is((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K1')),
    ARRAY[(SELECT item_id FROM erp.item WHERE sku = 'TAP98-C1'), (SELECT item_id FROM erp.item WHERE sku = 'TAP98-C2')],
    'item_ids lists the components its lines name, not the kit');
SELECT is((SELECT count(*) FROM erp.stock_move WHERE ref = 'hold:' || pg_temp.hold_of('TAP98-K1') AND event = 'allocate'),
    2::bigint, 'two ledger rows (one per component), ref hold:<id>, event allocate');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

-- A retry --------------------------------------------------------------------------------------

SELECT pg_temp.state() AS s0 \gset
SELECT is(erp.hold('TAP98-WEB', 'TAP98-K1', '[{"sku": "TAP98-KIT", "qty": 2}]'), pg_temp.hold_of('TAP98-K1'),
    'a retry with the same lines returns the same id');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-K1', '[{"sku": "TAP98-KIT", "qty": 1}]')$$), 'IE010',
    'the same cart with other lines: IE010');
SELECT is(pg_temp.state(), :'s0', 'neither changed anything');

-- No node covers the line: whole kits node by node in rank order --------------------------------

SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K2', '[{"sku": "TAP98-KIT", "qty": 3}]') > 0, 'hold K2 of 3 kits');
SELECT is(pg_temp.lines('TAP98-K2'),
    'TAP98-C1@TAP98-N1:2<TAP98-KIT,TAP98-C1@TAP98-N2:4<TAP98-KIT,TAP98-C2@TAP98-N1:1<TAP98-KIT,TAP98-C2@TAP98-N2:2<TAP98-KIT',
    'no node has 3 kits: 1 whole kit at N1, 2 at N2, every component of a kit at its node');
SELECT is(pg_temp.atp(), 0::bigint, 'the kit''s ATP is 0');
SELECT is((SELECT string_agg(event || ':' || qty, ',' ORDER BY move_id) FROM erp.stock_move
            WHERE ref = 'hold:' || pg_temp.hold_of('TAP98-K2')), 'allocate:2,allocate:1,allocate:4,allocate:2',
    'each node is asked for the kits it promises: 4 takes, nothing taken and given back');
SELECT is(pg_temp.atp('TAP98-C1'), 2::bigint, 'C1: N1 keeps its safety stock (10 - 6 held - 2 = 2 promisable), N2 none');
SELECT is(pg_temp.atp('TAP98-C2'), 3::bigint, 'C2: N1 keeps the other channel''s fence (1 available), N2 6 - 2 - 1 = 3');
SELECT is(pg_temp.bal('TAP98-C2', 'TAP98-N1', 'available'), 1::bigint, 'the fenced C2 unit at N1 was not taken');

-- Refusals: exact codes, nothing changed ---------------------------------------------------------

SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-KIT", "qty": 1}]')$$), 'IE001',
    'a third hold of 1 kit: C1 at N1 but no C2 above the fence there, C2 at N2 but no C1: IE001');
SELECT is(pg_temp.atp('TAP98-SPLIT'), 0::bigint, 'SPLIT''s components lie at different nodes only: its ATP is 0');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-SPLIT", "qty": 1}]')$$), 'IE001',
    'a kit whose components are at different nodes only cannot be held (IE001)');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-C3", "qty": 1}, {"sku": "TAP98-SPLIT", "qty": 1}]')$$),
    'IE001', 'all or nothing: with a plain line it could get, still IE001');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-KIT", "qty": 600000000}]')$$), 'IE001',
    '600,000,000 kits (1,200,000,000 C1, one document move as for an order''s kit line): not in stock, IE001, not IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-BIG", "qty": 1000000000}]')$$), 'IE004',
    'kits x units per kit beyond bigint (1,000,000,000 x 10,000,000,000 C3): IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-KIT", "qty": 1000000000001}]')$$), 'IE004',
    'a huge kit quantity: IE004');
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-R', '[{"sku": "TAP98-KIT", "qty": 0}]')$$), 'IE004',
    '0 kits: IE004');
SELECT is(pg_temp.state(), :'s1', 'none of the refused holds changed anything');
SELECT is(pg_temp.atp('TAP98-C3'), 5::bigint, 'C3''s ATP is still 5');

-- Conversion: the order's kit lines take over the component units --------------------------------

SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-BAD1', '[{"sku": "TAP98-KIT", "qty": 2}]',
                                                 hold_ref => pg_temp.hold_of('TAP98-K2'))$$), 'IE010',
    'an order of 2 kits cannot take over a hold of 3 (IE010)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-BAD2',
                                                 '[{"sku": "TAP98-C1", "qty": 6}, {"sku": "TAP98-C2", "qty": 3}]',
                                                 hold_ref => pg_temp.hold_of('TAP98-K2'))$$), 'IE010',
    'nor an order of the components alone: the held units belong to kits (IE010)');
SELECT is(pg_temp.state(), :'s1', 'the refused conversions changed nothing');
SELECT erp.capture_order('TAP98-WEB', 'TAP98-O2', '[{"sku": "TAP98-KIT", "qty": 1}, {"sku": "TAP98-KIT", "qty": 2}]',
                         hold_ref => pg_temp.hold_of('TAP98-K2')) AS o2 \gset
SELECT is(pg_temp.res('TAP98-O2'),
    '1:TAP98-C1@TAP98-N1=2,1:TAP98-C2@TAP98-N1=1,2:TAP98-C1@TAP98-N2=4,2:TAP98-C2@TAP98-N2=2',
    'the kit lines take over the held kits in line order, each kit''s components at one node, as allocation writes them');
SELECT is((SELECT string_agg(line_no || ':' || qty_allocated || '/' || status, ',' ORDER BY line_no)
             FROM erp.order_line WHERE order_id = :o2), '1:1/allocated,2:2/allocated', 'both kit lines are allocated, in kits');
SELECT is((SELECT status::text || ' ' || order_id FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K2')),
    'converted ' || :o2, 'K2 is converted into the order');
SELECT is(pg_temp.lines('TAP98-K2'), NULL, 'its lines are closed');
SELECT is(pg_temp.bal('TAP98-C1', 'TAP98-N1', 'reserved'), 6::bigint, 'nothing moved: N1 still holds 4 + 2 C1 reserved');
SELECT is(pg_temp.atp(), 0::bigint, 'the kit''s ATP is still 0');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the conversion');

-- Expiry gives every component back; ATP before the job already --------------------------------

SELECT pg_temp.expire('TAP98-K1');
SELECT is(pg_temp.atp(), 2::bigint,
    'K1''s TTL passed: before expire_holds runs, N1 has min((4 + 4 - 2) / 2, (1 + 2 - 1)) = 2 kits again');
SELECT is(pg_temp.atp('TAP98-C1'), 6::bigint, 'C1: 4 expired units back at N1');
SELECT is(pg_temp.bal('TAP98-C1', 'TAP98-N1', 'reserved'), 6::bigint, 'while the balance still holds them reserved');
SELECT is(erp.expire_holds(), 1, 'expire_holds expires K1');
SELECT is(pg_temp.atp(), 2::bigint, 'the kit''s ATP is 2 after it as well');
SELECT is(pg_temp.bal('TAP98-C1', 'TAP98-N1', 'reserved'), 2::bigint, 'N1: only the order''s 2 C1 stay reserved');
SELECT is(pg_temp.bal('TAP98-C2', 'TAP98-N1', 'reserved'), 1::bigint, 'and its 1 C2');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K1')), 'expired', 'K1 is expired');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the expiry');

-- Release -----------------------------------------------------------------------------------------

SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K3', '[{"sku": "TAP98-KIT", "qty": 1}]') > 0, 'hold K3 of 1 kit');
SELECT is(pg_temp.atp(), 1::bigint, 'the kit''s ATP 2 - 1');
SELECT is(erp.release_hold(pg_temp.hold_of('TAP98-K3')), 3::bigint, 'releasing it gives back 3 units: 2 C1 + 1 C2');
SELECT is(pg_temp.atp(), 2::bigint, 'the kit''s ATP is 2 again');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K3')), 'released', 'K3 is released');

-- A kit and its component alone in one cart ---------------------------------------------------------

SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K5', '[{"sku": "TAP98-KIT", "qty": 1}, {"sku": "TAP98-C1", "qty": 1}]') > 0,
    'hold K5: 1 kit and 1 C1 alone');
SELECT is(pg_temp.lines('TAP98-K5'), 'TAP98-C1@TAP98-N1:1,TAP98-C1@TAP98-N1:2<TAP98-KIT,TAP98-C2@TAP98-N1:1<TAP98-KIT',
    'the kit''s C1 and the C1 alone are separate lines');
SELECT is((SELECT units || ' ' || cardinality(item_ids) FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP98-K5')),
    '4 2', '4 units; C1 named once in item_ids');
SELECT is(pg_temp.atp(), 1::bigint, 'the kit''s ATP: N1 min((8 - 3 - 2) / 2, 2 - 1) = 1 (N2''s C1 is the order''s)');
SELECT pg_temp.state() AS s5 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-BAD3', '[{"sku": "TAP98-C1", "qty": 3}]',
                                                 hold_ref => pg_temp.hold_of('TAP98-K5'))$$), 'IE010',
    'an order of 3 C1 alone does not take over the held kit (IE010)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-BAD4', '[{"sku": "TAP98-KIT", "qty": 1}]',
                                                 hold_ref => pg_temp.hold_of('TAP98-K5'))$$), 'IE010',
    'an order of the kit alone does not ask for the held C1 (IE010)');
SELECT is(pg_temp.state(), :'s5', 'the refused conversions changed nothing');
SELECT erp.capture_order('TAP98-WEB', 'TAP98-O5', '[{"sku": "TAP98-KIT", "qty": 1}, {"sku": "TAP98-C1", "qty": 2}]',
                         hold_ref => pg_temp.hold_of('TAP98-K5')) AS o5 \gset
SELECT is(pg_temp.res('TAP98-O5'), '1:TAP98-C1@TAP98-N1=2,1:TAP98-C2@TAP98-N1=1,2:TAP98-C1@TAP98-N1=2',
    'the kit line takes the kit''s units, the C1 line its held unit and one more allocated at N1');
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = :o5), 'allocated', 'the order is allocated');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

-- A lot-tracked component: first expiry first ---------------------------------------------------------

SELECT is(pg_temp.atp('TAP98-KLOT'), 4::bigint, 'KLOT (C3 + LOT): min(5, 4 lots with 30 days left) = 4');
SELECT ok(erp.hold('TAP98-WEB', 'TAP98-KL', '[{"sku": "TAP98-KLOT", "qty": 2}]') > 0, 'hold 2 KLOT');
SELECT is(pg_temp.lines('TAP98-KL'),
    'TAP98-C3@TAP98-N1:2<TAP98-KLOT,TAP98-LOT@TAP98-N1/L-EARLY:1<TAP98-KLOT,TAP98-LOT@TAP98-N1/L-LATE:1<TAP98-KLOT',
    'the lot-tracked component first expiry first, skipping the short-dated lot, each line naming its lot');
SELECT is(pg_temp.atp('TAP98-KLOT'), 2::bigint, 'KLOT''s ATP 4 - 2');
SELECT erp.capture_order('TAP98-WEB', 'TAP98-OL', '[{"sku": "TAP98-KLOT", "qty": 2}]', hold_ref => pg_temp.hold_of('TAP98-KL')) AS ol \gset
SELECT is(pg_temp.res('TAP98-OL'), '1:TAP98-C3@TAP98-N1=2,1:TAP98-LOT@TAP98-N1/L-EARLY=1,1:TAP98-LOT@TAP98-N1/L-LATE=1',
    'the conversion keeps the lots');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

-- A partner holds kits at its own nodes only ------------------------------------------------------------

SELECT erp.receive('TAP98-C1', 'TAP98-N2', 2);
CREATE ROLE t98_partner;
GRANT erp_operator, erp_reader TO t98_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't98_partner', node_id FROM erp.node WHERE code = 'TAP98-N2';
SET LOCAL ROLE t98_partner;
SELECT is(pg_temp.atp(), 1::bigint, 'the partner is promised the 1 kit at N2 only');
SELECT ok(erp.hold('TAP98-WEB', 'TAP98-P1', '[{"sku": "TAP98-KIT", "qty": 1}]') > 0, 'a partner holds 1 kit');
RESET ROLE;
SELECT pg_temp.state() AS s6 \gset
SET LOCAL ROLE t98_partner;
SELECT is(pg_temp.err($$SELECT erp.hold('TAP98-WEB', 'TAP98-P2', '[{"sku": "TAP98-KIT", "qty": 1}]')$$), 'IE001',
    'a second kit: none left at its node (IE001), although N1 has one');
RESET ROLE;
SELECT is(pg_temp.state(), :'s6', 'the partner''s refused hold changed nothing');
SELECT is(pg_temp.lines('TAP98-P1'), 'TAP98-C1@TAP98-N2:2<TAP98-KIT,TAP98-C2@TAP98-N2:1<TAP98-KIT',
    'the partner''s kit is held at N2, not at N1 (rank 1)');

-- An order of more kits than held: the hold's kit, then allocation for the rest ----------------------

SELECT erp.receive('TAP98-C1', 'TAP98-N1', 2), erp.receive('TAP98-C2', 'TAP98-N1', 1);
SELECT is(pg_temp.atp('TAP98-KIT', 'TAP98-N1'), 2::bigint, 'N1: min((10 + 2 - 6 - 2) / 2, 4 + 1 - 2 - 1) = 2 kits');
SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K6', '[{"sku": "TAP98-KIT", "qty": 1}]') > 0, 'hold K6 of 1 kit');
SELECT erp.capture_order('TAP98-WEB', 'TAP98-O6', '[{"sku": "TAP98-KIT", "qty": 2}]', hold_ref => pg_temp.hold_of('TAP98-K6')) AS o6 \gset
SELECT is(pg_temp.res('TAP98-O6'), '1:TAP98-C1@TAP98-N1=4,1:TAP98-C2@TAP98-N1=2',
    'the held kit and one more allocated at N1, in the same rows');
SELECT is((SELECT qty_allocated || '/' || status FROM erp.order_line WHERE order_id = :o6), '2/allocated', 'the line has both kits');

-- A kit whose bill changed since the hold is not converted ----------------------------------------------

INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP98-K2C', 'kit: 1 C3', 0, 9);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c WHERE k.sku = 'TAP98-K2C' AND c.sku = 'TAP98-C3';
SELECT ok(erp.hold('TAP98-WEB', 'TAP98-K7', '[{"sku": "TAP98-K2C", "qty": 1}]') > 0, 'hold K7 of 1 K2C (1 C3)');
UPDATE erp.item_component SET qty = 2
 WHERE kit_item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP98-K2C');
SELECT pg_temp.state() AS s7 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-O7', '[{"sku": "TAP98-K2C", "qty": 1}]',
                                                 hold_ref => pg_temp.hold_of('TAP98-K7'))$$), 'IE010',
    'K2C is now 2 C3: the order''s line would not match the 1 held C3 (IE010)');
SELECT throws_like($$SELECT erp.capture_order('TAP98-WEB', 'TAP98-O7', '[{"sku": "TAP98-K2C", "qty": 1}]',
                                             hold_ref => pg_temp.hold_of('TAP98-K7'))$$,
    'the components of kit "TAP98-K2C" changed since hold % was made', 'and says why');
SELECT is(pg_temp.state(), :'s7', 'the refused conversion changed nothing');
SELECT is(erp.release_hold(pg_temp.hold_of('TAP98-K7')), 1::bigint, 'the hold is released: 1 C3 back');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty at the end');

SELECT * FROM finish();
ROLLBACK;
