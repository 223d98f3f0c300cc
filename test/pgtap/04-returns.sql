-- 04-returns.sql: the contract of returns orchestration (SPEC.md sections 1, 5
-- and 6): the signatures of every returns function, the labels of the returns
-- enums, the default disposition rules, the refund formula and when a refund
-- waits for an approver, the RMA status from authorised to closed or expired,
-- and every refusal (IE003, IE004, IE007, IE008, IE009, IE010), each followed by
-- proof that the refused call changed nothing.
--
-- The database is shared with the other pgTAP files: all master data here uses
-- codes starting with TAP04- and everything is rolled back at the end.  One
-- thing outlives the rollback on purpose: the return_discrepancy event of a
-- refused receipt is committed by a background worker (that is the contract).
BEGIN;
SELECT plan(169);

-- Signatures -------------------------------------------------------------------

SELECT has_function('erp', 'authorize_return', ARRAY['bigint', 'jsonb', 'integer', 'text'],
    'erp.authorize_return(order_id, lines, return_window_days) exists, or no customer could be allowed to send anything back');
SELECT function_returns('erp', 'authorize_return', ARRAY['bigint', 'jsonb', 'integer', 'text'], 'bigint',
    'erp.authorize_return returns the rma id as bigint, or the desk could not refer to the RMA it created');
SELECT has_function('erp', 'receive_return', ARRAY['bigint', 'text', 'jsonb', 'text'],
    'erp.receive_return(rma_id, node, lines) exists, or returned parcels could not be booked in');
SELECT function_returns('erp', 'receive_return', ARRAY['bigint', 'text', 'jsonb', 'text'], 'void',
    'erp.receive_return returns nothing, as documented');
SELECT has_function('erp', 'inspect_return', ARRAY['bigint', 'erp.item_condition', 'text'],
    'erp.inspect_return(rma_line_id, condition) exists, or returned units could never be routed');
SELECT function_returns('erp', 'inspect_return', ARRAY['bigint', 'erp.item_condition', 'text'], 'erp.disposition',
    'erp.inspect_return returns the erp.disposition, or the inspector would not know where to put the unit');
SELECT has_function('erp', 'approve_refund', ARRAY['bigint', 'text'],
    'erp.approve_refund(rma_line_id) exists, or refunds that wait for approval could never be paid');
SELECT function_returns('erp', 'approve_refund', ARRAY['bigint', 'text'], 'numeric',
    'erp.approve_refund returns the amount released, or finance could not book it');
SELECT has_function('erp', 'complete_refurbish', ARRAY['bigint', 'text'],
    'erp.complete_refurbish(rma_line_id) exists, or refurbished units could never be sold again');
SELECT has_function('erp', 'return_to_vendor', ARRAY['bigint', 'text'],
    'erp.return_to_vendor(rma_line_id) exists, or units for the vendor would sit in vendor_return forever');
SELECT has_function('erp', 'expire_returns', ARRAY['text'],
    'erp.expire_returns() exists, or return_pending stock that never comes back would stay inbound forever');
SELECT function_returns('erp', 'expire_returns', ARRAY['text'], 'integer',
    'erp.expire_returns returns how many RMAs it expired, or a scheduler could not report its work');
SELECT isnt_definer('erp', 'authorize_return', ARRAY['bigint', 'jsonb', 'integer', 'text'],
    'erp.authorize_return takes its owner''s rights in C (operators authorising returns is tested below), so a caller''s SECURITY DEFINER function cannot hide who calls');
SELECT isnt_definer('erp', 'inspect_return', ARRAY['bigint', 'erp.item_condition', 'text'],
    'erp.inspect_return takes its owner''s rights in C, so a caller''s SECURITY DEFINER function cannot hide who inspects');
SELECT isnt_definer('erp', 'approve_refund', ARRAY['bigint', 'text'],
    'erp.approve_refund takes its owner''s rights in C, so a partner''s SECURITY DEFINER function cannot approve in another''s name');

-- The enums, in order -------------------------------------------------------------

SELECT enum_has_labels('erp', 'item_condition',
    ARRAY['new', 'opened', 'used', 'damaged', 'defective', 'missing_parts', 'wrong_item'],
    'erp.item_condition has the seven documented conditions in order, or inspection apps would send values the database refuses');
SELECT enum_has_labels('erp', 'disposition',
    ARRAY['restock', 'refurbish', 'quarantine', 'vendor_return', 'dispose'],
    'erp.disposition has the five documented dispositions in order, or routing results would be misread');
SELECT enum_has_labels('erp', 'rma_status',
    ARRAY['authorized', 'partially_received', 'received', 'inspected', 'closed', 'expired'],
    'erp.rma_status has the six documented statuses in order, or customer service would misread where a return stands');
SELECT enum_has_labels('erp', 'refund_status',
    ARRAY['pending', 'awaiting_approval', 'approved'],
    'erp.refund_status has the three documented statuses in order, or finance would pay the wrong refunds');
SELECT enum_has_labels('erp', 'refund_policy',
    ARRAY['on_receipt', 'on_inspection', 'manual'],
    'erp.refund_policy has the three documented policies, or rules could not say when a refund is due');

-- Tables and columns clients rely on ---------------------------------------------

SELECT columns_are('erp', 'rma', ARRAY['rma_id', 'order_id', 'status', 'authorized_at', 'expires_at', 'closed_at'],
    'erp.rma has the documented columns, or reports on returns would break');
SELECT has_column('erp', 'rma_line', 'received_at', 'erp.rma_line.received_at exists, or receipt times could not be reported');
SELECT has_column('erp', 'rma_line', 'inspected_at', 'erp.rma_line.inspected_at exists, or inspection backlogs could not be measured');
SELECT has_column('erp', 'rma_line', 'available_at', 'erp.rma_line.available_at exists, or the return cycle time could not be computed');
SELECT has_column('erp', 'rma_line', 'refunded_at', 'erp.rma_line.refunded_at exists, or refund latency could not be computed');
SELECT col_type_is('erp', 'rma_line', 'refund_amount', 'numeric(14,2)',
    'refund amounts are numeric(14,2), or refunds could carry fractions of a cent');

-- The default rules ------------------------------------------------------------------

SELECT results_eq($$
    SELECT priority, reason, condition::text, category, disposition::text, refund_policy::text, restocking_fee_pct
      FROM erp.disposition_rule WHERE builtin ORDER BY priority$$,
    $$VALUES (100, 'damaged_in_transit', NULL::text, NULL::text, 'dispose', 'on_receipt', 0.00::numeric),
             (200, NULL, 'new', NULL, 'restock', 'on_inspection', 0.00),
             (300, NULL, 'opened', 'apparel', 'restock', 'on_inspection', 10.00),
             (400, NULL, 'defective', NULL, 'vendor_return', 'on_inspection', 0.00),
             (500, NULL, 'damaged', NULL, 'dispose', 'manual', 0.00),
             (600, NULL, 'used', NULL, 'refurbish', 'on_inspection', 15.00),
             (900, NULL, NULL, NULL, 'quarantine', 'manual', 0.00)$$,
    'the seven default rules ship with the extension, in priority order, or returns would be routed nowhere on a fresh install');
SELECT is_empty($$SELECT 1 FROM erp.disposition_rule WHERE builtin AND (min_unit_value IS NOT NULL OR max_unit_value IS NOT NULL)$$,
    'no default rule is limited by unit value, or some returns would fall through to quarantine by price alone');

-- Master data and shipped orders of this file -------------------------------------------

INSERT INTO erp.item (sku, title, category, unit_price) VALUES
    ('TAP04-TEE', 'tap tee', 'apparel', 19.90),
    ('TAP04-JEANS', 'tap jeans', 'apparel', 59.00),
    ('TAP04-SOCKS', 'tap socks', 'apparel', 9.99),
    ('TAP04-HEADPH', 'tap headphones', 'electronics', 180.00),
    ('TAP04-CHARGER', 'tap charger', 'electronics', 25.00),
    ('TAP04-SPEAKER', 'tap speaker', 'electronics', 120.00),
    ('TAP04-LAMP', 'tap lamp', 'home', 45.00),
    ('TAP04-VASE', 'tap vase', 'home', 30.00),
    ('TAP04-SET', 'tap lamp and vase', 'home', 70.00);
INSERT INTO erp.item (sku, title, category, unit_price, high_value)
VALUES ('TAP04-LAPTOP', 'tap laptop', 'electronics', 1199.00, true);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
 WHERE k.sku = 'TAP04-SET' AND c.sku IN ('TAP04-LAMP', 'TAP04-VASE');
INSERT INTO erp.node (code, kind) VALUES ('TAP04-DC', 'warehouse'), ('TAP04-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP04-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n
 WHERE c.code = 'TAP04-WEB' AND n.code = 'TAP04-DC';
SELECT is((SELECT count(erp.receive(sku, 'TAP04-DC', 20, ref => 'tap04:open'))
             FROM erp.item WHERE sku LIKE 'TAP04-%' AND sku <> 'TAP04-SET'),
    9::bigint, 'twenty units of each of the nine stocked items are received, or no order could ship');

-- Named ids (readable from any role: the IE009 checks run as erp_operator).
CREATE TEMP TABLE tap04_id (name text PRIMARY KEY, id bigint NOT NULL);
GRANT SELECT ON tap04_id TO PUBLIC;
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap04_id WHERE name = p_name
$$;
-- The rma line of a sku on a named RMA.
CREATE FUNCTION pg_temp.line(p_rma text, p_sku text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT l.rma_line_id FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
     WHERE l.rma_id = (SELECT id FROM tap04_id WHERE name = p_rma) AND i.sku = p_sku
     ORDER BY l.rma_line_id LIMIT 1   -- the line as authorised (a partial receipt splits off new lines)
$$;
-- Inspects every line of an rma for a sku; the dispositions, in line order.
CREATE FUNCTION pg_temp.inspect_all(p_rma text, p_sku text, p_condition erp.item_condition) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(erp.inspect_return(l.rma_line_id, p_condition)::text, ',' ORDER BY l.rma_line_id)
      FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
     WHERE l.rma_id = (SELECT id FROM tap04_id WHERE name = p_rma) AND i.sku = p_sku
$$;
-- Captures, allocates, picks, packs and ships an order of channel TAP04-WEB.
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP04-WEB', p_ref, p_lines);
    p record;
BEGIN
    FOR p IN SELECT a.sku, sum(a.qty) AS qty FROM erp.allocate(o) a GROUP BY a.sku ORDER BY a.sku LOOP
        PERFORM erp.pick(o, p.sku, p.qty::bigint);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN o;
END
$$;
-- Sum of one balance.
CREATE FUNCTION pg_temp.bal(p_sku text, p_node text, p_state erp.stock_state) RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
     WHERE i.sku = p_sku AND n.code = p_node AND b.state = p_state
$$;
-- Status of a named RMA.
CREATE FUNCTION pg_temp.status(p_rma text) RETURNS text LANGUAGE sql AS $$
    SELECT status::text FROM erp.rma WHERE rma_id = (SELECT id FROM tap04_id WHERE name = p_rma)
$$;

-- Everything a returns call can change: balances, ledger, RMAs, their lines,
-- the rules and the events other than discrepancies.  A refused call must
-- leave it exactly as it was.
CREATE FUNCTION pg_temp.picture() RETURNS TABLE (what text, k1 text, k2 text, k3 text, v text)
LANGUAGE sql AS $$
    SELECT * FROM (
        SELECT 'balance', i.sku, n.code, b.state::text, sum(b.qty)::text
          FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
          JOIN erp.node n ON n.node_id = b.node_id
         WHERE i.sku LIKE 'TAP04-%' GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT 'ledger', NULL, NULL, NULL, count(*)::text
          FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id WHERE i.sku LIKE 'TAP04-%'
        UNION ALL
        SELECT 'rma', r.rma_id::text, NULL, NULL, r.status::text
          FROM erp.rma r JOIN erp.sales_order o ON o.order_id = r.order_id
          JOIN erp.channel c ON c.channel_id = o.channel_id WHERE c.code = 'TAP04-WEB'
        UNION ALL
        SELECT 'rma_line', l.rma_line_id::text, i.sku, NULL,
               concat_ws('/', l.qty, l.qty_received, l.qty_inspected, l.qty_expired, l.received_node_id,
                         l.condition, l.disposition, l.refund_policy, l.restocking_fee_pct, l.refund_amount,
                         l.refund_status, l.approved_by, l.received_at, l.inspected_at, l.available_at,
                         l.refunded_at, l.vendor_returned_at)
          FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP04-%'
        UNION ALL
        SELECT 'rules', NULL, NULL, NULL, count(*)::text || ':' || md5(string_agg(r::text, ',' ORDER BY r.disposition_rule_id))
          FROM erp.disposition_rule r
        UNION ALL
        SELECT 'events', e.kind, NULL, NULL, count(*)::text
          FROM erp.event e JOIN erp.item i ON i.item_id = e.item_id
         WHERE i.sku LIKE 'TAP04-%' AND e.kind <> 'return_discrepancy' GROUP BY e.kind
    ) p
    ORDER BY 1, 2, 3, 4
$$;
CREATE TEMP TABLE tap04_snapshot (what text, k1 text, k2 text, k3 text, v text);
CREATE FUNCTION pg_temp.snapshot() RETURNS void LANGUAGE sql AS $$
    DELETE FROM tap04_snapshot;
    INSERT INTO tap04_snapshot SELECT * FROM pg_temp.picture();
$$;
CREATE FUNCTION pg_temp.unchanged(description text) RETURNS text LANGUAGE sql AS $$
    SELECT results_eq('SELECT * FROM pg_temp.picture()',
                      'SELECT * FROM tap04_snapshot ORDER BY 1, 2, 3, 4',
                      description);
$$;

INSERT INTO tap04_id
VALUES ('o1', pg_temp.ship_order('tap04-1', '[{"sku": "TAP04-TEE", "qty": 3, "unit_price": 19.90},
                                              {"sku": "TAP04-JEANS", "qty": 1, "unit_price": 59.00},
                                              {"sku": "TAP04-SOCKS", "qty": 3, "unit_price": 9.99},
                                              {"sku": "TAP04-SPEAKER", "qty": 1, "unit_price": 120.00}]')),
       ('o2', pg_temp.ship_order('tap04-2', '[{"sku": "TAP04-HEADPH", "qty": 2, "unit_price": 180.00},
                                              {"sku": "TAP04-CHARGER", "qty": 2, "unit_price": 25.00},
                                              {"sku": "TAP04-LAPTOP", "qty": 1, "unit_price": 1199.00}]')),
       ('o3', pg_temp.ship_order('tap04-3', '[{"sku": "TAP04-LAMP", "qty": 2, "unit_price": 45.00},
                                              {"sku": "TAP04-VASE", "qty": 1, "unit_price": 30.00},
                                              {"sku": "TAP04-SET", "qty": 1, "unit_price": 66.00}]')),
       ('o4', pg_temp.ship_order('tap04-4', '[{"sku": "TAP04-JEANS", "qty": 1, "unit_price": 59.00}]'));
-- order 4 shipped 60 days ago
UPDATE erp.shipment SET shipped_at = now() - interval '60 days' WHERE order_id = pg_temp.id('o4');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE order_id IN (SELECT id FROM tap04_id) AND status = 'shipped'),
    4::bigint, 'the four orders of this file are shipped, or there would be nothing to return');

-- Authorising ------------------------------------------------------------------------

INSERT INTO tap04_id VALUES ('a', erp.authorize_return(pg_temp.id('o1'),
    '[{"sku": "TAP04-TEE", "qty": 2, "reason": "too_small"}, {"sku": "TAP04-JEANS", "qty": 1, "reason": "too_large"}]'));
SELECT is(pg_temp.status('a'), 'authorized', 'a new RMA is authorized, or the desk could not tell what it expects');
SELECT is(pg_temp.bal('TAP04-TEE', 'TAP04-DC', 'return_pending'), 2::bigint,
    'two authorised tees are return_pending at the node that shipped them, or inbound returns would be invisible');
SELECT results_eq($$SELECT i.sku, l.qty, l.unit_price, l.refund_status::text, n.code
                     FROM erp.rma_line l JOIN erp.item i USING (item_id) JOIN erp.node n ON n.node_id = l.node_id
                    WHERE l.rma_id = pg_temp.id('a') ORDER BY i.sku$$,
    $$VALUES ('TAP04-JEANS', 1::bigint, 59.00::numeric, 'pending', 'TAP04-DC'),
             ('TAP04-TEE', 2::bigint, 19.90::numeric, 'pending', 'TAP04-DC')$$,
    'each line carries the price paid on the order, a pending refund and the shipping node, or refunds would use the wrong price');
SELECT pg_temp.snapshot();

-- IE008: more than shipped and not yet returned, or outside the window
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-TEE", "qty": 2, "reason": "too_small"}]')$$, pg_temp.id('o1')),
    'IE008', format('return of 2 of sku "TAP04-TEE" exceeds the 1 shipped on order %s and not yet returned', pg_temp.id('o1')),
    'returning 2 more of 3 tees of which 2 are authorised is refused with IE008 naming the 1 left, or a customer could be refunded twice');
SELECT pg_temp.unchanged('the refused over-return changed nothing, or a refused RMA could still create return_pending stock');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-JEANS", "qty": 1, "reason": "too_large"}]')$$, pg_temp.id('o1')),
    'IE008', NULL,
    'the same jeans authorised a second time (on another RMA) are refused with IE008, or one unit could be refunded twice');
SELECT pg_temp.unchanged('the refused second return changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-LAMP", "qty": 1, "reason": "too_large"}]')$$, pg_temp.id('o1')),
    'IE008', NULL,
    'a sku that is not on the order is refused with IE008, or anything could be returned against any order');
SELECT pg_temp.unchanged('the refused return of an item never shipped changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-JEANS", "qty": 1, "reason": "too_small"}]')$$, pg_temp.id('o4')),
    'IE008', format('return of sku "TAP04-JEANS" on order %s is outside the 30-day return window', pg_temp.id('o4')),
    'jeans shipped 60 days ago are refused with IE008 under the default 30-day window, or the return policy would not hold');
SELECT pg_temp.unchanged('the refused late return changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-JEANS", "qty": 1, "reason": "too_small"}]', 59)$$, pg_temp.id('o4')),
    'IE008', NULL,
    'a 59-day window still refuses a shipment 60 days old, or the window would be counted wrongly');
SELECT pg_temp.unchanged('the refused return under a 59-day window changed nothing');

-- IE003: unknown order, sku, reason
SELECT throws_ok($$SELECT erp.authorize_return(-1, '[{"sku": "TAP04-TEE", "qty": 1, "reason": "too_small"}]')$$,
    'IE003', 'unknown order -1',
    'an unknown order is refused with IE003 naming it, or RMAs could point at nothing');
SELECT pg_temp.unchanged('the refused unknown order changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-NOPE", "qty": 1, "reason": "too_small"}]')$$, pg_temp.id('o1')),
    'IE003', 'unknown sku "TAP04-NOPE"',
    'an unknown sku is refused with IE003 naming it, or a typo would authorise nothing silently');
SELECT pg_temp.unchanged('the refused unknown sku changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-TEE", "qty": 1, "reason": "tap04_whim"}]')$$, pg_temp.id('o1')),
    'IE003', 'unknown return reason "tap04_whim"',
    'an unknown reason is refused with IE003 naming it, or rules keyed on reasons would never match');
SELECT pg_temp.unchanged('the refused unknown reason changed nothing');

-- IE004: bad quantities, no lines, a window of no days
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-TEE", "qty": 0, "reason": "too_small"}]')$$, pg_temp.id('o1')),
    'IE004', 'invalid quantity 0 for sku "TAP04-TEE"',
    'a return of zero units is refused with IE004, or empty RMA lines would clutter the desk');
SELECT pg_temp.unchanged('the refused zero return changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-TEE", "qty": -1, "reason": "too_small"}]')$$, pg_temp.id('o1')),
    'IE004', NULL,
    'a negative return is refused with IE004, or a return could take stock away');
SELECT pg_temp.unchanged('the refused negative return changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[]')$$, pg_temp.id('o1')),
    'IE004', NULL,
    'a return without lines is refused with IE004, or empty RMAs would wait forever');
SELECT pg_temp.unchanged('the refused empty return changed nothing');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP04-TEE", "qty": 1, "reason": "too_small"}]', 0)$$, pg_temp.id('o1')),
    'IE004', 'invalid return window of 0 days',
    'a window of zero days is refused with IE004, or every return would be outside it without saying why');
SELECT pg_temp.unchanged('the refused zero-day window changed nothing');

-- Receiving ------------------------------------------------------------------------------

-- IE010: nothing has arrived, so nothing can be inspected yet
SELECT throws_ok(format('SELECT erp.inspect_return(%s, %L)', pg_temp.line('a', 'TAP04-TEE'), 'new'),
    'IE010', format('rma line %s has nothing to inspect', pg_temp.line('a', 'TAP04-TEE')),
    'inspecting a line nothing of which has arrived is refused with IE010, or stock could be routed before it exists');
SELECT pg_temp.unchanged('the refused early inspection changed nothing');

SELECT lives_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-TEE", "qty": 1}]')$$, pg_temp.id('a')),
    'one of two tees is received, or partial receipts would be impossible');
SELECT is(pg_temp.status('a'), 'partially_received', 'an RMA with units still expected is partially_received');
SELECT results_eq(format($$SELECT l.qty, l.qty_received, l.received_at IS NOT NULL, l.inspected_at IS NULL
                             FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = %s AND i.sku = 'TAP04-TEE' ORDER BY l.rma_line_id$$, pg_temp.id('a')),
    $$VALUES (1::bigint, 0::bigint, false, true), (1::bigint, 1::bigint, true, true)$$,
    'the tee that arrived is a line of its own with received_at stamped, the other tee stays expected, or the receipt would not be traceable');
SELECT is(pg_temp.bal('TAP04-TEE', 'TAP04-DC', 'inspection'), 1::bigint,
    'the received tee is in inspection at the node that shipped it (the default), or it would be sold before inspection');
SELECT pg_temp.snapshot();

-- IE007: a sku not on the RMA, recorded as a discrepancy although the call fails
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-LAMP", "qty": 1}]')$$, pg_temp.id('a')),
    'IE007', format('sku "TAP04-LAMP" is not on rma %s', pg_temp.id('a')),
    'receiving a lamp on an RMA for tees and jeans is refused with IE007, or wrong items would be refunded');
SELECT pg_temp.unchanged('the refused wrong-item receipt moved no stock and changed no RMA, or a wrong item could enter inspection');
-- (the RMA and the item were created in this transaction, which rolls back: the
-- event keeps their ids in the payload as uncommitted_rma_id, ..., not in its columns)
SELECT is((SELECT count(*) FROM erp.event e
            WHERE e.kind = 'return_discrepancy' AND e.rma_id IS NULL AND e.item_id IS NULL
              AND (e.payload->>'uncommitted_rma_id')::bigint = pg_temp.id('a')
              AND (e.payload->>'uncommitted_item_id')::bigint = (SELECT item_id FROM erp.item WHERE sku = 'TAP04-LAMP')
              AND e.payload @> '{"sku": "TAP04-LAMP", "qty": 1}'),
    1::bigint, 'the wrong item is recorded as one return_discrepancy event despite the refusal, or the floor exception would be lost');
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-NOPE", "qty": 1}]')$$, pg_temp.id('a')),
    'IE007', NULL,
    'receiving a sku nobody knows is refused with IE007, or unreadable labels would be booked');
SELECT pg_temp.unchanged('the refused unknown-sku receipt changed nothing');
SELECT is((SELECT count(*) FROM erp.event e
            WHERE e.kind = 'return_discrepancy' AND (e.payload->>'uncommitted_rma_id')::bigint = pg_temp.id('a')
              AND e.payload->>'sku' = 'TAP04-NOPE'),
    1::bigint, 'the unknown sku is recorded as a return_discrepancy event too');

-- IE008: more than still expected
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-TEE", "qty": 2}]')$$, pg_temp.id('a')),
    'IE008', format('receipt of 2 of sku "TAP04-TEE" exceeds the 1 still expected on rma %s', pg_temp.id('a')),
    'receiving 2 tees when 1 is still expected is refused with IE008, or extra units would appear from nowhere');
SELECT pg_temp.unchanged('the refused over-receipt changed nothing');
-- IE004 and IE003 at receipt
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-TEE", "qty": 0}]')$$, pg_temp.id('a')),
    'IE004', NULL, 'a receipt of zero units is refused with IE004');
SELECT pg_temp.unchanged('the refused zero receipt changed nothing');
SELECT throws_ok($$SELECT erp.receive_return(-1)$$, 'IE003', 'unknown rma -1',
    'an unknown RMA is refused with IE003 naming it, or parcels could be booked against nothing');
SELECT pg_temp.unchanged('the refused unknown rma changed nothing');
SELECT throws_ok(format($$SELECT erp.receive_return(%s, 'TAP04-NOWHERE')$$, pg_temp.id('a')), 'IE003', 'unknown node "TAP04-NOWHERE"',
    'an unknown node is refused with IE003, or returns could arrive at a place that does not exist');
SELECT pg_temp.unchanged('the refused unknown node changed nothing');
-- a partial receipt splits the line: every line is received, inspected and refunded whole
SELECT is((SELECT count(*) FROM erp.rma_line l JOIN erp.item i USING (item_id)
            WHERE l.rma_id = pg_temp.id('a') AND i.sku = 'TAP04-TEE'), 2::bigint,
    'the partial receipt split the tee line in two, or one line would hold units in two stages');
SELECT is((SELECT sum(l.qty) FROM erp.rma_line l JOIN erp.item i USING (item_id)
            WHERE l.rma_id = pg_temp.id('a') AND i.sku = 'TAP04-TEE'), 2::numeric,
    'the split keeps the authorised quantity (1 + 1 tees), or a customer could return more than allowed');

SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('a')),
    'the rest of the RMA (one tee, the jeans) is received, or a parcel could not be booked in one call');
SELECT is(pg_temp.status('a'), 'received', 'an RMA with everything arrived is received');
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('a')), 'IE010', NULL,
    'receiving a fully received RMA again is refused with IE010, or units would be counted twice');
SELECT pg_temp.unchanged('the refused second receipt changed nothing');

-- Inspecting: routing, fees and refunds ---------------------------------------------------

SELECT is(pg_temp.inspect_all('a', 'TAP04-TEE', 'new'), 'restock,restock',
    'new units are restocked (rule 200), each tee line on its own, or sellable returns would be held back');
SELECT is(erp.inspect_return(pg_temp.line('a', 'TAP04-JEANS'), 'opened'), 'restock'::erp.disposition,
    'opened apparel is restocked (rule 300), or worn-once clothes would be held back');
SELECT results_eq(format($$SELECT i.sku, min(l.condition::text), min(l.restocking_fee_pct), sum(l.refund_amount),
                                  min(l.refund_status::text), bool_and(l.inspected_at IS NOT NULL),
                                  bool_and(l.available_at IS NOT NULL), bool_and(l.refunded_at IS NOT NULL)
                             FROM erp.rma_line l JOIN erp.item i USING (item_id) WHERE l.rma_id = %s
                            GROUP BY i.sku ORDER BY i.sku$$, pg_temp.id('a')),
    $$VALUES ('TAP04-JEANS', 'opened', 10.00::numeric, 53.10::numeric, 'approved', true, true, true),
             ('TAP04-TEE', 'new', 0.00::numeric, 39.80::numeric, 'approved', true, true, true)$$,
    'refund = price x qty x (1 - fee/100): 2 x 19.90 = 39.80 and 59.00 x 0.90 = 53.10, approved at once with every stamp set, or customers would be refunded wrongly');
SELECT is(pg_temp.bal('TAP04-TEE', 'TAP04-DC', 'available'), 19::bigint,
    'the two restocked tees are available again (20 - 3 + 2), or returned stock would not be sold');
SELECT is(pg_temp.status('a'), 'closed', 'an RMA fully inspected with no refund waiting is closed');
SELECT pg_temp.snapshot();
-- IE010: twice
SELECT throws_ok(format('SELECT erp.inspect_return(%s, %L)', pg_temp.line('a', 'TAP04-TEE'), 'used'),
    'IE010', format('rma line %s has nothing to inspect', pg_temp.line('a', 'TAP04-TEE')),
    'inspecting a line a second time is refused with IE010, or its units would be moved twice');
SELECT pg_temp.unchanged('the refused second inspection changed nothing');
SELECT throws_ok($$SELECT erp.inspect_return(-1, 'new')$$, 'IE003', 'unknown rma line -1',
    'an unknown RMA line is refused with IE003');
SELECT pg_temp.unchanged('the refused unknown rma line changed nothing');
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.line('a', 'TAP04-TEE')),
    'IE010', format('the refund of rma line %s is approved, not awaiting approval', pg_temp.line('a', 'TAP04-TEE')),
    'approving a refund that was approved already is refused with IE010, or it could be paid twice');
SELECT pg_temp.unchanged('the refused second approval changed nothing, or a refund could be released twice');
SELECT throws_ok(format('SELECT erp.complete_refurbish(%s)', pg_temp.line('a', 'TAP04-TEE')), 'IE010', NULL,
    'completing refurbishment of a restocked line is refused with IE010, or available stock would be counted again');
SELECT pg_temp.unchanged('the refused refurbishment of a restocked line changed nothing');
SELECT throws_ok(format('SELECT erp.return_to_vendor(%s)', pg_temp.line('a', 'TAP04-TEE')), 'IE010', NULL,
    'sending a restocked line to the vendor is refused with IE010, or sellable stock could vanish');
SELECT pg_temp.unchanged('the refused vendor return of a restocked line changed nothing');

-- Electronics: refurbish above the threshold, vendor return, a high-value laptop
INSERT INTO tap04_id VALUES ('b', erp.authorize_return(pg_temp.id('o2'),
    '[{"sku": "TAP04-HEADPH", "qty": 2, "reason": "not_as_described"},
      {"sku": "TAP04-CHARGER", "qty": 1, "reason": "defective"},
      {"sku": "TAP04-LAPTOP", "qty": 1, "reason": "changed_mind"}]'));
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('b')), 'the electronics RMA is received');
SELECT is(erp.inspect_return(pg_temp.line('b', 'TAP04-HEADPH'), 'used'), 'refurbish'::erp.disposition,
    'used units go to refurbish (rule 600)');
SELECT is(erp.inspect_return(pg_temp.line('b', 'TAP04-CHARGER'), 'defective'), 'vendor_return'::erp.disposition,
    'defective units go back to the vendor (rule 400)');
SELECT is(erp.inspect_return(pg_temp.line('b', 'TAP04-LAPTOP'), 'new'), 'restock'::erp.disposition,
    'a new laptop is restocked');
SELECT results_eq(format($$SELECT i.sku, l.refund_amount, l.refund_status::text, l.refunded_at IS NULL
                             FROM erp.rma_line l JOIN erp.item i USING (item_id) WHERE l.rma_id = %s ORDER BY i.sku$$, pg_temp.id('b')),
    $$VALUES ('TAP04-CHARGER', 25.00::numeric, 'approved', false),
             ('TAP04-HEADPH', 306.00::numeric, 'awaiting_approval', true),
             ('TAP04-LAPTOP', 1199.00::numeric, 'awaiting_approval', true)$$,
    '2 x 180.00 x 0.85 = 306.00 waits (above 250.00), the high-value laptop waits, 25.00 is approved, or money would leave without an approver');
SELECT results_eq(format($$SELECT i.sku, e.payload->>'why', (e.payload->>'amount')::numeric FROM erp.event e JOIN erp.item i USING (item_id)
                            WHERE e.kind = 'refund_approval_needed' AND e.rma_id = %s ORDER BY i.sku$$, pg_temp.id('b')),
    $$VALUES ('TAP04-HEADPH', 'above the refund approval threshold', 306.00::numeric),
             ('TAP04-LAPTOP', 'high-value item', 1199.00::numeric)$$,
    'each waiting refund raises one refund_approval_needed event saying why, or approvers would never hear of it');
SELECT is(pg_temp.status('b'), 'inspected', 'an RMA with refunds waiting is inspected, not closed');
SELECT is(pg_temp.bal('TAP04-HEADPH', 'TAP04-DC', 'refurbish'), 2::bigint, 'the headphones wait in refurbish');
SELECT is(pg_temp.bal('TAP04-CHARGER', 'TAP04-DC', 'vendor_return'), 1::bigint, 'the charger waits in vendor_return');
SELECT pg_temp.snapshot();

-- IE009: operators may not approve
SET ROLE erp_operator;
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.line('b', 'TAP04-LAPTOP')),
    'IE009', 'role "erp_operator" may not approve refunds',
    'an operator approving a refund is refused with IE009, or anyone at the desk could pay out money');
RESET ROLE;
SELECT pg_temp.unchanged('the refused approval of the laptop changed nothing: its refund still waits');
SET ROLE erp_operator;
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.line('b', 'TAP04-HEADPH')), 'IE009', NULL,
    'an operator approving the above-threshold refund is refused with IE009 too');
RESET ROLE;
SELECT pg_temp.unchanged('the refused approval of the headphones changed nothing: both refunds still wait');

-- an approver releases them
CREATE ROLE tap04_approver;
GRANT erp_approver TO tap04_approver;
SET ROLE tap04_approver;
SELECT is(erp.approve_refund(pg_temp.line('b', 'TAP04-LAPTOP')), 1199.00::numeric,
    'a member of erp_approver approves the laptop refund and gets its amount back');
SELECT is(erp.approve_refund(pg_temp.line('b', 'TAP04-HEADPH')), 306.00::numeric,
    'a member of erp_approver approves the headphones refund');
SELECT lives_ok(format('SELECT erp.complete_refurbish(%s)', pg_temp.line('b', 'TAP04-HEADPH')),
    'an approver (who is also an operator) completes the refurbishment');
RESET ROLE;
SELECT results_eq(format($$SELECT i.sku, l.refund_status::text, l.approved_by::text COLLATE "default", l.refunded_at IS NOT NULL
                             FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = %s AND l.approved_by IS NOT NULL ORDER BY i.sku$$, pg_temp.id('b')),
    $$VALUES ('TAP04-HEADPH', 'approved', 'tap04_approver', true),
             ('TAP04-LAPTOP', 'approved', 'tap04_approver', true)$$,
    'approved refunds record the approver and refunded_at, or the audit could not say who released the money');
SELECT is(pg_temp.status('b'), 'closed', 'the RMA closes once no refund waits');
SELECT is(pg_temp.bal('TAP04-HEADPH', 'TAP04-DC', 'available'), 20::bigint,
    'refurbished headphones are available again (20 - 2 + 2)');
SELECT ok((SELECT available_at IS NOT NULL FROM erp.rma_line WHERE rma_line_id = pg_temp.line('b', 'TAP04-HEADPH')),
    'complete_refurbish stamps available_at, or the return cycle time would be unknown');
SELECT lives_ok(format('SELECT erp.return_to_vendor(%s)', pg_temp.line('b', 'TAP04-CHARGER')),
    'the charger leaves for the vendor');
SELECT is(pg_temp.bal('TAP04-CHARGER', 'TAP04-DC', 'vendor_return'), 0::bigint, 'nothing is left in vendor_return');
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.complete_refurbish(%s)', pg_temp.line('b', 'TAP04-HEADPH')), 'IE010', NULL,
    'completing a refurbishment twice is refused with IE010, or the units would be available twice');
SELECT pg_temp.unchanged('the refused second refurbishment changed nothing');
SELECT throws_ok(format('SELECT erp.return_to_vendor(%s)', pg_temp.line('b', 'TAP04-CHARGER')), 'IE010', NULL,
    'returning to the vendor twice is refused with IE010');
SELECT pg_temp.unchanged('the refused second vendor return changed nothing');
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.line('b', 'TAP04-LAPTOP')), 'IE010', NULL,
    'approving a refund twice is refused with IE010, or it could be paid twice');
SELECT pg_temp.unchanged('the refused second approval changed nothing');

-- Home goods: refund on receipt, dispose, quarantine with a manual refund, a kit
INSERT INTO tap04_id VALUES ('c', erp.authorize_return(pg_temp.id('o3'),
    '[{"sku": "TAP04-LAMP", "qty": 2, "reason": "damaged_in_transit"},
      {"sku": "TAP04-VASE", "qty": 1, "reason": "changed_mind"}]'));
SELECT lives_ok(format($$SELECT erp.receive_return(%s, 'TAP04-ST', '[{"sku": "TAP04-LAMP", "qty": 1}]')$$, pg_temp.id('c')),
    'one lamp is dropped off at the store');
SELECT results_eq(format('SELECT refund_amount, refund_status::text FROM erp.rma_line WHERE rma_line_id = %s', pg_temp.line('c', 'TAP04-LAMP')),
    $$VALUES (NULL::numeric, 'pending')$$,
    'the lamp still out is not refunded (the one that arrived is a line of its own, refunded on receipt)');
SELECT lives_ok(format($$SELECT erp.receive_return(%s, 'TAP04-ST', '[{"sku": "TAP04-LAMP", "qty": 1}]')$$, pg_temp.id('c')),
    'the second lamp arrives at the store');
SELECT results_eq(format($$SELECT sum(l.refund_amount), min(l.refund_status::text), min(l.refund_policy::text)
                             FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = %s AND i.sku = 'TAP04-LAMP'$$, pg_temp.id('c')),
    $$VALUES (90.00::numeric, 'approved', 'on_receipt')$$,
    'damaged in transit is refunded on receipt as each lamp arrives: 2 x 45.00 = 90.00');
SELECT is(pg_temp.bal('TAP04-LAMP', 'TAP04-ST', 'inspection'), 2::bigint, 'the lamps are in inspection at the store that received them');
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('c')), 'the vase arrives at the DC');
SELECT is(pg_temp.inspect_all('c', 'TAP04-LAMP', 'damaged'), 'dispose,dispose',
    'damaged in transit is disposed of (rule 100 before rule 500)');
SELECT is(pg_temp.bal('TAP04-LAMP', 'TAP04-ST', 'inspection') + pg_temp.bal('TAP04-LAMP', 'TAP04-ST', 'damaged'), 0::bigint,
    'disposed lamps leave the books');
SELECT is(erp.inspect_return(pg_temp.line('c', 'TAP04-VASE'), 'opened'), 'quarantine'::erp.disposition,
    'opened home goods fall through to quarantine (rule 900)');
SELECT results_eq(format('SELECT refund_amount, refund_status::text FROM erp.rma_line WHERE rma_line_id = %s', pg_temp.line('c', 'TAP04-VASE')),
    $$VALUES (30.00::numeric, 'awaiting_approval')$$,
    'a manual refund waits for an approver whatever its amount');
SELECT is(pg_temp.bal('TAP04-VASE', 'TAP04-DC', 'quarantined'), 1::bigint, 'the vase is quarantined');

-- the kit comes back as its components, priced by their list prices
INSERT INTO tap04_id VALUES ('k', erp.authorize_return(pg_temp.id('o3'), '[{"sku": "TAP04-SET", "qty": 1, "reason": "changed_mind"}]'));
SELECT results_eq(format($$SELECT i.sku, l.qty, l.unit_price FROM erp.rma_line l JOIN erp.item i USING (item_id)
                            WHERE l.rma_id = %s ORDER BY i.sku$$, pg_temp.id('k')),
    $$VALUES ('TAP04-LAMP', 1::bigint, 39.60::numeric), ('TAP04-VASE', 1::bigint, 26.40::numeric)$$,
    'a kit sold at 66.00 comes back as a lamp at 39.60 and a vase at 26.40 (45:30), or kit refunds would be wrong');

-- Expiry ----------------------------------------------------------------------------------

UPDATE erp.rma SET expires_at = now() - interval '1 day' WHERE rma_id = pg_temp.id('k');
SELECT is(erp.expire_returns(), 1, 'one RMA is past its expiry and expires');
SELECT is(pg_temp.status('k'), 'expired', 'an RMA of which nothing arrived is expired');
SELECT results_eq(format('SELECT qty_expired FROM erp.rma_line WHERE rma_id = %s ORDER BY rma_line_id', pg_temp.id('k')),
    $$VALUES (1::bigint), (1::bigint)$$, 'the units that never came back are counted as expired');
SELECT is(pg_temp.bal('TAP04-LAMP', 'TAP04-DC', 'return_pending') + pg_temp.bal('TAP04-VASE', 'TAP04-DC', 'return_pending'),
    0::bigint, 'expired units are no longer inbound, or the picture would promise stock that never comes');
SELECT is(erp.expire_returns(), 0, 'a second run expires nothing');
SELECT pg_temp.snapshot();
SELECT throws_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('k')), 'IE010', NULL,
    'an expired RMA is refused with IE010 at receipt');
SELECT pg_temp.unchanged('the refused receipt of an expired RMA changed nothing');
INSERT INTO tap04_id VALUES ('k2', erp.authorize_return(pg_temp.id('o3'), '[{"sku": "TAP04-SET", "qty": 1, "reason": "changed_mind"}]'));
SELECT is(pg_temp.status('k2'), 'authorized', 'units of an expired RMA that never came back can be authorised again');

-- A partly received RMA that expires
INSERT INTO tap04_id VALUES ('s', erp.authorize_return(pg_temp.id('o1'), '[{"sku": "TAP04-TEE", "qty": 1, "reason": "changed_mind"}, {"sku": "TAP04-SOCKS", "qty": 1, "reason": "changed_mind"}]'));
SELECT lives_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-TEE", "qty": 1}]')$$, pg_temp.id('s')), 'the tee arrives, the socks do not');
UPDATE erp.rma SET expires_at = now() - interval '1 day' WHERE rma_id = pg_temp.id('s');
SELECT is(erp.expire_returns(), 1, 'the past-due, partly received RMA expires (the re-authorised kit is not due)');
SELECT is(pg_temp.status('s'), 'received', 'a partly received RMA that expires is received (its arrived units still wait for inspection), not expired');
SELECT is(pg_temp.bal('TAP04-SOCKS', 'TAP04-DC', 'return_pending'), 0::bigint, 'the socks that never came are no longer inbound');

-- Rules of one's own ------------------------------------------------------------------------

-- a value band: opened electronics worth 100.00 or more go to refurbish with 12.5%
INSERT INTO erp.disposition_rule (priority, condition, category, min_unit_value, disposition, refund_policy, restocking_fee_pct)
VALUES (150, 'opened', 'electronics', 100.00, 'refurbish', 'on_inspection', 12.5);
-- opened apparel under 10.00: no fee, beating rule 300
INSERT INTO erp.disposition_rule (priority, condition, category, max_unit_value, disposition, refund_policy, restocking_fee_pct)
VALUES (250, 'opened', 'apparel', 10.00, 'restock', 'on_inspection', 0);
SELECT pg_temp.snapshot();
SELECT throws_ok($$UPDATE erp.disposition_rule SET restocking_fee_pct = 0 WHERE builtin AND priority = 300$$, 'IE010', NULL,
    'changing a shipped rule is refused with IE010, or the change would be lost on the next restore');
SELECT pg_temp.unchanged('the refused change of a shipped rule changed nothing');
SELECT throws_ok($$DELETE FROM erp.disposition_rule WHERE builtin AND priority = 900$$, 'IE010', NULL,
    'deleting a shipped rule is refused with IE010, or some returns would match no rule at all');
SELECT pg_temp.unchanged('the refused deletion of a shipped rule changed nothing');

INSERT INTO tap04_id VALUES ('r', erp.authorize_return(pg_temp.id('o1'),
    '[{"sku": "TAP04-SOCKS", "qty": 2, "reason": "changed_mind"}, {"sku": "TAP04-SPEAKER", "qty": 1, "reason": "changed_mind"}]'));
-- refunds above 100.00 need an approver from now on
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('refund', 100.00)
ON CONFLICT (kind) DO UPDATE SET max_auto_value = excluded.max_auto_value;
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('r')), 'socks and speaker arrive');
SELECT is(erp.inspect_return(pg_temp.line('r', 'TAP04-SOCKS'), 'opened'), 'restock'::erp.disposition,
    'opened socks under 10.00 take the new rule 250 in the same transaction');
SELECT is(erp.inspect_return(pg_temp.line('r', 'TAP04-SPEAKER'), 'opened'), 'refurbish'::erp.disposition,
    'an opened speaker worth 120.00 takes the value-band rule 150 instead of quarantine');
SELECT results_eq(format($$SELECT i.sku, l.restocking_fee_pct, l.refund_amount, l.refund_status::text
                             FROM erp.rma_line l JOIN erp.item i USING (item_id) WHERE l.rma_id = %s ORDER BY i.sku$$, pg_temp.id('r')),
    $$VALUES ('TAP04-SOCKS', 0.00::numeric, 19.98::numeric, 'approved'),
             ('TAP04-SPEAKER', 12.50::numeric, 105.00::numeric, 'awaiting_approval')$$,
    'socks 2 x 9.99 = 19.98 without fee; speaker 120.00 x 0.875 = 105.00 waits above the 100.00 policy, or custom rules and thresholds would be ignored');

-- rounding to cents: 3 x 9.99 x (1 - 12.5/100) = 26.22375 -> 26.22
INSERT INTO erp.disposition_rule (priority, condition, category, disposition, refund_policy, restocking_fee_pct)
VALUES (240, 'used', 'apparel', 'refurbish', 'on_inspection', 12.5);
INSERT INTO tap04_id VALUES ('o5', pg_temp.ship_order('tap04-5', '[{"sku": "TAP04-SOCKS", "qty": 3, "unit_price": 9.99}]'));
INSERT INTO tap04_id VALUES ('t', erp.authorize_return(pg_temp.id('o5'), '[{"sku": "TAP04-SOCKS", "qty": 3, "reason": "changed_mind"}]'));
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('t')), 'three socks arrive');
SELECT is(erp.inspect_return(pg_temp.line('t', 'TAP04-SOCKS'), 'used'), 'refurbish'::erp.disposition, 'used apparel takes rule 240');
SELECT is((SELECT refund_amount FROM erp.rma_line WHERE rma_line_id = pg_temp.line('t', 'TAP04-SOCKS')), 26.22::numeric,
    'the refund is rounded to cents: 3 x 9.99 x 0.875 = 26.22375 -> 26.22');

-- A line received and inspected in two parts: each part is routed and refunded on its own
INSERT INTO tap04_id VALUES ('o9', pg_temp.ship_order('tap04-9', '[{"sku": "TAP04-HEADPH", "qty": 2, "unit_price": 100.00}]'));
INSERT INTO tap04_id VALUES ('h', erp.authorize_return(pg_temp.id('o9'), '[{"sku": "TAP04-HEADPH", "qty": 2, "reason": "changed_mind"}]'));
SELECT lives_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "TAP04-HEADPH", "qty": 1}]')$$, pg_temp.id('h')),
    'the first headphones arrive');
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('h')), 'the second headphones arrive');
SELECT is((SELECT string_agg(erp.inspect_return(l.rma_line_id, c)::text, ',' ORDER BY l.rma_line_id)
             FROM erp.rma_line l JOIN unnest(ARRAY['new', 'defective']::erp.item_condition[]) WITH ORDINALITY u(c, n)
               ON n = (SELECT count(*) FROM erp.rma_line l2 WHERE l2.rma_id = l.rma_id AND l2.rma_line_id <= l.rma_line_id)
            WHERE l.rma_id = pg_temp.id('h')),
    'restock,vendor_return', 'two arrivals of one line are routed each by its own condition, or the second would overwrite the first');
SELECT results_eq(format($$SELECT sum(refund_amount), count(*) FILTER (WHERE refund_status = 'approved')
                             FROM erp.rma_line WHERE rma_id = %s$$, pg_temp.id('h')),
    $$VALUES (200.00::numeric, 2::bigint)$$,
    'both parts are refunded, 2 x 100.00, or the second arrival would never be paid back');
SELECT lives_ok(format($$SELECT erp.return_to_vendor(rma_line_id) FROM erp.rma_line
                          WHERE rma_id = %s AND disposition = 'vendor_return'$$, pg_temp.id('h')),
    'the defective part goes back to the vendor, or it would be stuck in vendor_return');

-- A kit's component returned under its own sku keeps its share of the kit price
INSERT INTO tap04_id VALUES ('o10', pg_temp.ship_order('tap04-10', '[{"sku": "TAP04-SET", "qty": 1, "unit_price": 66.00}]'));
INSERT INTO tap04_id VALUES ('v', erp.authorize_return(pg_temp.id('o10'), '[{"sku": "TAP04-VASE", "qty": 1, "reason": "changed_mind"}]'));
SELECT is((SELECT unit_price FROM erp.rma_line WHERE rma_id = pg_temp.id('v')), 26.40::numeric,
    'a vase returned on its own from a 66.00 set is priced 66.00 x 30 / (45 + 30) = 26.40, or it would be refunded 0.00');

-- The books ----------------------------------------------------------------------------------

SELECT is_empty($$SELECT * FROM erp.verify()$$,
    'erp.verify() finds no inconsistency after all the returns, or the returns engine would corrupt the books');
SELECT is_empty($$SELECT * FROM erp.stock_balance WHERE qty < 0$$, 'no balance is negative');

SELECT * FROM finish();
ROLLBACK;