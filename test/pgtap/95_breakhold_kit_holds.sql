-- 95_breakhold_kit_holds.sql: adversarial pass on checkout holds of kits and on holds against
-- ATP readers and ring-fences (issue 16 item 4, SPEC 12, doc/warehouse.md "Checkout holds").
-- Each block states the exact numbers it expects; every refusal is followed by a check that
-- nothing changed (md5 of holds, hold lines, balances, ledger, events, orders, reservations);
-- erp.verify() is asked after each step that writes.
--
-- Master data uses codes starting with TB95- and is rolled back at the end.
BEGIN;
SELECT plan(108);

INSERT INTO erp.node (code, kind) VALUES ('TB95-N1', 'warehouse'), ('TB95-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TB95-WEB', 'storefront'), ('TB95-W', 'wholesale'), ('TB95-X', 'storefront');
-- WEB: N1 rank 1, N2 rank 2; W and X: N1 only
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TB95-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TB95-WEB' AND n.code LIKE 'TB95-N%';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code IN ('TB95-W', 'TB95-X') AND n.code = 'TB95-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TB95-A', 'A', 1, 2), ('TB95-B', 'B', 1, 2), ('TB95-KAB', 'kit: 1 A + 2 B', 0, 9),
    ('TB95-F', 'fenced for W', 1, 2), ('TB95-G', 'G', 1, 2), ('TB95-KFG', 'kit: 1 F + 1 G', 0, 9),
    ('TB95-H', 'H', 1, 2), ('TB95-KH', 'kit: 3,000,000,000 H', 0, 9),
    ('TB95-E', 'E', 1, 2), ('TB95-KE', 'kit: 1 E', 0, 9);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, v.qty
  FROM (VALUES ('TB95-KAB', 'TB95-A', 1), ('TB95-KAB', 'TB95-B', 2), ('TB95-KFG', 'TB95-F', 1), ('TB95-KFG', 'TB95-G', 1),
               ('TB95-KH', 'TB95-H', 3000000000), ('TB95-KE', 'TB95-E', 1)) AS v(kit, comp, qty)
  JOIN erp.item k ON k.sku = v.kit JOIN erp.item c ON c.sku = v.comp;
-- W ring-fences 10 F
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 10 FROM erp.item i, erp.channel c WHERE i.sku = 'TB95-F' AND c.code = 'TB95-W';
SELECT erp.receive('TB95-A', 'TB95-N1', 10), erp.receive('TB95-A', 'TB95-N2', 10), erp.receive('TB95-B', 'TB95-N1', 10),
       erp.receive('TB95-F', 'TB95-N1', 20), erp.receive('TB95-G', 'TB95-N1', 20),
       erp.receive('TB95-H', 'TB95-N1', 1000000000), erp.receive('TB95-H', 'TB95-N1', 1000000000),
       erp.receive('TB95-H', 'TB95-N1', 1000000000), erp.receive('TB95-E', 'TB95-N1', 5);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.atp(sku text, ch text, node text DEFAULT NULL) RETURNS bigint LANGUAGE sql
    AS $$ SELECT erp.atp(sku, node, ch) $$;
CREATE FUNCTION pg_temp.view_atp(sku text, node text DEFAULT 'TB95-N1') RETURNS bigint LANGUAGE sql
    AS $$ SELECT atp FROM erp.availability WHERE availability.sku = $1 AND availability.node = $2 $$;
CREATE FUNCTION pg_temp.promise(sku text, qty bigint, ch text) RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT erp.promise(sku, qty, ch, NULL, 'standard', '2026-12-02 09:00+00') $$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.lines(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(i.sku || '@' || n.code || ':' || l.qty || COALESCE('<' || k.sku, ''),
                      ',' ORDER BY i.sku, n.code, k.sku NULLS FIRST)
      FROM erp.checkout_hold_line l JOIN erp.item i ON i.item_id = l.item_id JOIN erp.node n ON n.node_id = l.node_id
      LEFT JOIN erp.item k ON k.item_id = l.kit_item_id
     WHERE l.item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND l.hold_id = pg_temp.hold_of(ref) AND l.open $$;
CREATE FUNCTION pg_temp.res(ext text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(r.line_no || ':' || i.sku || '@' || n.code || '=' || r.qty, ',' ORDER BY r.line_no, i.sku, n.code)
      FROM erp.reservation r JOIN erp.sales_order o ON o.order_id = r.order_id
      JOIN erp.item i ON i.item_id = r.item_id JOIN erp.node n ON n.node_id = r.node_id
     WHERE o.external_ref = ext $$;
CREATE FUNCTION pg_temp.bal(sku text, node text, st erp.stock_state) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
      JOIN erp.node n USING (node_id) WHERE i.sku = $1 AND n.code = node AND b.state = st $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, lot_id, qty, open, kit_item_id), ';'
                           ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, lot_id, state, qty), ';' ORDER BY item_id, node_id, lot_id, state)
           FROM erp.stock_balance),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event),
        (SELECT string_agg(concat_ws(',', order_id, status), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, item_id, node_id, qty), ';'
                           ORDER BY order_id, line_no, item_id, node_id) FROM erp.reservation),
        (SELECT string_agg(concat_ws(',', kit_item_id, component_item_id, qty), ';'
                           ORDER BY kit_item_id, component_item_id) FROM erp.item_component))) $$;
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;
CREATE FUNCTION pg_temp.verify() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM erp.verify() $$;

-- 1. Ring-fence and kits: W (fence 10 F) holds kits of F + G --------------------------------------
-- F@N1 20, fence 10 for W: X is promised 20 - 10 = 10, W 20; KFG (1 F + 1 G): X 10, W 20

SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 10::bigint, 'before: X is promised F 20 - fence 10');
SELECT is(pg_temp.atp('TB95-KFG', 'TB95-W'), 20::bigint, 'before: W is promised 20 KFG');
SELECT ok(erp.hold('TB95-W', 'TB95-BW1', '[{"sku": "TB95-KFG", "qty": 4}]') > 0, 'W holds 4 KFG');
SELECT is(pg_temp.lines('TB95-BW1'), 'TB95-F@TB95-N1:4<TB95-KFG,TB95-G@TB95-N1:4<TB95-KFG', 'its lines: 4 F, 4 G at N1');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 10::bigint, 'W''s held kits use up its own fence: X still 16 - (10 - 4) = 10');
SELECT is(pg_temp.atp('TB95-F', NULL), 10::bigint, 'erp.atp(F) with no channel: 10');
SELECT is(pg_temp.view_atp('TB95-F'), 10::bigint, 'erp.availability.atp of F agrees: 10');
SELECT is(pg_temp.atp('TB95-F', 'TB95-W'), 16::bigint, 'W: 20 - 4 held');
SELECT is(pg_temp.atp('TB95-KFG', 'TB95-X'), 10::bigint, 'X: 10 KFG (F bounds it)');
SELECT is(pg_temp.atp('TB95-KFG', 'TB95-W'), 16::bigint, 'W: 16 KFG');
SELECT ok(pg_temp.promise('TB95-KFG', 10, 'TB95-X') IS NOT NULL AND pg_temp.promise('TB95-KFG', 11, 'TB95-X') IS NULL,
    'erp.promise agrees: 10 KFG to X, not 11');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after W''s hold');

SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err($$SELECT erp.hold('TB95-X', 'TB95-BX1', '[{"sku": "TB95-KFG", "qty": 11}]')$$), 'IE001',
    'X cannot hold 11 KFG (IE001)');
SELECT is(pg_temp.state(), :'s1', 'the refused hold changed nothing');
SELECT ok(erp.hold('TB95-X', 'TB95-BX1', '[{"sku": "TB95-KFG", "qty": 10}]') > 0, 'X holds 10 KFG');
SELECT is(pg_temp.atp('TB95-F', 'TB95-W'), 6::bigint, 'W: 20 - 4 - 10 = 6 F');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 0::bigint, 'X: 0 F left (6 available, fence 6 left)');
SELECT is(pg_temp.view_atp('TB95-F'), 0::bigint, 'the view: 0');
SELECT is(erp.release_hold(pg_temp.hold_of('TB95-BX1')), 20::bigint, 'X releases its cart: 10 F + 10 G back');
SELECT is(pg_temp.state() = :'s1', false, 'the release changed something');
SELECT is(pg_temp.bal('TB95-F', 'TB95-N1', 'reserved'), 4::bigint, 'only W''s 4 F stay reserved');

-- W's hold's TTL passes before erp.expire_holds runs
SELECT pg_temp.expire('TB95-BW1');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 10::bigint, 'expired: F back as available, fence whole: X 20 - 10 = 10');
SELECT is(pg_temp.atp('TB95-F', 'TB95-W'), 20::bigint, 'W: 20');
SELECT is(pg_temp.atp('TB95-F', NULL), 10::bigint, 'no channel: 10');
SELECT is(pg_temp.view_atp('TB95-F'), 10::bigint, 'the view: 10');
SELECT is(pg_temp.view_atp('TB95-G'), 20::bigint, 'the view: G 20');
SELECT is(pg_temp.atp('TB95-KFG', 'TB95-W'), 20::bigint, 'W: 20 KFG');
SELECT ok(pg_temp.promise('TB95-KFG', 20, 'TB95-W') IS NOT NULL AND pg_temp.promise('TB95-KFG', 10, 'TB95-X') IS NOT NULL
          AND pg_temp.promise('TB95-KFG', 11, 'TB95-X') IS NULL, 'erp.promise agrees: 20 KFG to W, 10 not 11 to X');
SELECT pg_temp.state() AS s2 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-W', 'TB95-OW0', '[{"sku": "TB95-KFG", "qty": 4}]',
                                                 hold_ref => pg_temp.hold_of('TB95-BW1'))$$), 'IE010',
    'converting the expired hold: IE010');
SELECT is(pg_temp.state(), :'s2', 'nothing changed');
SELECT is(erp.expire_holds(), 1, 'expire_holds expires W''s hold');
SELECT is(erp.expire_holds(), 0, 'a second run expires nothing');
SELECT is(pg_temp.err($$SELECT erp.release_hold(pg_temp.hold_of('TB95-BW1'))$$), 'IE010', 'releasing the expired hold: IE010');
SELECT is(pg_temp.bal('TB95-F', 'TB95-N1', 'available') || '/' || pg_temp.bal('TB95-F', 'TB95-N1', 'reserved')
          || ' ' || pg_temp.bal('TB95-G', 'TB95-N1', 'available') || '/' || pg_temp.bal('TB95-G', 'TB95-N1', 'reserved'),
    '20/0 20/0', 'every F and G is available again, once');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 10::bigint, 'after the job: X 10');
SELECT is(pg_temp.view_atp('TB95-F'), 10::bigint, 'the view: 10');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the expiry');

-- W holds more than its fence, converts, cancels
SELECT ok(erp.hold('TB95-W', 'TB95-BW2', '[{"sku": "TB95-KFG", "qty": 12}]') > 0, 'W holds 12 KFG (more than its fence)');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 8::bigint, 'X: 8 available, fence used up: 8');
SELECT is(pg_temp.view_atp('TB95-F'), 8::bigint, 'the view: 8');
SELECT erp.capture_order('TB95-W', 'TB95-OW2', '[{"sku": "TB95-KFG", "qty": 12}]', hold_ref => pg_temp.hold_of('TB95-BW2')) AS ow2 \gset
SELECT is(pg_temp.res('TB95-OW2'), '1:TB95-F@TB95-N1=12,1:TB95-G@TB95-N1=12', 'the order''s kit line takes the 12 F and 12 G');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 8::bigint, 'X: still 8 (the order''s reservation, counted once)');
SELECT is(pg_temp.view_atp('TB95-F'), 8::bigint, 'the view: 8');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the conversion');
SELECT erp.cancel_order(:ow2);
SELECT is(pg_temp.bal('TB95-F', 'TB95-N1', 'available') || '/' || pg_temp.bal('TB95-F', 'TB95-N1', 'reserved')
          || ' ' || pg_temp.bal('TB95-G', 'TB95-N1', 'available') || '/' || pg_temp.bal('TB95-G', 'TB95-N1', 'reserved'),
    '20/0 20/0', 'cancelling the converted order gives every component back');
SELECT pg_temp.state() AS s3 \gset
SELECT is(pg_temp.err($$SELECT erp.cancel_order($$ || :ow2 || $$)$$) IN ('ok', 'IE010'), true, 'a second cancel is a no-op or IE010');
SELECT is(pg_temp.state(), :'s3', 'the second cancel gives nothing back twice');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X'), 10::bigint, 'X: 10 again');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the cancel');

-- 2. A kit and one of its components in one cart; retries; orders in another line order ---------
-- KAB (1 A + 2 B) at N1: A 10, B 10 -> 5 kits

SELECT ok(erp.hold('TB95-WEB', 'TB95-C1', '[{"sku": "TB95-KAB", "qty": 2}, {"sku": "TB95-B", "qty": 1}]') > 0,
    'WEB holds 2 KAB and 1 B');
SELECT is(pg_temp.lines('TB95-C1'), 'TB95-A@TB95-N1:2<TB95-KAB,TB95-B@TB95-N1:1,TB95-B@TB95-N1:4<TB95-KAB',
    '2 A and 4 B for the kits, 1 B alone, all at N1');
SELECT is(pg_temp.atp('TB95-KAB', 'TB95-WEB'), 2::bigint, 'KAB: N1 min(8, 5 / 2) = 2 + N2 0 (no B)');
SELECT pg_temp.state() AS s4 \gset
SELECT is(erp.hold('TB95-WEB', 'TB95-C1', '[{"sku": "TB95-KAB", "qty": 2}, {"sku": "TB95-B", "qty": 1}]'),
    pg_temp.hold_of('TB95-C1'), 'a retry returns the same hold');
SELECT is(pg_temp.err($$SELECT erp.hold('TB95-WEB', 'TB95-C1', '[{"sku": "TB95-B", "qty": 1}, {"sku": "TB95-KAB", "qty": 2}]')$$),
    'IE010', 'a retry with the lines in another order is other lines (IE010, documented: "the same lines")');
SELECT is(pg_temp.state(), :'s4', 'neither retry changed anything');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-WEB', 'TB95-BAD1', '[{"sku": "TB95-A", "qty": 2}, {"sku": "TB95-B", "qty": 5}]',
                                                 hold_ref => pg_temp.hold_of('TB95-C1'))$$), 'IE010',
    'an order of the components instead of the kit: IE010');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-WEB', 'TB95-BAD2', '[{"sku": "TB95-B", "qty": 1}, {"sku": "TB95-KAB", "qty": 1}]',
                                                 hold_ref => pg_temp.hold_of('TB95-C1'))$$), 'IE010',
    'an order of fewer kits: IE010');
SELECT is(pg_temp.state(), :'s4', 'the refused conversions changed nothing');
SELECT erp.capture_order('TB95-WEB', 'TB95-O1', '[{"sku": "TB95-B", "qty": 1}, {"sku": "TB95-KAB", "qty": 3}]',
                         hold_ref => pg_temp.hold_of('TB95-C1')) AS o1 \gset
SELECT is(pg_temp.res('TB95-O1'), '1:TB95-B@TB95-N1=1,2:TB95-A@TB95-N1=3,2:TB95-B@TB95-N1=6',
    'the lines in the other order: line 1 takes the B alone, line 2 the 2 held kits and a third allocated at N1');
SELECT is((SELECT string_agg(line_no || ':' || qty_allocated || '/' || status, ',' ORDER BY line_no)
             FROM erp.order_line WHERE order_id = :o1), '1:1/allocated,2:3/allocated', 'both lines allocated');
SELECT is(pg_temp.bal('TB95-B', 'TB95-N1', 'reserved'), 7::bigint, 'B reserved at N1: 1 + 6, nothing twice');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the conversion');
SELECT erp.cancel_order(:o1);
SELECT is(pg_temp.bal('TB95-A', 'TB95-N1', 'reserved') + pg_temp.bal('TB95-B', 'TB95-N1', 'reserved'), 0::bigint,
    'the cancel gives every A and B back');
SELECT is(pg_temp.bal('TB95-A', 'TB95-N1', 'available') || ' ' || pg_temp.bal('TB95-B', 'TB95-N1', 'available'), '10 10',
    'A 10, B 10 available at N1: exactly once');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the cancel');

-- 3. A kit of 3,000,000,000 units per kit: a document move above IERP_MAX_MOVE_QTY ------------------

SELECT is(pg_temp.atp('TB95-KH', 'TB95-WEB'), 1::bigint, 'KH: 3,000,000,000 H at N1 = 1 kit');
SELECT ok(erp.hold('TB95-WEB', 'TB95-CH', '[{"sku": "TB95-KH", "qty": 1}]') > 0, 'WEB holds 1 KH');
SELECT is(pg_temp.lines('TB95-CH'), 'TB95-H@TB95-N1:3000000000<TB95-KH', 'one line of 3,000,000,000 H');
SELECT is((SELECT units FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TB95-CH')), 3000000000::bigint, 'units 3e9');
SELECT is(pg_temp.atp('TB95-H', 'TB95-WEB'), 0::bigint, 'H: 0 left');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty');
SELECT erp.capture_order('TB95-WEB', 'TB95-OH', '[{"sku": "TB95-KH", "qty": 1}]', hold_ref => pg_temp.hold_of('TB95-CH')) AS oh \gset
SELECT is(pg_temp.res('TB95-OH'), '1:TB95-H@TB95-N1=3000000000', 'the order takes the 3e9 H');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the conversion');
SELECT erp.cancel_order(:oh);
SELECT is(pg_temp.bal('TB95-H', 'TB95-N1', 'available'), 3000000000::bigint, 'the cancel gives the 3e9 H back');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the cancel');

-- 4. Roles ---------------------------------------------------------------------------------------

CREATE ROLE tb95_reader;
GRANT erp_reader TO tb95_reader;
CREATE ROLE tb95_partner;
GRANT erp_operator, erp_reader TO tb95_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tb95_partner', node_id FROM erp.node WHERE code = 'TB95-N2';
SELECT ok(erp.hold('TB95-WEB', 'TB95-C2', '[{"sku": "TB95-KAB", "qty": 1}]') > 0, 'the business holds 1 KAB at N1');
SELECT ok(erp.hold('TB95-W', 'TB95-C3', '[{"sku": "TB95-KFG", "qty": 1}]') > 0, 'and W 1 KFG at N1');
SELECT pg_temp.state() AS s5 \gset
SET LOCAL ROLE tb95_reader;
SELECT is(pg_temp.err($$SELECT erp.hold('TB95-WEB', 'TB95-R1', '[{"sku": "TB95-KAB", "qty": 1}]')$$), '42501',
    'erp_reader cannot call erp.hold');
SELECT is(pg_temp.err($$SELECT erp.release_hold(pg_temp.hold_of('TB95-C2'))$$), '42501', 'nor erp.release_hold');
SELECT is(pg_temp.err($$SELECT erp.expire_holds()$$), '42501', 'nor erp.expire_holds');
RESET ROLE;
SET LOCAL ROLE tb95_partner;
SELECT is(pg_temp.atp('TB95-KAB', 'TB95-WEB'), 0::bigint, 'the partner is promised no KAB: N2 has A but no B');
SELECT is(pg_temp.err($$SELECT erp.hold('TB95-WEB', 'TB95-P1', '[{"sku": "TB95-KAB", "qty": 1}]')$$), 'IE001',
    'a partner cannot hold a kit from another node''s stock (IE001)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-WEB', 'TB95-OP1', '[{"sku": "TB95-KAB", "qty": 1}]',
                                                 hold_ref => pg_temp.hold_of('TB95-C2'))$$), 'IE009',
    'a partner cannot convert a hold of units at N1 (IE009)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-WEB', 'TB95-OP2', '[{"sku": "TB95-KFG", "qty": 1}]',
                                                 hold_ref => pg_temp.hold_of('TB95-C3'))$$), 'IE010',
    'nor another channel''s hold (IE010)');
SELECT is(pg_temp.err($$SELECT erp.release_hold(pg_temp.hold_of('TB95-C2'))$$), 'IE009',
    'nor release the business''s kit hold (IE009)');
RESET ROLE;
SELECT is(pg_temp.state(), :'s5', 'none of the refused calls changed anything');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty');

-- 5. The kit's bill edited while a kit hold is open -----------------------------------------------

SELECT ok(erp.hold('TB95-WEB', 'TB95-C4', '[{"sku": "TB95-KE", "qty": 2}]') > 0, 'WEB holds 2 KE (1 E each)');
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c WHERE k.sku = 'TB95-KE' AND c.sku = 'TB95-G';
SELECT pg_temp.state() AS s6 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TB95-WEB', 'TB95-OE', '[{"sku": "TB95-KE", "qty": 2}]',
                                                 hold_ref => pg_temp.hold_of('TB95-C4'))$$), 'IE010',
    'KE gained G since the hold: the conversion is refused (IE010)');
SELECT is(pg_temp.state(), :'s6', 'nothing changed');
DELETE FROM erp.item_component WHERE kit_item_id = (SELECT item_id FROM erp.item WHERE sku = 'TB95-KE')
   AND component_item_id = (SELECT item_id FROM erp.item WHERE sku = 'TB95-G');
SELECT erp.capture_order('TB95-WEB', 'TB95-OE', '[{"sku": "TB95-KE", "qty": 2}]', hold_ref => pg_temp.hold_of('TB95-C4')) AS oe \gset
SELECT is(pg_temp.res('TB95-OE'), '1:TB95-E@TB95-N1=2', 'the bill back as held: the conversion takes 2 E');
SELECT is(pg_temp.err($$UPDATE erp.item_component SET qty = 2 WHERE kit_item_id = (SELECT item_id FROM erp.item WHERE sku = 'TB95-KE')$$)
          <> 'ok', true, 'the bill of a kit an order now holds cannot be edited');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the bill edits');

-- 6. A converted kit order is picked, shipped and returned ------------------------------------------

SELECT ok(erp.hold('TB95-WEB', 'TB95-C6', '[{"sku": "TB95-KAB", "qty": 1}, {"sku": "TB95-B", "qty": 1}]') > 0,
    'WEB holds 1 KAB and 1 B');
SELECT erp.capture_order('TB95-WEB', 'TB95-O6', '[{"sku": "TB95-KAB", "qty": 1}, {"sku": "TB95-B", "qty": 1}]',
                         hold_ref => pg_temp.hold_of('TB95-C6')) AS o6 \gset
SELECT is(pg_temp.res('TB95-O6'), '1:TB95-A@TB95-N1=1,1:TB95-B@TB95-N1=2,2:TB95-B@TB95-N1=1', 'converted: the kit line and the B line');
SELECT erp.pick(:o6, 'TB95-A', 1), erp.pick(:o6, 'TB95-B', 3);
SELECT erp.pack(:o6);
SELECT ok(erp.ship(:o6) > 0, 'the converted order ships');
SELECT is(pg_temp.bal('TB95-B', 'TB95-N1', 'reserved') || '/' || pg_temp.bal('TB95-B', 'TB95-N1', 'picked')
          || '/' || pg_temp.bal('TB95-B', 'TB95-N1', 'packed'), '2/0/0',
    'B at N1: only hold C2''s 2 stay reserved, nothing left picked or packed');
SELECT erp.authorize_return(:o6, '[{"sku": "TB95-KAB", "qty": 1, "reason": "changed_mind"}]') AS rma6 \gset
SELECT is((SELECT string_agg(i.sku || ':' || l.qty, ',' ORDER BY i.sku) FROM erp.rma_line l JOIN erp.item i USING (item_id)
            WHERE l.rma_id = :rma6), 'TB95-A:1,TB95-B:2', 'the kit comes back as its components');
SELECT erp.receive_return(:rma6, 'TB95-N1');
SELECT is(pg_temp.bal('TB95-A', 'TB95-N1', 'inspection') || ' ' || pg_temp.bal('TB95-B', 'TB95-N1', 'inspection'), '1 2',
    '1 A and 2 B in inspection at N1');
SELECT is(pg_temp.err($$SELECT erp.authorize_return($$ || :o6 || $$, '[{"sku": "TB95-KAB", "qty": 1, "reason": "changed_mind"}]')$$),
    'IE008', 'the kit cannot be returned twice (IE008)');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty after the return');

-- 7. X's kit hold when W's hold expired before the job: it gets what erp.atp promised ----------------
-- W still holds 1 KFG (cart C3); it holds 3 more (BW3) whose TTL passes.  F: 16 available + 3
-- expired, W's fence 10 - 1 (C3) = 9 left: X is promised 19 - 9 = 10.

SELECT ok(erp.hold('TB95-W', 'TB95-BW3', '[{"sku": "TB95-KFG", "qty": 3}]') > 0, 'W holds 3 more KFG');
SELECT pg_temp.expire('TB95-BW3');
SELECT is(pg_temp.atp('TB95-KFG', 'TB95-X'), 10::bigint, 'BW3 expired: X is promised 10 KFG');
SELECT ok(erp.hold('TB95-X', 'TB95-BX7', '[{"sku": "TB95-KFG", "qty": 10}]') > 0, 'X holds the 10 KFG erp.atp promised');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TB95-BW3')), 'expired',
    'X''s hold gave W''s expired hold back first');
SELECT is(pg_temp.atp('TB95-F', 'TB95-X') || ' ' || pg_temp.atp('TB95-F', 'TB95-W') || ' ' || pg_temp.view_atp('TB95-F'),
    '0 9 0', 'F: X 9 - fence 9 = 0, W 9, the view 0');
SELECT is(erp.release_hold(pg_temp.hold_of('TB95-BX7')), 20::bigint, 'X releases: 10 F + 10 G');
SELECT is(pg_temp.verify(), 0::bigint, 'verify empty at the end');

SELECT * FROM finish();
ROLLBACK;
