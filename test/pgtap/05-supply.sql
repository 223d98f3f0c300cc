-- 05-supply.sql: the contract of procurement, transfers, replenishment and
-- governance (SPEC.md sections 1, 4, 7 and 8): the signatures of every function,
-- the replenishment view's columns, the purchase order and transfer lifecycles,
-- the preorder promise, the replenishment formula and the purchase orders it
-- turns into, counts with and without approval, partner access, the actor of
-- every move, and every refusal (IE001, IE002, IE003, IE004, IE009, IE010), each
-- followed by proof that the refused call changed nothing.
--
-- The database is shared with the other pgTAP files: all master data here uses
-- codes starting with TAP05- (roles tap05_*) and everything is rolled back at
-- the end.  Times are offsets from now(), which is constant in this one
-- transaction.
BEGIN;
SELECT plan(200);

-- Signatures -------------------------------------------------------------------

SELECT has_function('erp', 'create_po', ARRAY['text', 'text', 'jsonb', 'timestamp with time zone', 'text'],
    'erp.create_po(supplier, node, lines, expected_at) exists, or no supplier confirmation could be recorded');
SELECT function_returns('erp', 'create_po', ARRAY['text', 'text', 'jsonb', 'timestamp with time zone', 'text'], 'bigint',
    'erp.create_po returns the purchase order id as bigint, or the buyer could not refer to the order');
SELECT has_function('erp', 'receive_po', ARRAY['bigint', 'jsonb', 'text'],
    'erp.receive_po(po_id, lines) exists, or deliveries could not be booked in');
SELECT function_returns('erp', 'receive_po', ARRAY['bigint', 'jsonb', 'text'], 'void', 'erp.receive_po returns nothing');
SELECT has_function('erp', 'delay_po', ARRAY['bigint', 'timestamp with time zone', 'text'],
    'erp.delay_po(po_id, new_expected_at) exists, or a late supplier could not be recorded');
SELECT function_returns('erp', 'delay_po', ARRAY['bigint', 'timestamp with time zone', 'text'], 'void', 'erp.delay_po returns nothing');
SELECT has_function('erp', 'transfer', ARRAY['text', 'text', 'text', 'bigint', 'text', 'text'],
    'erp.transfer(sku, from_node, to_node, qty, lot) exists, or stock could not be moved between nodes');
SELECT function_returns('erp', 'transfer', ARRAY['text', 'text', 'text', 'bigint', 'text', 'text'], 'bigint',
    'erp.transfer returns the transfer id as bigint, or the receiving node could not receive it');
SELECT has_function('erp', 'receive_transfer', ARRAY['bigint', 'text'],
    'erp.receive_transfer(transfer_id) exists, or transferred units would stay in transit forever');
SELECT function_returns('erp', 'receive_transfer', ARRAY['bigint', 'text'], 'void', 'erp.receive_transfer returns nothing');
SELECT has_function('erp', 'create_replenishment_pos', ARRAY['text'],
    'erp.create_replenishment_pos() exists, or suggestions would have to be typed in by hand');
SELECT function_returns('erp', 'create_replenishment_pos', ARRAY['text'], 'integer',
    'erp.create_replenishment_pos returns how many purchase orders it created');
SELECT has_function('erp', 'count', ARRAY['text', 'text', 'bigint', 'text', 'text'],
    'erp.count(sku, node, counted, lot) exists, or cycle counts could not be recorded');
SELECT function_returns('erp', 'count', ARRAY['text', 'text', 'bigint', 'text', 'text'], 'bigint',
    'erp.count returns the cycle count id as bigint');
SELECT has_function('erp', 'approve_adjustment', ARRAY['bigint', 'text'],
    'erp.approve_adjustment(adjustment_id) exists, or large variances could never be applied');
SELECT function_returns('erp', 'approve_adjustment', ARRAY['bigint', 'text'], 'void', 'erp.approve_adjustment returns nothing');
SELECT has_function('erp', 'atp', ARRAY['text', 'text', 'text', 'timestamp with time zone'],
    'erp.atp(sku, node, channel, at) exists, or no preorder could be promised');
SELECT ok(bool_and(NOT p.prosecdef), 'every procurement and count function takes its owner''s rights in C, not by SECURITY DEFINER, which would hide a caller''s own definer function (operators using them is tested below)')
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'erp'::regnamespace
   AND p.proname IN ('create_po', 'receive_po', 'delay_po', 'transfer', 'receive_transfer',
                     'create_replenishment_pos', 'count', 'approve_adjustment');
SELECT ok(bool_and(has_function_privilege('erp_operator', p.oid, 'EXECUTE')),
    'erp_operator may execute every procurement and count function, or the warehouse apps could not call them')
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'erp'::regnamespace
   AND p.proname IN ('create_po', 'receive_po', 'delay_po', 'transfer', 'receive_transfer',
                     'create_replenishment_pos', 'count', 'approve_adjustment');

-- Views, tables, enums ---------------------------------------------------------------

SELECT has_view('erp', 'replenishment', 'erp.replenishment exists, or buyers would have no suggestions');
SELECT has_column('erp', 'replenishment', c, format('erp.replenishment has column %s, or BI reports on it would break', c))
  FROM unnest(ARRAY['sku', 'node', 'on_hand', 'available', 'inbound', 'backordered', 'avg_daily_demand',
                    'reorder_point', 'order_up_to', 'suggested_qty', 'days_of_cover', 'stockout_risk',
                    'lead_time_days']) c;
SELECT col_type_is('erp', 'replenishment', 'suggested_qty', 'bigint', 'suggested_qty is whole units (bigint)');
SELECT col_type_is('erp', 'replenishment', 'sku', 'text', 'the view names items by sku');
SELECT col_type_is('erp', 'replenishment', 'node', 'text', 'the view names nodes by code');
SELECT is((SELECT reloptions @> ARRAY['security_invoker=true'] FROM pg_catalog.pg_class WHERE oid = 'erp.replenishment'::regclass),
    true, 'erp.replenishment runs as the invoker, or a partner would see every node''s stock through it');
SELECT is((SELECT reloptions @> ARRAY['security_invoker=true'] FROM pg_catalog.pg_class WHERE oid = 'erp.availability'::regclass),
    true, 'erp.availability runs as the invoker, or a partner would see every node''s stock through it');
SELECT enum_has_labels('erp', 'po_status', ARRAY['open', 'partially_received', 'received', 'cancelled'],
    'erp.po_status has the purchase order statuses in order, or buyers would misread where an order stands');
SELECT enum_has_labels('erp', 'transfer_status', ARRAY['in_transit', 'received'],
    'erp.transfer_status has the two transfer statuses');
SELECT enum_has_labels('erp', 'adjustment_status', ARRAY['pending_approval', 'applied', 'rejected'],
    'erp.adjustment_status has the adjustment statuses in order');
SELECT columns_are('erp', 'node_access', ARRAY['node_access_id', 'role_name', 'node_id', 'role_oid'],
    'erp.node_access is (role_name, node_id) and the role''s oid (a renamed partner stays one), or partners could not be listed');
SELECT has_column('erp', 'cycle_count', c, format('erp.cycle_count has column %s, or inventory accuracy could not be computed', c))
  FROM unnest(ARRAY['system_qty', 'counted_qty', 'variance', 'counted_by', 'adjustment_id']) c;
SELECT has_column('erp', 'stock_move', c, format('erp.stock_move has column %s, or the audit could not say who moved stock', c))
  FROM unnest(ARRAY['actor', 'application_name', 'at']) c;
SELECT ok(NOT has_table_privilege('erp_operator', 'erp.' || t, 'INSERT')
          AND NOT has_table_privilege('erp_operator', 'erp.' || t, 'UPDATE')
          AND NOT has_table_privilege('erp_operator', 'erp.' || t, 'DELETE'),
    format('erp_operator cannot write erp.%s directly, or an app could bypass the rules', t))
  FROM unnest(ARRAY['purchase_order', 'purchase_order_line', 'transfer', 'cycle_count', 'adjustment',
                    'node_access', 'stock_balance', 'stock_move']) t;

-- Master data of this file ----------------------------------------------------------------

INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES ('TAP05-TEE', 'tap tee', 6.50, 19.90, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder, allow_preorder)
VALUES ('TAP05-HOOD', 'tap hoodie', 15.00, 49.00, true, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked) VALUES ('TAP05-VIT', 'tap vitamins', 2.00, 8.50, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price, requires_qc) VALUES ('TAP05-CHG', 'tap charger', 9.00, 25.00, true);
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TAP05-LAP', 'tap laptop', 820.00, 1199.00);
INSERT INTO erp.node (code, kind) VALUES ('TAP05-DC', 'warehouse'), ('TAP05-ST', 'store'), ('TAP05-3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('TAP05-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP05-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TAP05-WEB' AND n.code IN ('TAP05-DC', 'TAP05-ST');
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP05-ACME', 10), ('TAP05-BOLT', 4);

-- Named ids (readable from any role: the IE009 checks run as other roles).
CREATE TEMP TABLE tap05_id (name text PRIMARY KEY, id bigint NOT NULL);
GRANT SELECT, INSERT ON tap05_id TO PUBLIC;
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap05_id WHERE name = p_name
$$;
-- Sum of one balance.
CREATE FUNCTION pg_temp.bal(p_sku text, p_node text, p_state erp.stock_state) RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
     WHERE i.sku = p_sku AND n.code = p_node AND b.state = p_state
$$;
-- Status of a named purchase order.
CREATE FUNCTION pg_temp.po_status(p_po text) RETURNS text LANGUAGE sql AS $$
    SELECT status::text FROM erp.purchase_order WHERE purchase_order_id = (SELECT id FROM tap05_id WHERE name = p_po)
$$;
-- Captures, allocates, picks, packs and ships an order of channel TAP05-WEB.
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_sku text, p_qty bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP05-WEB', p_ref, jsonb_build_array(
                    jsonb_build_object('sku', p_sku, 'qty', p_qty, 'unit_price', 19.90)));
    a record;
BEGIN
    FOR a IN SELECT * FROM erp.allocate(o) LOOP
        PERFORM erp.pick(o, a.sku, a.qty);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN o;
END
$$;

-- Everything a supply or count call can change: balances, ledger, purchase
-- orders and their lines, transfers, lots, counts, adjustments, events.  A
-- refused call must leave it exactly as it was.
CREATE FUNCTION pg_temp.picture() RETURNS TABLE (what text, k1 text, k2 text, k3 text, v text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT * FROM (
        SELECT 'balance', i.sku, n.code, b.state::text, sum(b.qty)::text
          FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
          JOIN erp.node n ON n.node_id = b.node_id
         WHERE i.sku LIKE 'TAP05-%' GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT 'ledger', NULL, NULL, NULL, count(*)::text || '/' || coalesce(sum(m.qty), 0)
          FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'po', p.purchase_order_id::text, n.code, NULL,
               concat_ws('/', p.status, p.expected_at, p.received_at, s.code)
          FROM erp.purchase_order p JOIN erp.node n ON n.node_id = p.node_id
          JOIN erp.supplier s ON s.supplier_id = p.supplier_id WHERE s.code LIKE 'TAP05-%'
        UNION ALL
        SELECT 'po_line', l.purchase_order_line_id::text, i.sku, NULL, concat_ws('/', l.qty, l.qty_received, l.unit_cost)
          FROM erp.purchase_order_line l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'transfer', t.transfer_id::text, i.sku, NULL, concat_ws('/', t.qty, t.status, t.received_at)
          FROM erp.transfer t JOIN erp.item i ON i.item_id = t.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'lot', l.lot_code, i.sku, NULL, coalesce(l.expires_on::text, '')
          FROM erp.lot l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'count', c.cycle_count_id::text, i.sku, NULL, concat_ws('/', c.system_qty, c.counted_qty, c.adjustment_id)
          FROM erp.cycle_count c JOIN erp.item i ON i.item_id = c.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'adjustment', a.adjustment_id::text, i.sku, NULL,
               concat_ws('/', a.qty_delta, a.value, a.status, a.decided_by, a.move_id)
          FROM erp.adjustment a JOIN erp.item i ON i.item_id = a.item_id WHERE i.sku LIKE 'TAP05-%'
        UNION ALL
        SELECT 'events', e.kind, NULL, NULL, count(*)::text
          FROM erp.event e LEFT JOIN erp.item i ON i.item_id = e.item_id
         WHERE i.sku LIKE 'TAP05-%' OR e.payload->>'supplier' LIKE 'TAP05-%' GROUP BY e.kind
        UNION ALL
        SELECT 'node_access', a.role_name::text, n.code, NULL, NULL
          FROM erp.node_access a JOIN erp.node n ON n.node_id = a.node_id WHERE n.code LIKE 'TAP05-%'
    ) p
    ORDER BY 1, 2, 3, 4
$$;
CREATE TEMP TABLE tap05_snapshot (what text, k1 text, k2 text, k3 text, v text);
GRANT SELECT ON tap05_snapshot TO PUBLIC;
CREATE FUNCTION pg_temp.snapshot() RETURNS void LANGUAGE sql AS $$
    DELETE FROM tap05_snapshot;
    INSERT INTO tap05_snapshot SELECT * FROM pg_temp.picture();
$$;
CREATE FUNCTION pg_temp.unchanged(description text) RETURNS text LANGUAGE sql AS $$
    SELECT results_eq('SELECT * FROM pg_temp.picture()',
                      'SELECT * FROM tap05_snapshot ORDER BY 1, 2, 3, 4',
                      description);
$$;

-- Purchase orders ---------------------------------------------------------------------------

INSERT INTO tap05_id VALUES ('p1', erp.create_po('TAP05-ACME', 'TAP05-DC',
    '[{"sku": "TAP05-TEE", "qty": 30, "unit_cost": 6.10}, {"sku": "TAP05-LAP", "qty": 5}]', now() + interval '7 days'));
SELECT is(pg_temp.po_status('p1'), 'open', 'a new purchase order is open');
SELECT is(pg_temp.bal('TAP05-TEE', 'TAP05-DC', 'incoming'), 30::bigint,
    'the 30 tees confirmed are incoming at the node at once, or inbound stock would be invisible until it arrives');
SELECT results_eq(format($$SELECT m.event, m.from_state::text, m.to_state::text, m.qty FROM erp.stock_move m
                            WHERE m.ref = 'po:%s' ORDER BY m.move_id$$, pg_temp.id('p1')),
    $$VALUES ('po_confirmed', NULL::text, 'incoming', 30::bigint), ('po_confirmed', NULL, 'incoming', 5)$$,
    'each line enters from outside as incoming by event po_confirmed, or the ledger would not explain the inbound units');
SELECT results_eq(format($$SELECT i.sku, l.line_no, l.qty, l.qty_received, l.unit_cost FROM erp.purchase_order_line l
                            JOIN erp.item i ON i.item_id = l.item_id WHERE l.purchase_order_id = %s ORDER BY l.line_no$$, pg_temp.id('p1')),
    $$VALUES ('TAP05-TEE', 1, 30::bigint, 0::bigint, 6.10::numeric), ('TAP05-LAP', 2, 5::bigint, 0::bigint, 820.00::numeric)$$,
    'lines keep their order, the negotiated cost, or the item''s unit_cost when none is given, or the buyer''s costs would be wrong');
SELECT pg_temp.snapshot();

-- IE003 and IE004 at creation
SELECT throws_ok($$SELECT erp.create_po('TAP05-NOBODY', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": 1}]', now())$$,
    'IE003', 'unknown supplier "TAP05-NOBODY"', 'an unknown supplier is refused with IE003 naming it');
SELECT pg_temp.unchanged('the refused order of an unknown supplier changed nothing');
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-NOWHERE', '[{"sku": "TAP05-TEE", "qty": 1}]', now())$$,
    'IE003', 'unknown node "TAP05-NOWHERE"', 'an unknown node is refused with IE003 naming it');
SELECT pg_temp.unchanged('the refused order for an unknown node changed nothing');
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": 1}, {"sku": "TAP05-NOPE", "qty": 1}]', now())$$,
    'IE003', 'unknown sku "TAP05-NOPE"', 'an unknown sku is refused with IE003, and the valid line with it');
SELECT pg_temp.unchanged('the refused order with an unknown sku changed nothing, not even its valid line');
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": 0}]', now())$$,
    'IE004', 'invalid quantity 0 for sku "TAP05-TEE"', 'a line of zero units is refused with IE004');
SELECT pg_temp.unchanged('the refused zero line changed nothing');
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": -2}]', now())$$,
    'IE004', NULL, 'a negative line is refused with IE004, or a purchase order could take stock away');
SELECT pg_temp.unchanged('the refused negative line changed nothing');
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-DC', '[]', now())$$,
    'IE004', 'purchase order from "TAP05-ACME" has no lines', 'a purchase order without lines is refused with IE004');
SELECT pg_temp.unchanged('the refused empty order changed nothing');

-- partial receipts, over-receipt refused
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-TEE", "qty": 18}]')$$, pg_temp.id('p1')),
    'the first 18 tees are received');
SELECT is(pg_temp.po_status('p1'), 'partially_received', 'a purchase order with units still due is partially_received');
SELECT results_eq($$SELECT pg_temp.bal('TAP05-TEE', 'TAP05-DC', 'available'), pg_temp.bal('TAP05-TEE', 'TAP05-DC', 'incoming')$$,
    $$VALUES (18::bigint, 12::bigint)$$, 'received tees move from incoming to available, 12 stay incoming');
SELECT pg_temp.snapshot();
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-TEE", "qty": 13}]')$$, pg_temp.id('p1')),
    'IE004', format('receipt of 13 of sku "TAP05-TEE" exceeds the 12 still due on purchase order %s', pg_temp.id('p1')),
    'receiving 13 tees when 12 are due is refused with IE004 naming the 12, or stock would appear that was never ordered');
SELECT pg_temp.unchanged('the refused over-receipt changed nothing');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-TEE", "qty": 7}, {"sku": "TAP05-TEE", "qty": 6}]')$$, pg_temp.id('p1')),
    'IE004', NULL, 'two lines of one sku that together exceed what is due are refused with IE004 too');
SELECT pg_temp.unchanged('the refused split over-receipt changed nothing');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-CHG", "qty": 1}]')$$, pg_temp.id('p1')),
    'IE003', format('sku "TAP05-CHG" is not on purchase order %s', pg_temp.id('p1')),
    'a sku not on the purchase order is refused with IE003');
SELECT pg_temp.unchanged('the refused receipt of a sku not on the order changed nothing');
SELECT throws_ok($$SELECT erp.receive_po(-1)$$, 'IE003', 'unknown purchase order -1',
    'an unknown purchase order is refused with IE003 naming it');
SELECT pg_temp.unchanged('the refused receipt of an unknown order changed nothing');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-TEE", "qty": 0}]')$$, pg_temp.id('p1')),
    'IE004', 'invalid quantity 0 for sku "TAP05-TEE"', 'a receipt of zero units is refused with IE004');
SELECT pg_temp.unchanged('the refused zero receipt changed nothing');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[]')$$, pg_temp.id('p1')),
    'IE004', format('a receipt of purchase order %s needs at least one line', pg_temp.id('p1')),
    'a receipt without lines is refused with IE004');
SELECT pg_temp.unchanged('the refused empty receipt changed nothing');

SELECT lives_ok(format('SELECT erp.receive_po(%s)', pg_temp.id('p1')),
    'without lines, everything outstanding (12 tees, 5 laptops) is received');
SELECT results_eq(format($$SELECT p.status::text, p.received_at IS NOT NULL, sum(l.qty_received)
                            FROM erp.purchase_order p JOIN erp.purchase_order_line l USING (purchase_order_id)
                           WHERE p.purchase_order_id = %s GROUP BY 1, 2$$, pg_temp.id('p1')),
    $$VALUES ('received', true, 35::numeric)$$, 'the purchase order is received, with received_at, every unit of it');
SELECT results_eq($$SELECT pg_temp.bal('TAP05-TEE', 'TAP05-DC', 'available'), pg_temp.bal('TAP05-TEE', 'TAP05-DC', 'incoming'),
                           pg_temp.bal('TAP05-LAP', 'TAP05-DC', 'available')$$,
    $$VALUES (30::bigint, 0::bigint, 5::bigint)$$, 'all 30 tees and 5 laptops are available, nothing incoming');
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.receive_po(%s)', pg_temp.id('p1')),
    'IE010', format('cannot receive purchase order %s: it is received', pg_temp.id('p1')),
    'receiving a received purchase order is refused with IE010, or its units would be booked twice');
SELECT pg_temp.unchanged('the refused second receipt changed nothing');
SELECT throws_ok(format('SELECT erp.delay_po(%s, now() + interval ''30 days'')', pg_temp.id('p1')),
    'IE010', format('cannot delay purchase order %s: it is received', pg_temp.id('p1')),
    'delaying a received purchase order is refused with IE010');
SELECT pg_temp.unchanged('the refused delay of a received order changed nothing, no supplier_delay event either');

-- lot-tracked and quality-checked items
INSERT INTO tap05_id VALUES ('p2', erp.create_po('TAP05-BOLT', 'TAP05-DC',
    '[{"sku": "TAP05-VIT", "qty": 40}, {"sku": "TAP05-CHG", "qty": 8}]', now() + interval '4 days'));
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.receive_po(%s)', pg_temp.id('p2')),
    'IE003', 'sku "TAP05-VIT" is lot-tracked: its receipt needs a lot',
    'receiving everything of a purchase order with a lot-tracked line is refused with IE003, or units would enter without their lot');
SELECT pg_temp.unchanged('the refused receipt without lots changed nothing, not even the chargers');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-VIT", "qty": 5}]')$$, pg_temp.id('p2')),
    'IE003', NULL, 'a lot-tracked line without its lot is refused with IE003');
SELECT pg_temp.unchanged('the refused lot-less line changed nothing');
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-VIT", "qty": 25, "lot": "TAP05-L1", "expires_on": "2031-03-31"},
                                                     {"sku": "TAP05-CHG", "qty": 8}]')$$, pg_temp.id('p2')),
    'vitamins arrive with their lot and expiry, chargers with them');
SELECT results_eq(format($$SELECT m.event, m.from_state::text, m.to_state::text, l.lot_code, m.qty
                             FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id LEFT JOIN erp.lot l ON l.lot_id = m.lot_id
                            WHERE m.ref = 'po:%s' AND i.sku = 'TAP05-VIT' ORDER BY m.move_id$$, pg_temp.id('p2')),
    $$VALUES ('po_confirmed', NULL::text, 'incoming', NULL::text, 40::bigint),
             ('po_received', 'incoming', NULL, NULL, 25),
             ('receive', NULL, 'available', 'TAP05-L1', 25)$$,
    'a lot-tracked receipt closes the lot-less expectation (po_received) and receives the lot from outside, or lots and expectations would not reconcile');
SELECT is((SELECT expires_on FROM erp.lot WHERE lot_code = 'TAP05-L1'), '2031-03-31'::date,
    'the lot is created with its expiry date, or FEFO allocation would not know it');
SELECT results_eq($$SELECT pg_temp.bal('TAP05-VIT', 'TAP05-DC', 'available'), pg_temp.bal('TAP05-VIT', 'TAP05-DC', 'incoming'),
                           pg_temp.bal('TAP05-CHG', 'TAP05-DC', 'quarantined'), pg_temp.bal('TAP05-CHG', 'TAP05-DC', 'available')$$,
    $$VALUES (25::bigint, 15::bigint, 8::bigint, 0::bigint)$$,
    'the quality-checked chargers land in quarantine, not available, or unchecked units would be sold');
SELECT lives_ok($$SELECT erp.move('TAP05-CHG', 'TAP05-DC', 8, 'quarantined', 'available', 'release_hold')$$,
    'the chargers pass their check');

-- Delay and the preorder promise -------------------------------------------------------------

INSERT INTO tap05_id VALUES ('h1', erp.capture_order('TAP05-WEB', 'tap05-h1', '[{"sku": "TAP05-HOOD", "qty": 4, "unit_price": 49.00}]'));
SELECT is((SELECT coalesce(sum(qty), 0) FROM erp.allocate(pg_temp.id('h1'))), 0::numeric, 'no hoodie is anywhere: nothing is reserved');
SELECT is((SELECT qty_backordered FROM erp.order_line WHERE order_id = pg_temp.id('h1')), 4::bigint, 'the four hoodies are backordered');
INSERT INTO tap05_id VALUES ('p3', erp.create_po('TAP05-ACME', 'TAP05-DC', '[{"sku": "TAP05-HOOD", "qty": 10}]', now() + interval '120 hours'));
SELECT results_eq($$SELECT erp.atp('TAP05-HOOD', 'TAP05-DC'), erp.atp('TAP05-HOOD', 'TAP05-DC', at => now() + interval '100 hours'),
                           erp.atp('TAP05-HOOD', 'TAP05-DC', at => now() + interval '130 hours')$$,
    $$VALUES (0::bigint, 0::bigint, 10::bigint)$$,
    'a preorder item promises what open purchase orders bring by the promise date, nothing without a date, or preorders could not be sold');
SELECT results_eq($$SELECT erp.atp('TAP05-TEE', 'TAP05-DC'), erp.atp('TAP05-TEE', 'TAP05-DC', at => now() + interval '100 days')$$,
    $$VALUES (30::bigint, 30::bigint)$$, 'an item that does not allow preorders promises only what is available, whatever the date');
SELECT pg_temp.snapshot();
SELECT lives_ok(format('SELECT erp.delay_po(%s, now() + interval ''300 hours'')', pg_temp.id('p3')), 'Acme will deliver late');
SELECT results_eq(format($$SELECT payload->>'po_id', payload->>'supplier', payload->>'node',
                                  (payload->>'was_expected_at')::timestamptz - now(), (payload->>'expected_at')::timestamptz - now(),
                                  payload->'orders_at_risk'
                             FROM erp.event WHERE kind = 'supplier_delay' AND payload->>'supplier' = 'TAP05-ACME'$$),
    format($$VALUES (%L, 'TAP05-ACME', 'TAP05-DC', interval '120 hours', interval '300 hours',
                     jsonb_build_array(jsonb_build_object('order_id', %s, 'external_ref', 'tap05-h1', 'sku', 'TAP05-HOOD', 'backordered', 4)))$$,
           pg_temp.id('p3'), pg_temp.id('h1')),
    'one supplier_delay event names the order, both dates and the backordered order at risk, or customer service would not know whom to tell');
SELECT is((SELECT expected_at - now() FROM erp.purchase_order WHERE purchase_order_id = pg_temp.id('p3')), interval '300 hours',
    'the purchase order is due at the new date');
SELECT results_eq($$SELECT erp.atp('TAP05-HOOD', 'TAP05-DC', at => now() + interval '130 hours'),
                           erp.atp('TAP05-HOOD', 'TAP05-DC', at => now() + interval '310 hours')$$,
    $$VALUES (0::bigint, 10::bigint)$$, 'the promise moves with the delivery, or preorders would be promised for a date the supplier will miss');
SELECT pg_temp.snapshot();
SELECT throws_ok($$SELECT erp.delay_po(-1, now())$$, 'IE003', 'unknown purchase order -1',
    'delaying an unknown purchase order is refused with IE003');
SELECT pg_temp.unchanged('the refused delay changed nothing');

-- Transfers ---------------------------------------------------------------------------------

SELECT lives_ok($$SELECT erp.receive('TAP05-HOOD', 'TAP05-ST', 5)$$, 'the store holds 5 hoodies');
INSERT INTO tap05_id VALUES ('t1', erp.transfer('TAP05-HOOD', 'TAP05-ST', 'TAP05-DC', 3));
SELECT results_eq($$SELECT pg_temp.bal('TAP05-HOOD', 'TAP05-ST', 'available'), pg_temp.bal('TAP05-HOOD', 'TAP05-DC', 'in_transit')$$,
    $$VALUES (2::bigint, 3::bigint)$$, 'a transfer takes available units at the source and makes them in_transit at the destination');
SELECT results_eq($$SELECT in_transit, inbound, on_hand FROM erp.availability WHERE sku = 'TAP05-HOOD' AND node = 'TAP05-DC'$$,
    $$VALUES (3::bigint, 13::bigint, 0::bigint)$$, 'units in transit are inbound at the destination, not on hand, or they would be sold before they arrive');
SELECT is(erp.atp('TAP05-HOOD', 'TAP05-DC', at => now() + interval '1 hour'), 3::bigint,
    'a preorder promise counts the units in transit to the node, or a transfer could not be preordered');
SELECT pg_temp.snapshot();
SELECT throws_ok($$SELECT erp.transfer('TAP05-HOOD', 'TAP05-ST', 'TAP05-DC', 3)$$,
    'IE001', 'insufficient stock for sku "TAP05-HOOD" at node "TAP05-ST": 2 available, 3 requested',
    'transferring more than is available is refused with IE001, or stock would go negative');
SELECT pg_temp.unchanged('the refused transfer of too many changed nothing');
SELECT throws_ok($$SELECT erp.transfer('TAP05-TEE', 'TAP05-DC', 'TAP05-DC', 1)$$,
    'IE002', 'a transfer of sku "TAP05-TEE" needs two different nodes, not "TAP05-DC" twice',
    'a transfer to the same node is refused with IE002');
SELECT pg_temp.unchanged('the refused same-node transfer changed nothing');
SELECT throws_ok($$SELECT erp.transfer('TAP05-NOPE', 'TAP05-DC', 'TAP05-ST', 1)$$, 'IE003', 'unknown sku "TAP05-NOPE"',
    'a transfer of an unknown sku is refused with IE003');
SELECT pg_temp.unchanged('the refused transfer of an unknown sku changed nothing');
SELECT throws_ok($$SELECT erp.transfer('TAP05-TEE', 'TAP05-DC', 'TAP05-NOWHERE', 1)$$, 'IE003', 'unknown node "TAP05-NOWHERE"',
    'a transfer to an unknown node is refused with IE003');
SELECT pg_temp.unchanged('the refused transfer to an unknown node changed nothing');
SELECT throws_ok($$SELECT erp.transfer('TAP05-TEE', 'TAP05-DC', 'TAP05-ST', 0)$$, 'IE004', 'invalid quantity 0 for sku "TAP05-TEE"',
    'a transfer of zero units is refused with IE004');
SELECT pg_temp.unchanged('the refused zero transfer changed nothing');
SELECT throws_ok($$SELECT erp.receive_transfer(-1)$$, 'IE003', 'unknown transfer -1',
    'receiving an unknown transfer is refused with IE003');
SELECT pg_temp.unchanged('the refused receipt of an unknown transfer changed nothing');
SELECT lives_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('t1')), 'the hoodies arrive at the DC');
SELECT results_eq(format($$SELECT t.status::text, t.received_at IS NOT NULL, pg_temp.bal('TAP05-HOOD', 'TAP05-DC', 'available'),
                                  pg_temp.bal('TAP05-HOOD', 'TAP05-DC', 'in_transit')
                             FROM erp.transfer t WHERE t.transfer_id = %s$$, pg_temp.id('t1')),
    $$VALUES ('received', true, 3::bigint, 0::bigint)$$, 'a received transfer is available at the destination, stamped received');
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('t1')),
    'IE010', format('transfer %s was received already', pg_temp.id('t1')),
    'receiving a transfer twice is refused with IE010, or its units would be counted twice');
SELECT pg_temp.unchanged('the refused second transfer receipt changed nothing');

-- Replenishment -----------------------------------------------------------------------------

INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, lead_time_days, supplier_id)
SELECT i.item_id, n.node_id, v.rp, v.upto, v.lead, s.supplier_id
  FROM (VALUES ('TAP05-TEE', 'TAP05-DC', 35, 100, NULL, 'TAP05-ACME'),
               ('TAP05-HOOD', 'TAP05-DC', 20, 40, 21, 'TAP05-ACME'),
               ('TAP05-CHG', 'TAP05-DC', 10, 15, NULL, 'TAP05-BOLT'),
               ('TAP05-LAP', 'TAP05-DC', 2, 6, NULL, 'TAP05-BOLT'),
               ('TAP05-TEE', 'TAP05-ST', 5, 12, NULL, NULL)) v(sku, node, rp, upto, lead, supplier)
  JOIN erp.item i ON i.sku = v.sku JOIN erp.node n ON n.code = v.node
  LEFT JOIN erp.supplier s ON s.code = v.supplier;
-- Bolt confirms 10 more tees: 30 available + 10 inbound = 40
INSERT INTO tap05_id VALUES ('p4', erp.create_po('TAP05-BOLT', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": 10}]', now() + interval '2 days'));
-- low_stock: once, when an allocation takes available + inbound below the reorder point
INSERT INTO tap05_id VALUES ('o1', pg_temp.ship_order('tap05-o1', 'TAP05-TEE', 5));
SELECT is((SELECT count(*) FROM erp.event e JOIN erp.item i USING (item_id) WHERE e.kind = 'low_stock' AND i.sku = 'TAP05-TEE'),
    0::bigint, '25 + 10 = 35 is not below the reorder point of 35: no low_stock event');
INSERT INTO tap05_id VALUES ('o2', pg_temp.ship_order('tap05-o2', 'TAP05-TEE', 2));
SELECT results_eq($$SELECT n.code, e.payload->>'available', e.payload->>'inbound', e.payload->>'reorder_point'
                     FROM erp.event e JOIN erp.item i USING (item_id) JOIN erp.node n ON n.node_id = e.node_id
                    WHERE e.kind = 'low_stock' AND i.sku = 'TAP05-TEE'$$,
    $$VALUES ('TAP05-DC', '23', '10', '35')$$,
    'taking 23 + 10 = 33 below 35 raises one low_stock event with the numbers, or buyers would not hear of it');
INSERT INTO tap05_id VALUES ('o3', erp.capture_order('TAP05-WEB', 'tap05-o3', '[{"sku": "TAP05-TEE", "qty": 1, "unit_price": 19.90}]'));
SELECT is((SELECT sum(qty) FROM erp.allocate(pg_temp.id('o3'))), 1::numeric, 'one more tee is reserved');
SELECT is((SELECT count(*) FROM erp.event e JOIN erp.item i USING (item_id) WHERE e.kind = 'low_stock' AND i.sku = 'TAP05-TEE'),
    1::bigint, 'an allocation that stays below the reorder point raises no second low_stock event, or the outbox would be flooded');
-- an old shipment is outside the 28-day demand window
INSERT INTO tap05_id VALUES ('o4', pg_temp.ship_order('tap05-o4', 'TAP05-CHG', 1));
UPDATE erp.shipment SET shipped_at = now() - interval '29 days' WHERE order_id = pg_temp.id('o4');

-- By hand: position = available + inbound - backordered; below the reorder point the
-- suggestion brings it up to order_up_to.
--   TEE  DC: 22 + 10 - 0 = 32 < 35 -> 100 - 32 = 68; demand 7 / 28 = 0.25; cover 22 / 0.25 = 88.0; medium
--   HOOD DC: 3 + 10 - 4 (h1 still waits) = 9 < 20 -> 40 - 9 = 31; medium
--   CHG  DC: 7 + 0 - 0 = 7 < 10 -> 15 - 7 = 8; demand 0 (the shipment is 29 days old); medium
--   LAP  DC: 5 + 0 - 0 = 5 >= 2 -> 0; low
--   TEE  ST: 0 + 0 - 0 = 0 < 5 -> 12; no supplier
SELECT results_eq($$SELECT sku, node, on_hand, available, inbound, backordered, avg_daily_demand, reorder_point, order_up_to,
                           suggested_qty, days_of_cover, stockout_risk, lead_time_days
                      FROM erp.replenishment WHERE sku LIKE 'TAP05-%' ORDER BY sku, node$$,
    $$SELECT * FROM (VALUES
        ('TAP05-CHG', 'TAP05-DC', 7::bigint, 7::bigint, 0::bigint, 0::bigint, 0.00::numeric, 10::bigint, 15::bigint, 8::bigint, NULL::numeric, 'medium', 4),
        ('TAP05-HOOD', 'TAP05-DC', 3::bigint, 3::bigint, 10::bigint, 4::bigint, 0.00::numeric, 20::bigint, 40::bigint, 31::bigint, NULL::numeric, 'medium', 21),
        ('TAP05-LAP', 'TAP05-DC', 5::bigint, 5::bigint, 0::bigint, 0::bigint, 0.00::numeric, 2::bigint, 6::bigint, 0::bigint, NULL::numeric, 'low', 4),
        ('TAP05-TEE', 'TAP05-DC', 23::bigint, 22::bigint, 10::bigint, 0::bigint, 0.25::numeric, 35::bigint, 100::bigint, 68::bigint, 88.0::numeric, 'medium', 10),
        ('TAP05-TEE', 'TAP05-ST', 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0.00::numeric, 5::bigint, 12::bigint, 12::bigint, NULL::numeric, 'medium', 7)) v$$,
    'erp.replenishment computes position, suggestion, demand, cover and risk by the documented formula, or buyers would order the wrong quantities');
SELECT is_empty($$SELECT sku, node FROM erp.replenishment
                   WHERE suggested_qty <> CASE WHEN available + inbound - backordered < reorder_point
                                               THEN order_up_to - (available + inbound - backordered) ELSE 0 END$$,
    'every row''s suggested_qty = order_up_to - position when position < reorder_point, else 0');

SELECT pg_temp.snapshot();
INSERT INTO tap05_id VALUES ('r', erp.create_replenishment_pos());
SELECT is(pg_temp.id('r'), (SELECT count(*) FROM erp.purchase_order p JOIN erp.supplier s USING (supplier_id)
                             WHERE s.code LIKE 'TAP05-%' AND p.purchase_order_id > pg_temp.id('p4')),
    'create_replenishment_pos returns how many purchase orders it created');
SELECT results_eq($$SELECT s.code, n.code, i.sku, l.line_no, l.qty, l.unit_cost, p.status::text, p.expected_at - now()
                      FROM erp.purchase_order p JOIN erp.supplier s USING (supplier_id) JOIN erp.node n ON n.node_id = p.node_id
                      JOIN erp.purchase_order_line l ON l.purchase_order_id = p.purchase_order_id
                      JOIN erp.item i ON i.item_id = l.item_id
                     WHERE s.code LIKE 'TAP05-%' AND p.purchase_order_id > pg_temp.id('p4')
                     ORDER BY s.code, n.code, l.line_no$$,
    $$SELECT * FROM (VALUES
        ('TAP05-ACME', 'TAP05-DC', 'TAP05-TEE', 1, 68::bigint, 6.50::numeric, 'open', interval '21 days'),
        ('TAP05-ACME', 'TAP05-DC', 'TAP05-HOOD', 2, 31::bigint, 15.00::numeric, 'open', interval '21 days'),
        ('TAP05-BOLT', 'TAP05-DC', 'TAP05-CHG', 1, 8::bigint, 9.00::numeric, 'open', interval '4 days')) v$$,
    'one purchase order per supplier and node, lines = suggested_qty at unit cost, due after the longest lead time; the store''s tees (no supplier) are skipped');
SELECT results_eq($$SELECT sku, node, suggested_qty FROM erp.replenishment WHERE sku LIKE 'TAP05-%' AND suggested_qty > 0$$,
    $$VALUES ('TAP05-TEE', 'TAP05-ST', 12::bigint)$$,
    'the new purchase orders are inbound: only the suggestion without a supplier is left');
SELECT pg_temp.snapshot();
SELECT is(erp.create_replenishment_pos(), 0, 'a second run finds nothing to order, or every run would order again');
SELECT pg_temp.unchanged('the second run changed nothing');
-- a lead time beyond ten years (the column only forbids < 0) would put the due date past
-- any date: the run is refused with IE004 and orders nothing
UPDATE erp.stock_policy SET lead_time_days = 3651, supplier_id = (SELECT supplier_id FROM erp.supplier WHERE code = 'TAP05-BOLT')
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP05-TEE')
   AND node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP05-ST');
SELECT pg_temp.snapshot();
SELECT throws_ok('SELECT erp.create_replenishment_pos()', 'IE004', 'invalid lead time of 3651 days for node "TAP05-ST"',
    'a stock policy''s lead time of 3651 days is refused with IE004, not an out-of-range date');
SELECT pg_temp.unchanged('the refused run created no purchase order');
UPDATE erp.stock_policy SET lead_time_days = NULL, supplier_id = NULL
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP05-TEE')
   AND node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP05-ST');

-- Counts and approvals --------------------------------------------------------------------------

-- no approval_policy row for adjustments: up to 100.00 is applied at once
SELECT is((SELECT count(*) FROM erp.approval_policy WHERE kind = 'adjustment'), 0::bigint, 'no adjustment approval policy is set');
INSERT INTO tap05_id VALUES ('c1', erp.count('TAP05-CHG', 'TAP05-DC', 0));
SELECT results_eq(format($$SELECT c.system_qty, c.counted_qty, c.variance, a.qty_delta, a.value, a.status::text, a.move_id IS NOT NULL
                             FROM erp.cycle_count c JOIN erp.adjustment a USING (adjustment_id) WHERE c.cycle_count_id = %s$$, pg_temp.id('c1')),
    $$VALUES (7::bigint, 0::bigint, -7::bigint, -7::bigint, 63.00::numeric, 'applied', true)$$,
    'a count of 0 against 7 on the books: variance -7 worth 63.00 is applied at once, or small corrections would wait for a human');
SELECT is(pg_temp.bal('TAP05-CHG', 'TAP05-DC', 'available'), 0::bigint, 'the seven missing chargers are adjusted out');
INSERT INTO tap05_id VALUES ('c2', erp.count('TAP05-LAP', 'TAP05-DC', 4));
SELECT results_eq(format($$SELECT c.variance, a.value, a.status::text, a.move_id IS NULL
                             FROM erp.cycle_count c JOIN erp.adjustment a USING (adjustment_id) WHERE c.cycle_count_id = %s$$, pg_temp.id('c2')),
    $$VALUES (-1::bigint, 820.00::numeric, 'pending_approval', true)$$,
    'a laptop missing (820.00 > 100.00) waits for approval, or an operator could write off expensive stock alone');
INSERT INTO tap05_id SELECT 'a2', adjustment_id FROM erp.cycle_count WHERE cycle_count_id = pg_temp.id('c2');
SELECT is(pg_temp.bal('TAP05-LAP', 'TAP05-DC', 'available'), 5::bigint, 'the laptop is not written off yet');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'adjustment_approval_needed' AND (payload->>'adjustment_id')::bigint = pg_temp.id('a2')),
    1::bigint, 'one adjustment_approval_needed event announces it, or approvers would not know');
INSERT INTO tap05_id VALUES ('c3', erp.count('TAP05-TEE', 'TAP05-ST', 0));
SELECT is((SELECT adjustment_id FROM erp.cycle_count WHERE cycle_count_id = pg_temp.id('c3')), NULL::bigint,
    'a count that matches the books makes no adjustment');
SELECT pg_temp.snapshot();

SELECT throws_ok($$SELECT erp.count('TAP05-TEE', 'TAP05-DC', -1)$$, 'IE004', 'invalid count -1 for sku "TAP05-TEE"',
    'a negative count is refused with IE004');
SELECT pg_temp.unchanged('the refused negative count changed nothing');
SELECT throws_ok($$SELECT erp.count('TAP05-VIT', 'TAP05-DC', 20)$$, 'IE003', 'sku "TAP05-VIT" is lot-tracked: a count names its lot',
    'a count of a lot-tracked item without its lot is refused with IE003');
SELECT pg_temp.unchanged('the refused lot-less count changed nothing');
SELECT throws_ok($$SELECT erp.count('TAP05-VIT', 'TAP05-DC', 20, 'TAP05-NOLOT')$$, 'IE003', NULL,
    'a count of an unknown lot is refused with IE003');
SELECT pg_temp.unchanged('the refused count of an unknown lot changed nothing');
SELECT throws_ok($$SELECT erp.count('TAP05-NOPE', 'TAP05-DC', 1)$$, 'IE003', 'unknown sku "TAP05-NOPE"',
    'a count of an unknown sku is refused with IE003');
SELECT pg_temp.unchanged('the refused count of an unknown sku changed nothing');
SELECT throws_ok($$SELECT erp.count('TAP05-TEE', 'TAP05-NOWHERE', 1)$$, 'IE003', 'unknown node "TAP05-NOWHERE"',
    'a count at an unknown node is refused with IE003');
SELECT pg_temp.unchanged('the refused count at an unknown node changed nothing');
SELECT lives_ok($$SELECT erp.count('TAP05-VIT', 'TAP05-DC', 25, 'TAP05-L1')$$, 'a lot is counted by its code');

SELECT pg_temp.snapshot();
SET LOCAL ROLE erp_operator;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('a2')),
    'IE009', 'role "erp_operator" may not approve adjustments',
    'an operator approving an adjustment is refused with IE009, or anyone could write off stock');
RESET ROLE;
SELECT pg_temp.unchanged('the refused approval changed nothing: the laptop still waits');
CREATE ROLE tap05_approver;
GRANT erp_approver TO tap05_approver;
SET LOCAL ROLE tap05_approver;
SELECT lives_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('a2')), 'an approver applies the laptop adjustment');
RESET ROLE;
SELECT results_eq(format($$SELECT a.status::text, a.decided_by::text COLLATE "default", a.decided_at IS NOT NULL, m.actor::text COLLATE "default",
                                  m.from_state::text, m.to_state::text, m.qty
                             FROM erp.adjustment a JOIN erp.stock_move m ON m.move_id = a.move_id WHERE a.adjustment_id = %s$$, pg_temp.id('a2')),
    $$VALUES ('applied', 'tap05_approver', true, 'tap05_approver', 'available', NULL::text, 1::bigint)$$,
    'the approved adjustment is applied by a move of the approver, who is recorded, or the audit could not say who wrote it off');
SELECT is(pg_temp.bal('TAP05-LAP', 'TAP05-DC', 'available'), 4::bigint, 'the laptop is written off');
SELECT pg_temp.snapshot();
SET LOCAL ROLE tap05_approver;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('a2')),
    'IE010', format('adjustment %s is applied, not pending approval', pg_temp.id('a2')),
    'approving an applied adjustment again is refused with IE010, or stock would be written off twice');
SELECT throws_ok($$SELECT erp.approve_adjustment(-1)$$, 'IE003', 'unknown adjustment -1',
    'approving an unknown adjustment is refused with IE003');
RESET ROLE;
SELECT pg_temp.unchanged('the refused approvals changed nothing');
-- IE001: the stock is gone by the time the approval comes
INSERT INTO tap05_id VALUES ('c4', erp.count('TAP05-LAP', 'TAP05-DC', 0));
INSERT INTO tap05_id SELECT 'a4', adjustment_id FROM erp.cycle_count WHERE cycle_count_id = pg_temp.id('c4');
SELECT lives_ok($$SELECT erp.move('TAP05-LAP', 'TAP05-DC', 4, 'available', 'damaged', 'damage')$$, 'the laptops are damaged meanwhile');
SELECT pg_temp.snapshot();
SET LOCAL ROLE tap05_approver;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('a4')),
    'IE001', 'insufficient stock for sku "TAP05-LAP" at node "TAP05-DC": 0 available, 4 requested',
    'approving a write-off of stock that is no longer available is refused with IE001, or stock would go negative');
RESET ROLE;
SELECT pg_temp.unchanged('the refused write-off changed nothing: the adjustment still waits');
-- the shop's own threshold, inclusive
INSERT INTO erp.approval_policy (kind, max_auto_value) SELECT 'adjustment', 13.00
 WHERE NOT EXISTS (SELECT 1 FROM erp.approval_policy WHERE kind = 'adjustment');
INSERT INTO tap05_id VALUES ('c5', erp.count('TAP05-TEE', 'TAP05-DC', 20));
SELECT results_eq(format($$SELECT a.value, a.status::text FROM erp.cycle_count c JOIN erp.adjustment a USING (adjustment_id)
                            WHERE c.cycle_count_id = %s$$, pg_temp.id('c5')),
    $$VALUES (13.00::numeric, 'applied')$$, 'a variance worth exactly the policy''s max_auto_value (2 x 6.50 = 13.00) is applied at once');
INSERT INTO tap05_id VALUES ('c6', erp.count('TAP05-TEE', 'TAP05-DC', 17));
SELECT results_eq(format($$SELECT a.value, a.status::text FROM erp.cycle_count c JOIN erp.adjustment a USING (adjustment_id)
                            WHERE c.cycle_count_id = %s$$, pg_temp.id('c6')),
    $$VALUES (19.50::numeric, 'pending_approval')$$, 'above the policy''s max_auto_value (3 x 6.50 = 19.50) it waits');

-- Partner access ------------------------------------------------------------------------------

CREATE ROLE tap05_3pl;
GRANT erp_operator TO tap05_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap05_3pl', node_id FROM erp.node WHERE code = 'TAP05-3PL';
INSERT INTO tap05_id VALUES ('p5', erp.create_po('TAP05-ACME', 'TAP05-3PL', '[{"sku": "TAP05-TEE", "qty": 12}]', now() + interval '3 days'));
SELECT lives_ok($$SELECT erp.receive('TAP05-TEE', 'TAP05-3PL', 8)$$, 'the 3PL holds 8 tees');
INSERT INTO tap05_id VALUES ('t2', erp.transfer('TAP05-TEE', 'TAP05-DC', 'TAP05-3PL', 2));
SELECT pg_temp.snapshot();
SET LOCAL ROLE tap05_3pl;
SELECT throws_ok($$SELECT erp.create_po('TAP05-ACME', 'TAP05-DC', '[{"sku": "TAP05-TEE", "qty": 1}]', now())$$,
    'IE009', 'role "tap05_3pl" has no access to node "TAP05-DC"',
    'a partner ordering stock for another node is refused with IE009, or a 3PL could fill the shop''s warehouse');
SELECT throws_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-HOOD", "qty": 1}]')$$, pg_temp.id('p3')),
    'IE009', 'role "tap05_3pl" has no access to node "TAP05-DC"', 'a partner receiving another node''s purchase order is refused with IE009');
SELECT throws_ok($$SELECT erp.transfer('TAP05-TEE', 'TAP05-DC', 'TAP05-3PL', 1)$$,
    'IE009', 'role "tap05_3pl" has no access to node "TAP05-DC"', 'a partner pulling stock from another node is refused with IE009');
SELECT throws_ok($$SELECT erp.count('TAP05-TEE', 'TAP05-DC', 0)$$,
    'IE009', 'role "tap05_3pl" has no access to node "TAP05-DC"', 'a partner counting another node is refused with IE009');
RESET ROLE;
SELECT pg_temp.unchanged('the partner''s refused calls at another node changed nothing');
SET LOCAL ROLE tap05_3pl;
SELECT lives_ok(format($$SELECT erp.receive_po(%s, '[{"sku": "TAP05-TEE", "qty": 12}]')$$, pg_temp.id('p5')),
    'the partner receives its own node''s purchase order');
SELECT lives_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('t2')), 'the partner receives a transfer to its node');
SELECT lives_ok($$SELECT erp.transfer('TAP05-TEE', 'TAP05-3PL', 'TAP05-ST', 3)$$,
    'the partner sends stock from its node to another node (the other node receives it)');
SELECT lives_ok($$SELECT erp.count('TAP05-TEE', 'TAP05-3PL', 18)$$, 'the partner counts at its node (one tee missing: 6.50, applied at once)');
SELECT results_eq($$SELECT DISTINCT n.code FROM erp.stock_balance b JOIN erp.node n ON n.node_id = b.node_id ORDER BY 1$$,
    $$VALUES ('TAP05-3PL')$$, 'the partner sees only its node''s balances');
SELECT results_eq($$SELECT DISTINCT n.code FROM erp.purchase_order p JOIN erp.node n ON n.node_id = p.node_id ORDER BY 1$$,
    $$VALUES ('TAP05-3PL')$$, 'the partner sees only its node''s purchase orders');
SELECT results_eq($$SELECT DISTINCT node FROM erp.availability ORDER BY 1$$,
    $$VALUES ('TAP05-3PL')$$, 'the partner sees only its node in erp.availability');
SELECT results_eq($$SELECT count(*) FROM erp.transfer$$, $$VALUES (2::bigint)$$,
    'the partner sees the transfers to and from its node, and no other');
RESET ROLE;

-- The actor of every move ---------------------------------------------------------------------

SET LOCAL application_name = 'tap05-dock';
SET LOCAL ROLE erp_operator;
INSERT INTO tap05_id VALUES ('p6', erp.create_po('TAP05-BOLT', 'TAP05-ST', '[{"sku": "TAP05-TEE", "qty": 2}]', now() + interval '1 day'));
SELECT lives_ok(format('SELECT erp.receive_po(%s)', pg_temp.id('p6')), 'an operator receives a purchase order');
INSERT INTO tap05_id VALUES ('t3', erp.transfer('TAP05-TEE', 'TAP05-ST', 'TAP05-DC', 1));
SELECT lives_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('t3')), 'an operator receives a transfer');
INSERT INTO tap05_id VALUES ('c7', erp.count('TAP05-TEE', 'TAP05-ST', 0));
RESET ROLE;
SELECT results_eq(format($$SELECT m.event, m.actor::text COLLATE "default", m.application_name
                             FROM erp.stock_move m
                            WHERE m.ref IN ('po:%s', 'transfer:%s')
                               OR m.ref = (SELECT 'adjustment:' || adjustment_id FROM erp.cycle_count WHERE cycle_count_id = %s)
                            ORDER BY m.move_id$$, pg_temp.id('p6'), pg_temp.id('t3'), pg_temp.id('c7')),
    $$VALUES ('po_confirmed', 'erp_operator', 'tap05-dock'), ('receive', 'erp_operator', 'tap05-dock'),
             ('transfer_out', 'erp_operator', 'tap05-dock'), ('transfer_in', 'erp_operator', 'tap05-dock'),
             ('adjust', 'erp_operator', 'tap05-dock')$$,
    'every move records the calling role and application, not the function owner, or the audit trail would name nobody');
SELECT results_eq(format($$SELECT c.counted_by::text COLLATE "default", a.created_by::text COLLATE "default"
                             FROM erp.cycle_count c JOIN erp.adjustment a USING (adjustment_id) WHERE c.cycle_count_id = %s$$, pg_temp.id('c7')),
    $$VALUES ('erp_operator', 'erp_operator')$$, 'the count and its adjustment record who counted');
SELECT is((SELECT bool_and(m.at IS NOT NULL) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP05-%'),
    true, 'every move records its time');

-- The books ----------------------------------------------------------------------------------

SELECT is_empty($$SELECT * FROM erp.verify()$$,
    'erp.verify() finds no inconsistency after all the purchasing, transfers and counts, or the supply engine would corrupt the books');
SELECT is_empty($$SELECT * FROM erp.stock_balance WHERE qty < 0$$, 'no balance is negative');

SELECT * FROM finish();
ROLLBACK;
