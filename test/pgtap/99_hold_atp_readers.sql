-- 99_hold_atp_readers.sql: "a hold never outlives its TTL in ATP" for every reader of ATP
-- (issue 16 item 4, SPEC 5 and 12, doc/warehouse.md "Checkout holds"), and a channel's
-- checkout holds use up its own ring-fence exactly as its orders do.
--   * erp.promise and erp.availability.atp count the units of a hold whose TTL passed as
--     promisable before erp.expire_holds runs (as erp.atp does), kits through their components;
--     erp.availability only in lots with enough shelf life;
--   * a fenced channel W holding units: another channel's erp.atp, erp.availability.atp and
--     allocation see exactly what they would see had W ordered those units; once W's hold
--     expires its fence counts whole again;
--   * a hold of channel X cannot reach into W's fence while W's hold is open (IE001, nothing
--     changed); a partner sees its own nodes only; erp.verify() stays empty.
--
-- Master data uses codes starting with TAP99H- and is rolled back at the end.
BEGIN;
SELECT plan(88);

INSERT INTO erp.node (code, kind) VALUES ('TAP99H-N1', 'warehouse'), ('TAP99H-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP99H-W', 'wholesale'), ('TAP99H-X', 'storefront');
-- both channels sell from N1 only; N2 (a partner's) serves no channel
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n
 WHERE c.code IN ('TAP99H-W', 'TAP99H-X') AND n.code = 'TAP99H-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TAP99H-A', 'fenced', 4, 10), ('TAP99H-B', 'plain', 1, 3), ('TAP99H-KIT', 'two B', 0, 7);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked, min_shelf_life_days)
VALUES ('TAP99H-L', 'lots', 1, 2, true, 30);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 2 FROM erp.item k, erp.item c WHERE k.sku = 'TAP99H-KIT' AND c.sku = 'TAP99H-B';
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 2 FROM erp.item i, erp.node n WHERE i.sku = 'TAP99H-A' AND n.code = 'TAP99H-N1';
-- W ring-fences 6 units of A
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 6 FROM erp.item i, erp.channel c WHERE i.sku = 'TAP99H-A' AND c.code = 'TAP99H-W';
SELECT erp.receive('TAP99H-A', 'TAP99H-N1', 20), erp.receive('TAP99H-A', 'TAP99H-N2', 10),
       erp.receive('TAP99H-B', 'TAP99H-N1', 10),
       erp.receive('TAP99H-L', 'TAP99H-N1', 5, 'TAP99H-L1', CURRENT_DATE + 400);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.atp(ch text, sku text DEFAULT 'TAP99H-A') RETURNS bigint LANGUAGE sql
    AS $$ SELECT erp.atp(sku, 'TAP99H-N1', ch) $$;
CREATE FUNCTION pg_temp.av(col text, sku text DEFAULT 'TAP99H-A', node text DEFAULT 'TAP99H-N1') RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
    EXECUTE format('SELECT %I FROM erp.availability WHERE sku = $1 AND node = $2', col) INTO r USING sku, node;
    RETURN r;
END
$$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
-- makes a hold's TTL pass (the tests cannot wait for a clock), as 85_holds.sql does
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;
-- everything a hold, an order or a refusal could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, qty, open), ';' ORDER BY item_id, hold_line_id) FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, state, qty), ';' ORDER BY item_id, node_id, state) FROM erp.stock_balance),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event), (SELECT count(*) FROM erp.sales_order))) $$;
-- a fixed order time, so that promises compare exactly
CREATE FUNCTION pg_temp.promise(sku text, qty bigint, ch text) RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT erp.promise(sku, qty, ch, NULL, 'standard', '2026-12-02 09:00+00') $$;

-- erp.promise and erp.availability count an expired hold before erp.expire_holds --------------

SELECT pg_temp.promise('TAP99H-B', 10, 'TAP99H-X') AS p_b10 \gset
SELECT pg_temp.promise('TAP99H-KIT', 5, 'TAP99H-X') AS p_kit5 \gset
SELECT ok(:'p_b10' IS NOT NULL AND :'p_kit5' IS NOT NULL, 'before any hold: 10 B and 5 kits (2 B each) can be promised');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), 10::bigint, 'erp.availability: B''s atp at N1 is 10');
SELECT ok(erp.hold('TAP99H-X', 'TAP99H-CB', '[{"sku": "TAP99H-B", "qty": 7}]') > 0, 'X holds 7 B');
SELECT is(pg_temp.promise('TAP99H-B', 4, 'TAP99H-X'), NULL, 'erp.promise: 4 B cannot be promised while 7 of 10 are held');
SELECT is(pg_temp.promise('TAP99H-B', 3, 'TAP99H-X'), :'p_b10'::timestamptz, '3 B can, with the same delivery time');
SELECT is(pg_temp.promise('TAP99H-KIT', 2, 'TAP99H-X'), NULL, 'nor 2 kits (3 B left: 1 kit)');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), 3::bigint, 'erp.availability: atp 10 - 7 = 3');
SELECT pg_temp.expire('TAP99H-CB');
SELECT is(pg_temp.promise('TAP99H-B', 10, 'TAP99H-X'), :'p_b10'::timestamptz,
    'the hold''s TTL passed: erp.promise promises all 10 B again before erp.expire_holds runs');
SELECT is(pg_temp.promise('TAP99H-B', 11, 'TAP99H-X'), NULL, 'and not 11');
SELECT is(pg_temp.promise('TAP99H-KIT', 5, 'TAP99H-X'), :'p_kit5'::timestamptz, 'and 5 kits again (through their component)');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), 10::bigint, 'erp.availability: atp back to 10 before erp.expire_holds runs');
SELECT is(pg_temp.av('reserved', 'TAP99H-B'), 7::bigint, 'while the balance still holds the 7 units reserved');
SELECT is(pg_temp.av('available', 'TAP99H-B'), 3::bigint, 'and 3 available');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), erp.atp('TAP99H-B', 'TAP99H-N1'), 'the view''s atp is erp.atp(sku, node)');
SELECT is(erp.expire_holds(), 1, 'erp.expire_holds expires the hold');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), 10::bigint, 'atp 10 after it as well');
SELECT is(pg_temp.promise('TAP99H-B', 10, 'TAP99H-X'), :'p_b10'::timestamptz, 'and 10 B promised');

-- Lots: an expired hold's units count only in a lot with enough shelf life -------------------

SELECT ok(erp.hold('TAP99H-X', 'TAP99H-CL', '[{"sku": "TAP99H-L", "qty": 3}]') > 0, 'X holds 3 of the lot-tracked L');
SELECT is(pg_temp.av('atp', 'TAP99H-L'), 2::bigint, 'erp.availability: L''s atp 5 - 3 = 2');
SELECT pg_temp.expire('TAP99H-CL');
SELECT is(pg_temp.av('atp', 'TAP99H-L'), 5::bigint, 'the hold expired: 5, lot L1 has 400 days left');
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-L'), 5::bigint, 'erp.atp: 5 as well');
UPDATE erp.lot SET expires_on = CURRENT_DATE + 10 WHERE lot_code = 'TAP99H-L1';
SELECT is(pg_temp.av('atp', 'TAP99H-L'), 0::bigint,
    'L1 now expires in 10 days (the item wants 30): neither its free units nor the expired hold''s are promisable');
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-L'), 0::bigint, 'erp.atp: 0, the expired hold''s 3 units included');
UPDATE erp.lot SET expires_on = CURRENT_DATE + 30 WHERE lot_code = 'TAP99H-L1';
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-L'), 5::bigint, 'L1 expiring in exactly 30 days counts: erp.atp 5');
SELECT is(pg_temp.av('atp', 'TAP99H-L'), 5::bigint, 'erp.availability.atp 5');
UPDATE erp.lot SET expires_on = CURRENT_DATE + 29 WHERE lot_code = 'TAP99H-L1';
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-L'), 0::bigint, 'in 29 days it does not: erp.atp 0');
SELECT is(erp.expire_holds(), 1, 'erp.expire_holds gives the 3 units back');
SELECT is(pg_temp.av('available', 'TAP99H-L'), 5::bigint, 'L''s 5 units are available again');
UPDATE erp.lot SET expires_on = CURRENT_DATE + 400 WHERE lot_code = 'TAP99H-L1';

-- A fenced channel's hold uses up its own fence, as its orders do --------------------------------

SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint, 'before: X''s ATP at N1 = 20 - safety 2 - W''s fence 6 = 12');
SELECT is(pg_temp.atp('TAP99H-W'), 18::bigint, 'W''s own ATP = 20 - 2 = 18 (its fence is its own)');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp = 12');

SELECT ok(erp.hold('TAP99H-W', 'TAP99H-W1', '[{"sku": "TAP99H-A", "qty": 4}]') > 0, 'W holds 4 units of A');
SELECT is(pg_temp.av('available'), 16::bigint, 'N1 has 16 available');
SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint, 'X''s ATP stays 12: 16 - 2 - (W''s fence 6 less its 4 held)');
SELECT is(pg_temp.atp('TAP99H-W'), 14::bigint, 'W''s ATP 16 - 2 = 14');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp stays 12');
SELECT is(erp.atp('TAP99H-A', 'TAP99H-N1'), 12::bigint, 'erp.atp for no channel: 12');

-- the same as had W ordered the 4 units
SELECT is(erp.release_hold(pg_temp.hold_of('TAP99H-W1')), 4::bigint, 'W''s hold released (4 units)');
SELECT erp.capture_order('TAP99H-W', 'TAP99H-OW', '[{"sku": "TAP99H-A", "qty": 4}]') AS ow \gset
SELECT is((SELECT sum(qty) FROM erp.allocate(:ow)), 4::numeric, 'W orders the 4 units instead');
SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint, 'had W ordered them: X''s ATP 12, as with the hold');
SELECT is(pg_temp.atp('TAP99H-W'), 14::bigint, 'W''s 14, as with the hold');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp 12, as with the hold');
SELECT erp.cancel_order(:ow);
SELECT is(pg_temp.av('available'), 20::bigint, 'the order cancelled: 20 available');

-- W holds 8, more than its fence of 6: the fence is used up, not below 0
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-W2', '[{"sku": "TAP99H-A", "qty": 8}]') > 0, 'W holds 8');
SELECT is(pg_temp.atp('TAP99H-X'), 10::bigint, 'X''s ATP 12 - 2 - max(6 - 8, 0) = 10');
SELECT is(pg_temp.av('atp'), 10::bigint, 'erp.availability.atp 10');
SELECT is(erp.release_hold(pg_temp.hold_of('TAP99H-W2')), 8::bigint, 'W2 released');

-- a hold converted into W's order: its units move from the hold to the order, counted once
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-WC', '[{"sku": "TAP99H-A", "qty": 3}]') > 0, 'W holds 3');
SELECT erp.capture_order('TAP99H-W', 'TAP99H-OWC', '[{"sku": "TAP99H-A", "qty": 3}]',
                         hold_ref => pg_temp.hold_of('TAP99H-WC')) AS owc \gset
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TAP99H-WC')), 'converted',
    'and converts the hold into an order');
SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint, 'X''s ATP 17 - 2 - (6 - 3) = 12 (the 3 units use up the fence once)');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp 12');
-- W's order and W's hold together: 3 ordered + 4 held use up the fence of 6 whole
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-W5', '[{"sku": "TAP99H-A", "qty": 4}]') > 0, 'W holds 4 more');
SELECT is(pg_temp.atp('TAP99H-X'), 11::bigint, 'X''s ATP 13 - 2 - max(6 - 3 - 4, 0) = 11');
SELECT is(erp.release_hold(pg_temp.hold_of('TAP99H-W5')), 4::bigint, 'W5 released');
SELECT erp.cancel_order(:owc);
SELECT is(pg_temp.av('available'), 20::bigint, 'the order cancelled: 20 available');

-- X cannot reach into W's fence while W's hold is open
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-W3', '[{"sku": "TAP99H-A", "qty": 4}]') > 0, 'W holds 4 again');
SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err($$SELECT erp.hold('TAP99H-X', 'TAP99H-CX', '[{"sku": "TAP99H-A", "qty": 13}]')$$), 'IE001',
    'X''s hold of 13 (12 promisable) is refused: IE001');
SELECT is(pg_temp.state(), :'s0', 'and changes nothing');
SELECT erp.capture_order('TAP99H-X', 'TAP99H-OX', '[{"sku": "TAP99H-A", "qty": 15}]') AS ox \gset
SELECT is((SELECT sum(qty) FROM erp.allocate(:ox)), 12::numeric,
    'X''s order of 15 is allocated exactly 12: 16 available above safety 2 and W''s 2 unheld fenced units');
SELECT is(pg_temp.av('available'), 4::bigint, 'N1 keeps 4 available: safety 2 + what is left of W''s fence 2');
SELECT is(pg_temp.atp('TAP99H-X'), 0::bigint, 'X''s ATP 0');
SELECT is(pg_temp.atp('TAP99H-W'), 2::bigint, 'W can still be promised 4 - 2 = 2');
SELECT erp.cancel_order(:ox);

-- once W's hold expires, its whole fence counts again
SELECT pg_temp.expire('TAP99H-W3');
SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint,
    'W3''s TTL passed: X''s ATP (16 + 4 expired) - 2 - W''s whole fence 6 = 12, before erp.expire_holds');
SELECT is(pg_temp.atp('TAP99H-W'), 18::bigint, 'W''s ATP 20 - 2 = 18');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp 12');
SELECT is(pg_temp.promise('TAP99H-A', 18, 'TAP99H-W') IS NOT NULL AND pg_temp.promise('TAP99H-A', 19, 'TAP99H-W') IS NULL,
    true, 'erp.promise: W can be promised 18, not 19');
SELECT is(erp.expire_holds(), 1, 'erp.expire_holds expires W3');
SELECT is(pg_temp.atp('TAP99H-X'), 12::bigint, 'X''s ATP 12 after it');
SELECT is(pg_temp.av('atp'), 12::bigint, 'erp.availability.atp 12 after it');

-- A kit hold of the fenced channel uses up its fence through the component lines -------------

INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 4 FROM erp.item i, erp.channel c WHERE i.sku = 'TAP99H-B' AND c.code = 'TAP99H-W';
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-B'), 6::bigint, 'W fences 4 of B: X''s ATP of B = 10 - 4 = 6');
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-WK', '[{"sku": "TAP99H-KIT", "qty": 1}]') > 0, 'W holds one kit (2 B)');
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-B'), 6::bigint, 'X''s ATP of B stays 6: 8 - (4 - 2)');
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-KIT'), 3::bigint, 'and 3 kits');
SELECT is(pg_temp.av('atp', 'TAP99H-B'), 6::bigint, 'erp.availability.atp of B 6');
SELECT pg_temp.expire('TAP99H-WK');
SELECT is(pg_temp.atp('TAP99H-X', 'TAP99H-B'), 6::bigint, 'the kit hold''s TTL passed: 10 - 4 = 6 (the fence whole again)');
SELECT is(pg_temp.atp('TAP99H-W', 'TAP99H-KIT'), 5::bigint, 'W is promised 5 kits again (its own fence is its own)');
SELECT is(erp.expire_holds(), 1, 'erp.expire_holds expires the kit hold');

-- A partner sees its own nodes only -----------------------------------------------------------

CREATE ROLE t99h_partner;
GRANT erp_operator, erp_reader TO t99h_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't99h_partner', node_id FROM erp.node WHERE code = 'TAP99H-N2';
SET LOCAL ROLE t99h_partner;
SELECT is((SELECT string_agg(DISTINCT node, ',') FROM erp.availability WHERE sku LIKE 'TAP99H-%'), 'TAP99H-N2',
    'a partner''s erp.availability has rows of its node N2 only');
SELECT is(pg_temp.av('atp', 'TAP99H-A', 'TAP99H-N2'), 4::bigint, 'A''s atp at N2 = 10 - W''s fence 6 = 4');
SELECT is(erp.atp('TAP99H-A'), 4::bigint, 'erp.atp over all nodes promises the partner its node''s 4 only');
RESET ROLE;
SELECT ok(erp.hold('TAP99H-W', 'TAP99H-W6', '[{"sku": "TAP99H-A", "qty": 4}]') > 0, 'W holds 4 at N1');
SET LOCAL ROLE t99h_partner;
SELECT is(erp.atp('TAP99H-A'), 8::bigint,
    'erp.atp (run with the extension''s rights) uses up W''s fence by its hold at N1 for the partner too: 10 - (6 - 4) = 8');
SELECT is(pg_temp.av('atp', 'TAP99H-A', 'TAP99H-N2'), 4::bigint,
    'erp.availability (the caller''s rights) does not see the hold line at N1: 4, less, never more (doc/warehouse.md)');
SELECT is(pg_temp.err($$SELECT erp.release_hold(pg_temp.hold_of('TAP99H-W6'))$$), 'IE009', 'nor can it release that hold (IE009)');
RESET ROLE;
SELECT is(erp.atp('TAP99H-A', 'TAP99H-N2'), 8::bigint, 'outside its session N2 promises 10 - (6 - 4) = 8');
SELECT is(erp.release_hold(pg_temp.hold_of('TAP99H-W6')), 4::bigint, 'W6 released');
SELECT is(erp.atp('TAP99H-A'), 16::bigint, 'outside the partner''s session: 12 at N1 + 4 at N2');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
