-- 13-governance.sql: governance without gaps (issue 9, sections 2-5), for the
-- returns, supply and counts engines:
--   * a kit of 40 components returned whole: one line per component, exact
--     quantities and refunds (the request buffer held 16 per line before);
--   * erp.adjust under the one adjustment threshold;
--   * four eyes: the approver is never the creator, for adjustments and refunds;
--   * erp.policy_change: every change to a policy table recorded (who, when,
--     old, new), append-only, on the dashboard and in erp.policy_audit;
--   * partners (SET ROLE from the superuser) act on their own nodes' documents only;
--   * poison input refused with an IE code, and nothing changed.
-- Master data uses codes starting with TAP13-; everything is rolled back.
BEGIN;
SELECT plan(117);

-- Master data ----------------------------------------------------------------------------------

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost) VALUES
    ('TAP13-TEE', 'tap tee', 'apparel', 20.00, 5.00),
    ('TAP13-FREE', 'tap giveaway', 'home', 0.00, 0.00),
    ('TAP13-KIT', 'tap 40-piece kit', 'home', 40.00, 0.00);
INSERT INTO erp.item (sku, title, category, unit_price, unit_cost, high_value)
VALUES ('TAP13-LAPTOP', 'tap laptop', 'electronics', 1199.00, 820.00, true);
INSERT INTO erp.item (sku, title, category, unit_price, unit_cost)
SELECT 'TAP13-C' || lpad(g::text, 2, '0'), 'tap kit part ' || g, 'home', 1.00, 0.50 FROM generate_series(1, 40) g;
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c
 WHERE k.sku = 'TAP13-KIT' AND c.sku LIKE 'TAP13-C__';
INSERT INTO erp.node (code, kind) VALUES ('TAP13-DC', 'warehouse'), ('TAP13-P', '3pl');
INSERT INTO erp.channel (code, kind) VALUES ('TAP13-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP13-WEB' AND n.code = 'TAP13-DC';
INSERT INTO erp.supplier (code, name) VALUES ('TAP13-ACME', 'tap supplier');
SELECT is((SELECT count(erp.receive(sku, 'TAP13-DC', 20, ref => 'tap13:open'))
             FROM erp.item WHERE sku LIKE 'TAP13-%' AND sku NOT IN ('TAP13-KIT')),
    43::bigint, 'twenty units of each stocked item are received at TAP13-DC');
SELECT lives_ok($$SELECT erp.receive('TAP13-TEE', 'TAP13-P', 10)$$, 'ten tees are received at the partner node');

CREATE ROLE tap13_a;        -- counts, inspects, and is an approver
CREATE ROLE tap13_b;        -- another approver
CREATE ROLE tap13_admin;    -- keeps master data and policies
CREATE ROLE tap13_reader;   -- BI
CREATE ROLE tap13_partner;  -- a 3PL at TAP13-P (an approver there, too)
CREATE ROLE tap13_a_alias;  -- an approver that may SET ROLE tap13_a (one person with tap13_a)
CREATE ROLE tap13_a_alt;    -- an approver that tap13_a may SET ROLE to (one person with tap13_a)
GRANT erp_operator, erp_approver TO tap13_a, tap13_b, tap13_partner, tap13_a_alias, tap13_a_alt;
GRANT tap13_a TO tap13_a_alias;
GRANT tap13_a_alt TO tap13_a;
GRANT erp_admin, erp_operator TO tap13_admin;
GRANT erp_reader TO tap13_reader, tap13_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap13_partner', node_id FROM erp.node WHERE code = 'TAP13-P';

CREATE TEMP TABLE tap13_id (name text PRIMARY KEY, id bigint NOT NULL);
GRANT ALL ON tap13_id TO PUBLIC;
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap13_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.bal(p_sku text, p_node text, p_state erp.stock_state) RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
     WHERE i.sku = p_sku AND n.code = p_node AND b.state = p_state
$$;
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP13-WEB', p_ref, p_lines);
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

-- Everything the calls below can change; a refused call leaves it as it was.
CREATE FUNCTION pg_temp.picture() RETURNS TABLE (what text, k1 text, k2 text, v text)
LANGUAGE sql AS $$
    SELECT * FROM (
        SELECT 'balance', i.sku || '@' || n.code, b.state::text, sum(b.qty)::text
          FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
         WHERE i.sku LIKE 'TAP13-%' GROUP BY 1, 2, 3
        UNION ALL
        SELECT 'ledger', NULL, NULL, count(*)::text
          FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id WHERE i.sku LIKE 'TAP13-%'
        UNION ALL
        SELECT 'adjustment', a.adjustment_id::text, NULL, concat_ws('/', a.qty_delta, a.status, a.decided_by, a.move_id)
          FROM erp.adjustment a JOIN erp.item i ON i.item_id = a.item_id WHERE i.sku LIKE 'TAP13-%'
        UNION ALL
        SELECT 'count', NULL, NULL, count(*)::text
          FROM erp.cycle_count c JOIN erp.item i ON i.item_id = c.item_id WHERE i.sku LIKE 'TAP13-%'
        UNION ALL
        SELECT 'rma', r.rma_id::text, NULL, concat_ws('/', r.status, r.expires_at)
          FROM erp.rma r JOIN erp.sales_order o ON o.order_id = r.order_id
          JOIN erp.channel c ON c.channel_id = o.channel_id WHERE c.code = 'TAP13-WEB'
        UNION ALL
        SELECT 'rma_line', l.rma_line_id::text, NULL,
               concat_ws('/', l.qty, l.qty_received, l.qty_inspected, l.refund_amount, l.refund_status,
                         l.refund_requested_by, l.approved_by)
          FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP13-%'
        UNION ALL
        SELECT 'po', p.purchase_order_id::text, NULL, concat_ws('/', p.status, p.expected_at)
          FROM erp.purchase_order p JOIN erp.supplier s ON s.supplier_id = p.supplier_id WHERE s.code = 'TAP13-ACME'
        UNION ALL
        SELECT 'transfer', t.transfer_id::text, NULL, t.status::text
          FROM erp.transfer t JOIN erp.item i ON i.item_id = t.item_id WHERE i.sku LIKE 'TAP13-%'
        UNION ALL
        SELECT 'policy_change', NULL, NULL, count(*)::text FROM erp.policy_change
        UNION ALL
        SELECT 'events', e.kind, NULL, count(*)::text
          FROM erp.event e JOIN erp.item i ON i.item_id = e.item_id
         WHERE i.sku LIKE 'TAP13-%' AND e.kind <> 'return_discrepancy' GROUP BY e.kind
    ) p
    ORDER BY 1, 2, 3
$$;
CREATE TEMP TABLE tap13_snapshot (what text, k1 text, k2 text, v text);
GRANT ALL ON tap13_snapshot TO PUBLIC;
CREATE FUNCTION pg_temp.snapshot() RETURNS void LANGUAGE sql AS $$
    DELETE FROM tap13_snapshot;
    INSERT INTO tap13_snapshot SELECT * FROM pg_temp.picture();
$$;
CREATE FUNCTION pg_temp.unchanged(description text) RETURNS text LANGUAGE sql AS $$
    SELECT results_eq('SELECT * FROM pg_temp.picture()', 'SELECT * FROM tap13_snapshot ORDER BY 1, 2, 3', description);
$$;

-- A kit of 40 components, returned whole -----------------------------------------------------------

INSERT INTO tap13_id VALUES ('kit_order', pg_temp.ship_order('tap13-kit', '[{"sku": "TAP13-KIT", "qty": 2, "unit_price": 80.00}]'));
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = pg_temp.id('kit_order')), 'shipped',
    'two kits of 40 components each ship');
SELECT lives_ok(format($$INSERT INTO tap13_id VALUES ('kit_rma', erp.authorize_return(%s,
                           '[{"sku": "TAP13-KIT", "qty": 2, "reason": "changed_mind"}]'))$$, pg_temp.id('kit_order')),
    'returning both kits of 40 components is authorised (it wrote past a 16-per-line buffer before: XX000 or corruption)');
SELECT results_eq(format($$SELECT count(*), count(DISTINCT item_id), sum(qty), min(qty), max(qty), min(unit_price), max(unit_price)
                             FROM erp.rma_line WHERE rma_id = %s$$, pg_temp.id('kit_rma')),
    $$VALUES (40::bigint, 40::bigint, 80::numeric, 2::bigint, 2::bigint, 2.00::numeric, 2.00::numeric)$$,
    'the RMA has one line per component, 2 units each, priced 80.00 x 1.00 / 40.00 = 2.00, or refunds would be wrong');
SELECT is((SELECT count(*) FROM erp.item i WHERE i.sku LIKE 'TAP13-C__' AND pg_temp.bal(i.sku, 'TAP13-DC', 'return_pending') = 2),
    40::bigint, 'each of the 40 components has exactly 2 units return_pending');
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('kit_rma')), 'the two kits arrive');
SELECT is((SELECT string_agg(DISTINCT erp.inspect_return(rma_line_id, 'new')::text, ',')
             FROM erp.rma_line WHERE rma_id = pg_temp.id('kit_rma')),
    'restock', 'every component, as new, is restocked');
SELECT results_eq(format($$SELECT sum(refund_amount), count(*) FILTER (WHERE refund_status = 'approved')
                             FROM erp.rma_line WHERE rma_id = %s$$, pg_temp.id('kit_rma')),
    $$VALUES (160.00::numeric, 40::bigint)$$,
    'the refunds add up to exactly the 2 x 80.00 paid, 40 lines of 4.00');
SELECT is((SELECT count(*) FROM erp.item i WHERE i.sku LIKE 'TAP13-C__' AND pg_temp.bal(i.sku, 'TAP13-DC', 'available') = 20),
    40::bigint, 'every component is back to its 20 available units (20 - 2 shipped + 2 restocked)');

-- erp.adjust ---------------------------------------------------------------------------------------

SELECT has_function('erp', 'adjust', ARRAY['text', 'text', 'bigint', 'text', 'text', 'text'],
    'erp.adjust(sku, node, qty_delta, reason, lot) exists, or on-hand could only be corrected by a count');
SELECT function_returns('erp', 'adjust', ARRAY['text', 'text', 'bigint', 'text', 'text', 'text'], 'bigint',
    'erp.adjust returns the adjustment id');
SET ROLE tap13_a;
INSERT INTO tap13_id VALUES ('adj_small', erp.adjust('TAP13-TEE', 'TAP13-DC', 3, 'found behind the shelf'));
RESET ROLE;
SELECT results_eq(format($$SELECT status::text, value, created_by::text COLLATE "default", move_id IS NOT NULL
                             FROM erp.adjustment WHERE adjustment_id = %s$$, pg_temp.id('adj_small')),
    $$VALUES ('applied', 15.00::numeric, 'tap13_a', true)$$,
    'an adjustment worth 3 x 5.00 = 15.00 (within the default 100.00) is applied at once, created by the login');
SELECT is(pg_temp.bal('TAP13-TEE', 'TAP13-DC', 'available'), 23::bigint, 'the three found tees are available');
SET ROLE tap13_a;
INSERT INTO tap13_id VALUES ('adj_big', erp.adjust('TAP13-LAPTOP', 'TAP13-DC', -6, 'water damage'));
RESET ROLE;
SELECT results_eq(format($$SELECT status::text, value, move_id IS NULL FROM erp.adjustment WHERE adjustment_id = %s$$,
                         pg_temp.id('adj_big')),
    $$VALUES ('pending_approval', 4920.00::numeric, true)$$,
    'writing off 6 laptops worth 4,920.00 by hand waits for approval, or an operator could write off anything');
SELECT is(pg_temp.bal('TAP13-LAPTOP', 'TAP13-DC', 'available'), 20::bigint, 'the laptops are still on the books');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'adjustment_approval_needed'
              AND (payload->>'adjustment_id')::bigint = pg_temp.id('adj_big') AND payload->>'reason' = 'water damage'),
    1::bigint, 'an adjustment_approval_needed event names the adjustment and its reason');

SELECT pg_temp.snapshot();
SELECT throws_ok($$SELECT erp.adjust('TAP13-TEE', 'TAP13-DC', 0, 'nothing')$$, 'IE004', NULL,
    'an adjustment of 0 units is refused with IE004');
SELECT throws_ok($$SELECT erp.adjust('TAP13-FREE', 'TAP13-DC', 9223372036854775807, 'conjured')$$, 'IE004', NULL,
    'an adjustment of 2^63-1 units is refused with IE004, even for a zero-cost item');
SELECT throws_ok($$SELECT erp.adjust('TAP13-FREE', 'TAP13-DC', -9223372036854775808, 'vanished')$$, 'IE004', NULL,
    'an adjustment of -2^63 units is refused with IE004');
SELECT throws_ok($$SELECT erp.adjust('TAP13-TEE', 'TAP13-DC', 1, NULL)$$, 'IE004', NULL,
    'an adjustment without a reason is refused with IE004');
SELECT throws_ok($$SELECT erp.adjust('TAP13-TEE', 'TAP13-DC', 1, '')$$, 'IE004', NULL,
    'an adjustment with an empty reason is refused with IE004');
SELECT throws_ok($$SELECT erp.adjust('TAP13-TEE', 'TAP13-DC', 1, repeat('x', 5000))$$, 'IE004', NULL,
    'an adjustment with a 5,000-byte reason is refused with IE004');
SELECT throws_ok($$SELECT erp.adjust('TAP13-KIT', 'TAP13-DC', 1, 'kit')$$, 'IE010', NULL,
    'adjusting a kit (no stock of its own) is refused with IE010, as erp.receive');
SELECT throws_ok($$SELECT erp.adjust('TAP13-NOPE', 'TAP13-DC', 1, 'x')$$, 'IE003', NULL,
    'adjusting an unknown sku is refused with IE003');
SELECT throws_ok($$SELECT erp.count('TAP13-FREE', 'TAP13-DC', 9223372036854775807)$$, 'IE004', NULL,
    'counting 2^63-1 units of a zero-cost item is refused with IE004 (it was applied, then ATP -2 and 22003 everywhere)');
SELECT throws_ok($$SELECT erp.count('TAP13-FREE', 'TAP13-DC', 1000000001)$$, 'IE004', NULL,
    'a count above 1,000,000,000 units is refused with IE004');
SELECT throws_ok($$SELECT erp.count('TAP13-FREE', 'TAP13-DC', NULL)$$, 'IE004', NULL,
    'a count without a number is refused with IE004');
SELECT throws_ok($$SELECT erp.count('TAP13-KIT', 'TAP13-DC', 5)$$, 'IE010', NULL,
    'counting a kit (no stock of its own) is refused with IE010, or a count would conjure kits out of nothing');
SELECT throws_ok($$SELECT erp.approve_adjustment(NULL)$$, 'IE003', 'no adjustment id given',
    'approving no adjustment is refused with IE003 naming what is missing, not "unknown adjustment 0"');
SELECT pg_temp.unchanged('the refused adjustments and counts changed nothing');

-- Four eyes: adjustments ------------------------------------------------------------------------------

-- approver a counts the laptops: 6 are missing, 6 x 820.00 = 4,920.00
SET ROLE tap13_a;
INSERT INTO tap13_id SELECT 'count_a', erp.count('TAP13-LAPTOP', 'TAP13-DC', 14);
RESET ROLE;
INSERT INTO tap13_id SELECT 'adj_count', adjustment_id FROM erp.cycle_count WHERE cycle_count_id = pg_temp.id('count_a');
SELECT results_eq(format($$SELECT a.status::text, a.value, a.created_by::text COLLATE "default", c.counted_by::text COLLATE "default"
                             FROM erp.adjustment a JOIN erp.cycle_count c USING (adjustment_id) WHERE a.adjustment_id = %s$$,
                         pg_temp.id('adj_count')),
    $$VALUES ('pending_approval', 4920.00::numeric, 'tap13_a', 'tap13_a')$$,
    'the count''s 4,920.00 variance waits for approval; created and counted by the login tap13_a');
SELECT pg_temp.snapshot();
SET ROLE tap13_a;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_count')), 'IE009',
    format('role "tap13_a" may not approve adjustment %s: it created it', pg_temp.id('adj_count')),
    'an approver approving its own 4,920.00 adjustment is refused with IE009 (four eyes)');
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_big')), 'IE009', NULL,
    'an approver approving its own erp.adjust write-off is refused with IE009 too');
SET ROLE tap13_a_alias;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_count')), 'IE009',
    format('role "tap13_a_alias" may not approve adjustment %s: role "tap13_a" created it and one is a member of the other',
           pg_temp.id('adj_count')),
    'an approver that may SET ROLE to the creator is the same person: IE009 (four eyes by membership)');
SET ROLE tap13_a_alt;
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_count')), 'IE009', NULL,
    'an approver the creator may SET ROLE to is the same person: IE009 (membership the other way)');
RESET ROLE;
SELECT pg_temp.unchanged('the refused self-approvals changed nothing: the laptops are on the books');
SET ROLE tap13_b;
SELECT lives_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_count')),
    'another approver applies the counted adjustment');
RESET ROLE;
SELECT results_eq(format($$SELECT status::text, decided_by::text COLLATE "default", move_id IS NOT NULL
                             FROM erp.adjustment WHERE adjustment_id = %s$$, pg_temp.id('adj_count')),
    $$VALUES ('applied', 'tap13_b', true)$$, 'the adjustment is applied and decided by tap13_b');
SELECT is(pg_temp.bal('TAP13-LAPTOP', 'TAP13-DC', 'available'), 14::bigint, 'fourteen laptops remain available');

-- Four eyes: refunds ---------------------------------------------------------------------------------

INSERT INTO tap13_id VALUES ('laptop_order', pg_temp.ship_order('tap13-laptop', '[{"sku": "TAP13-LAPTOP", "qty": 1, "unit_price": 1199.00}]'));
INSERT INTO tap13_id VALUES ('laptop_rma', erp.authorize_return(pg_temp.id('laptop_order'), '[{"sku": "TAP13-LAPTOP", "qty": 1, "reason": "changed_mind"}]'));
SELECT lives_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('laptop_rma')), 'the laptop comes back');
INSERT INTO tap13_id SELECT 'laptop_line', rma_line_id FROM erp.rma_line WHERE rma_id = pg_temp.id('laptop_rma');
SET ROLE tap13_a;
SELECT is(erp.inspect_return(pg_temp.id('laptop_line'), 'new')::text, 'restock', 'approver a inspects the laptop: as new');
RESET ROLE;
SELECT results_eq(format($$SELECT refund_status::text, refund_amount, refund_requested_by::text COLLATE "default"
                             FROM erp.rma_line WHERE rma_line_id = %s$$, pg_temp.id('laptop_line')),
    $$VALUES ('awaiting_approval', 1199.00::numeric, 'tap13_a')$$,
    'the high-value refund waits, and records that tap13_a made it due by inspecting');
SELECT pg_temp.snapshot();
SET ROLE tap13_a;
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'the inspector approving the refund it made due is refused with IE009 (four eyes)');
SET ROLE tap13_a_alias;
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'an approver that may SET ROLE to the inspector is refused with IE009 (four eyes by membership)');
SET ROLE tap13_a_alt;
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'an approver the inspector may SET ROLE to is refused with IE009');
RESET ROLE;
SELECT pg_temp.unchanged('the refused self-approval of the refund changed nothing');
SELECT is((SELECT refund_status::text FROM erp.rma_line WHERE rma_line_id = pg_temp.id('laptop_line')), 'awaiting_approval',
    'the refund still waits after the refused approvals');
SET ROLE tap13_b;
SELECT is(erp.approve_refund(pg_temp.id('laptop_line')), 1199.00::numeric, 'another approver releases the refund');
RESET ROLE;
SELECT is((SELECT approved_by::text FROM erp.rma_line WHERE rma_line_id = pg_temp.id('laptop_line')), 'tap13_b',
    'the approval records the login of the approver');

-- The record of policy changes ------------------------------------------------------------------------

SELECT has_table('erp', 'policy_change', 'erp.policy_change exists');
SELECT columns_are('erp', 'policy_change',
    ARRAY['policy_change_id', 'changed_at', 'changed_by', 'table_name', 'operation', 'old_row', 'new_row'],
    'erp.policy_change has the documented columns');
SELECT is((SELECT count(*) FROM erp.policy_change
            WHERE table_name = 'item_component' AND operation = 'INSERT'
              AND (new_row->>'kit_item_id')::bigint = (SELECT item_id FROM erp.item WHERE sku = 'TAP13-KIT')),
    40::bigint, 'the 40 components given to the kit are recorded, one row each');
SELECT is((SELECT changed_by::text FROM erp.policy_change
            WHERE table_name = 'node_access' AND new_row->>'role_name' = 'tap13_partner'),
    'postgres', 'granting the partner its node is recorded with who did it');

-- the scenario of the issue: an admin raises the threshold, counts, and deletes the policy
SET ROLE tap13_admin;
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 100.00);
UPDATE erp.approval_policy SET max_auto_value = 100000.00 WHERE kind = 'adjustment';
INSERT INTO tap13_id SELECT 'count_admin', erp.count('TAP13-LAPTOP', 'TAP13-DC', 4);
DELETE FROM erp.approval_policy WHERE kind = 'adjustment';
RESET ROLE;
SELECT is((SELECT a.status::text FROM erp.adjustment a JOIN erp.cycle_count c USING (adjustment_id)
            WHERE c.cycle_count_id = pg_temp.id('count_admin')), 'applied',
    'under the raised threshold the admin''s 8,200.00 write-off applied itself - which is why it must be recorded');
SELECT results_eq($$SELECT operation, changed_by::text COLLATE "default", old_row->>'max_auto_value', new_row->>'max_auto_value'
                      FROM erp.policy_change WHERE table_name = 'approval_policy' ORDER BY policy_change_id$$,
    $$VALUES ('INSERT', 'tap13_admin', NULL, '100.00'),
             ('UPDATE', 'tap13_admin', '100.00', '100000.00'),
             ('DELETE', 'tap13_admin', '100000.00', NULL)$$,
    'raising the threshold and deleting the policy are recorded with who, and the values before and after');
SELECT ok((SELECT bool_and(changed_at = now()) FROM erp.policy_change WHERE table_name = 'approval_policy'),
    'each change records when it was made');
SELECT results_eq($$SELECT operation, changed_columns FROM erp.policy_audit
                     WHERE table_name = 'approval_policy' AND operation = 'UPDATE'$$,
    $$VALUES ('UPDATE', ARRAY['max_auto_value']::text[])$$,
    'erp.policy_audit names the columns an update changed');
SELECT cmp_ok((SELECT policy_changes_7d FROM erp.dashboard), '>=', 44::bigint,
    'the dashboard counts the policy changes of the last 7 days');

-- who sees the record
SET ROLE tap13_reader;
SELECT is((SELECT count(*) FROM erp.policy_change WHERE table_name = 'approval_policy'), 3::bigint,
    'a reader (auditor, BI) sees the record');
RESET ROLE;
SET ROLE tap13_partner;
SELECT is((SELECT count(*) FROM erp.policy_change), 0::bigint,
    'a partner sees none of it: it names other partners and the business''s thresholds');
RESET ROLE;

-- append-only, for everyone
SELECT pg_temp.snapshot();
SELECT throws_ok($$UPDATE erp.policy_change SET changed_by = 'nobody'$$, 'IE005', NULL,
    'rewriting who changed a policy is refused with IE005, even for the owner');
SELECT throws_ok($$DELETE FROM erp.policy_change$$, 'IE005', NULL, 'deleting the record is refused with IE005');
SELECT throws_ok($$TRUNCATE erp.policy_change$$, 'IE005', NULL, 'truncating the record is refused with IE005');
SET ROLE tap13_admin;
SELECT throws_ok($$INSERT INTO erp.policy_change (changed_by, table_name, operation) VALUES ('x', 'x', 'INSERT')$$,
    '42501', NULL, 'an admin cannot forge an entry');
RESET ROLE;
SELECT pg_temp.unchanged('the refused edits of the record changed nothing');
SELECT is((SELECT provolatile::text || prosecdef::text || array_to_string(proconfig, ',') FROM pg_proc
            WHERE oid = 'erp.record_policy_change()'::regprocedure), 'vfalsesearch_path=pg_catalog, pg_temp',
    'the trigger function takes its owner''s rights in C and has a fixed search_path, or a schema owner could hijack it');

-- Partners act on their own nodes' documents only (SET ROLE from the superuser) -------------------------

INSERT INTO tap13_id VALUES ('tee_order', pg_temp.ship_order('tap13-tee', '[{"sku": "TAP13-TEE", "qty": 2, "unit_price": 20.00}]'));
INSERT INTO tap13_id VALUES ('tee_rma', erp.authorize_return(pg_temp.id('tee_order'), '[{"sku": "TAP13-TEE", "qty": 1, "reason": "changed_mind"}]'));
INSERT INTO tap13_id VALUES ('po_dc', erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5}]', now() + interval '7 days'));
INSERT INTO tap13_id VALUES ('tr_dc', erp.transfer('TAP13-TEE', 'TAP13-DC', 'TAP13-P', 2));
SET ROLE tap13_a;
INSERT INTO tap13_id VALUES ('adj_dc', erp.adjust('TAP13-LAPTOP', 'TAP13-DC', -1, 'dropped'));
RESET ROLE;
SELECT pg_temp.snapshot();
SET ROLE tap13_partner;
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-TEE", "qty": 1}]')$$, pg_temp.id('tee_order')),
    'IE009', NULL, 'a partner authorising a return of an order shipped from another node is refused with IE009');
SELECT throws_ok(format('SELECT erp.receive_return(%s)', pg_temp.id('tee_rma')), 'IE009', NULL,
    'a partner receiving another node''s return is refused with IE009');
SELECT throws_ok(format('SELECT erp.inspect_return(%s, ''new'')', pg_temp.id('laptop_line')), 'IE009', NULL,
    'a partner inspecting another node''s return line is refused with IE009');
SELECT throws_ok(format('SELECT erp.approve_refund(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'a partner approving another node''s refund is refused with IE009');
SELECT throws_ok(format('SELECT erp.complete_refurbish(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'a partner finishing another node''s refurbishment is refused with IE009');
SELECT throws_ok(format('SELECT erp.return_to_vendor(%s)', pg_temp.id('laptop_line')), 'IE009', NULL,
    'a partner shipping another node''s units to the vendor is refused with IE009');
SELECT throws_ok(format('SELECT erp.approve_adjustment(%s)', pg_temp.id('adj_dc')), 'IE009', NULL,
    'a partner approving another node''s adjustment is refused with IE009');
SELECT throws_ok($$SELECT erp.adjust('TAP13-TEE', 'TAP13-DC', 1, 'found')$$, 'IE009', NULL,
    'a partner adjusting stock at another node is refused with IE009');
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5}]', now() + interval '7 days')$$,
    'IE009', NULL, 'a partner buying for another node is refused with IE009');
SELECT throws_ok(format('SELECT erp.receive_po(%s)', pg_temp.id('po_dc')), 'IE009', NULL,
    'a partner receiving another node''s purchase order is refused with IE009');
SELECT throws_ok(format('SELECT erp.delay_po(%s, now() + interval ''30 days'')', pg_temp.id('po_dc')), 'IE009', NULL,
    'a partner delaying another node''s purchase order is refused with IE009');
SELECT throws_ok($$SELECT erp.transfer('TAP13-TEE', 'TAP13-DC', 'TAP13-P', 1)$$, 'IE009', NULL,
    'a partner sending stock out of another node is refused with IE009');
SELECT lives_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('tr_dc')),
    'a partner receives a transfer arriving at its own node');
RESET ROLE;
SELECT pg_temp.snapshot();
INSERT INTO tap13_id VALUES ('tr_back', erp.transfer('TAP13-TEE', 'TAP13-P', 'TAP13-DC', 1));
SELECT pg_temp.snapshot();
SET ROLE tap13_partner;
SELECT throws_ok(format('SELECT erp.receive_transfer(%s)', pg_temp.id('tr_back')), 'IE009', NULL,
    'a partner receiving a transfer at another node is refused with IE009');
RESET ROLE;
SELECT pg_temp.unchanged('the refused partner calls changed nothing');

-- expire_returns by a partner leaves other nodes' returns alone
UPDATE erp.rma SET expires_at = now() - interval '1 day' WHERE rma_id = pg_temp.id('tee_rma');
SET ROLE tap13_partner;
SELECT is(erp.expire_returns(), 0, 'a partner expires none of another node''s returns');
RESET ROLE;
SELECT is((SELECT status::text FROM erp.rma WHERE rma_id = pg_temp.id('tee_rma')), 'authorized',
    'the other node''s return is still authorised');
SELECT is(erp.expire_returns(), 1, 'the operations team expires it');

-- create_replenishment_pos by a partner orders for its own nodes only
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, supplier_id)
SELECT i.item_id, n.node_id, 1000, 2000, s.supplier_id
  FROM erp.item i, erp.node n, erp.supplier s
 WHERE i.sku = 'TAP13-FREE' AND n.code IN ('TAP13-DC', 'TAP13-P') AND s.code = 'TAP13-ACME';
SET ROLE tap13_partner;
SELECT is(erp.create_replenishment_pos(), 1, 'a partner''s replenishment creates one purchase order');
RESET ROLE;
SELECT results_eq($$SELECT n.code FROM erp.purchase_order p JOIN erp.node n USING (node_id)
                      JOIN erp.purchase_order_line l USING (purchase_order_id) JOIN erp.item i USING (item_id)
                     WHERE i.sku = 'TAP13-FREE'$$,
    $$VALUES ('TAP13-P')$$, 'and only for its own node');

-- Poison input ---------------------------------------------------------------------------------------

SELECT pg_temp.snapshot();
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5}]', 'infinity')$$,
    'IE004', NULL, 'a purchase order expected at infinity is refused with IE004');
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5}]', '-infinity')$$,
    'IE004', NULL, 'a purchase order expected at -infinity is refused with IE004');
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5}]', '0044-03-15 BC')$$,
    'IE004', NULL, 'a purchase order expected in 44 BC is refused with IE004');
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-KIT", "qty": 5}]', now() + interval '1 day')$$,
    'IE010', NULL, 'buying a kit (no stock of its own) is refused with IE010, as receiving one');
SELECT throws_ok($$SELECT erp.create_po('TAP13-ACME', 'TAP13-DC', '[{"sku": "TAP13-TEE", "qty": 5, "unit_cost": 1e20}]', now() + interval '1 day')$$,
    'IE004', NULL, 'a unit cost beyond numeric(14,2) is refused with IE004');
SELECT throws_ok(format('SELECT erp.delay_po(%s, ''1900-01-01'')', pg_temp.id('po_dc')), 'IE004', NULL,
    'delaying a purchase order to 1900 is refused with IE004');
SELECT throws_ok(format('SELECT erp.delay_po(%s, now() - interval ''1 hour'')', pg_temp.id('po_dc')), 'IE004', NULL,
    'delaying a purchase order to before it was created is refused with IE004');
SELECT throws_ok(format('SELECT erp.delay_po(%s, ''infinity'')', pg_temp.id('po_dc')), 'IE004', NULL,
    'delaying a purchase order to infinity is refused with IE004');
SELECT throws_ok(format('SELECT erp.delay_po(%s, NULL)', pg_temp.id('po_dc')), 'IE004', NULL,
    'delaying a purchase order to no date is refused with IE004 (missing input), not IE010');
SELECT throws_ok($$SELECT erp.delay_po(NULL, now() + interval '1 day')$$, 'IE003', 'no purchase order id given',
    'delaying no purchase order is refused with IE003 naming what is missing');
SELECT throws_ok($$SELECT erp.receive_po(NULL)$$, 'IE003', 'no purchase order id given',
    'receiving no purchase order is refused with IE003 naming what is missing');
SELECT throws_ok($$SELECT erp.receive_transfer(NULL)$$, 'IE003', 'no transfer id given',
    'receiving no transfer is refused with IE003 naming what is missing');
SELECT throws_ok($$SELECT erp.receive_return(NULL)$$, 'IE003', 'no rma id given',
    'receiving no return is refused with IE003 "no rma id given", not "unknown rma 0"');
SELECT throws_ok($$SELECT erp.inspect_return(NULL, 'new')$$, 'IE003', 'no rma line id given',
    'inspecting no return line is refused with IE003');
SELECT throws_ok($$SELECT erp.authorize_return(NULL, '[{"sku": "TAP13-TEE", "qty": 1}]')$$, 'IE003', 'no order id given',
    'authorising a return of no order is refused with IE003');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-TEE", "qty": 1}]', 3000000)$$, pg_temp.id('tee_order')),
    'IE004', NULL, 'a 3,000,000-day return window is refused with IE004');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-TEE", "qty": 1}]', 3651)$$, pg_temp.id('tee_order')),
    'IE004', NULL, 'a return window over ten years is refused with IE004');
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-TEE", "qty": 1, "reason": "%s"}]')$$,
                        pg_temp.id('tee_order'), repeat('r', 100)),
    'IE004', NULL, 'a 100-byte return reason is refused with IE004');
SELECT pg_temp.unchanged('the refused purchase orders, delays and authorisations changed nothing');
INSERT INTO erp.item (sku, title, category, unit_price, unit_cost) VALUES ('TAP13-GOLD', 'tap gold bar', 'home', 999999999999.00, 0);
SELECT erp.receive('TAP13-GOLD', 'TAP13-DC', 2);
INSERT INTO tap13_id VALUES ('gold_order', pg_temp.ship_order('tap13-gold', '[{"sku": "TAP13-GOLD", "qty": 2, "unit_price": 999999999999.00}]'));
SELECT pg_temp.snapshot();
SELECT throws_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-GOLD", "qty": 2}]')$$, pg_temp.id('gold_order')),
    'IE004', NULL, 'a return whose refund (2 x 999,999,999,999.00) would not fit numeric(14,2) is refused with IE004, not 22003 at inspection');
SELECT lives_ok(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP13-GOLD", "qty": 1}]')$$, pg_temp.id('gold_order')),
    'one gold bar (999,999,999,999.00) may come back');
INSERT INTO tap13_id VALUES ('tee_rma2', erp.authorize_return(pg_temp.id('tee_order'), '[{"sku": "TAP13-TEE", "qty": 1}]', 3650));
SELECT pg_temp.snapshot();
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"sku": "", "qty": 1}]')$$, pg_temp.id('tee_rma2')),
    'IE004', NULL, 'a received line with an empty sku is refused with IE004, not recorded as a discrepancy of sku ""');
SELECT throws_ok(format($$SELECT erp.receive_return(%s, NULL, '[{"qty": 1}]')$$, pg_temp.id('tee_rma2')),
    'IE004', NULL, 'a received line without a sku is refused with IE004');
SELECT throws_ok(format($$SELECT erp.receive_return(%s, repeat('n', 100))$$, pg_temp.id('tee_rma2')),
    'IE004', NULL, 'a 100-byte node code is refused with IE004');
SELECT pg_temp.unchanged('the refused poison input changed nothing');

-- an item without a unit cost is valued at its price: the threshold holds for it too
RESET ROLE;
INSERT INTO erp.item (sku, unit_price) VALUES ('TAP13-NOCOST', 25);
SET ROLE tap13_a;
SELECT throws_ok($$SELECT erp.receive('TAP13-NOCOST', 'TAP13-DC', 1000000)$$, 'IE009', NULL,
    'a million units of an item with no cost but a 25.00 price need approval: an operator could otherwise conjure them');
INSERT INTO tap13_id VALUES ('nocost_adj', erp.adjust('TAP13-NOCOST', 'TAP13-DC', 5, 'found'));
SELECT is((SELECT status::text || ' ' || value FROM erp.adjustment WHERE adjustment_id = pg_temp.id('nocost_adj')),
    'pending_approval 125.00', 'five of them are valued at their price, 125.00, above the 100.00 threshold');
INSERT INTO tap13_id VALUES ('free_adj', erp.adjust('TAP13-FREE', 'TAP13-DC', 5, 'samples'));
SELECT is((SELECT status::text || ' ' || value FROM erp.adjustment WHERE adjustment_id = pg_temp.id('free_adj')),
    'applied 0.00', 'an item with neither cost nor price is worth 0.00 and is adjusted at once');
RESET ROLE;

-- The books -------------------------------------------------------------------------------------------

SELECT is_empty($$SELECT * FROM erp.verify()$$, 'erp.verify() stays empty through all of it');
SELECT is_empty($$SELECT * FROM erp.stock_balance WHERE qty < 0$$, 'no balance is negative');

SELECT * FROM finish();
ROLLBACK;
