-- 01-ledger.sql: the contract of the stock ledger (SPEC.md sections 1, 2, 4 and 8):
-- the signatures of erp.receive, erp.move and erp.verify, the stock states in
-- order, every refusal the ledger raises (IE001..IE006) and that a refused call
-- changes nothing, the roles and what each may do, the actor recorded on each
-- move, and that balances always equal the sums of the ledger.
--
-- The database is shared with the other pgTAP files: all master data here uses
-- codes starting with TAP01- and everything is rolled back at the end.
BEGIN;
SELECT plan(93);

-- Signatures -----------------------------------------------------------------

SELECT has_function('erp', 'receive',
    ARRAY['text', 'text', 'bigint', 'text', 'date', 'erp.stock_state', 'text', 'text'],
    'erp.receive(sku, node, qty, lot, expires_on, state, ref) exists, or no opening balance or unplanned receipt could be booked');
SELECT function_returns('erp', 'receive',
    ARRAY['text', 'text', 'bigint', 'text', 'date', 'erp.stock_state', 'text', 'text'], 'bigint',
    'erp.receive returns the move id as bigint, or callers could not refer to the receipt they booked');
SELECT has_function('erp', 'move',
    ARRAY['text', 'text', 'bigint', 'erp.stock_state', 'erp.stock_state', 'text', 'text', 'text', 'text', 'text'],
    'erp.move(sku, node, qty, from_state, to_state, event, lot, ref, to_node) exists, or no stock could change state or node');
SELECT function_returns('erp', 'move',
    ARRAY['text', 'text', 'bigint', 'erp.stock_state', 'erp.stock_state', 'text', 'text', 'text', 'text', 'text'], 'bigint',
    'erp.move returns the move id as bigint, or callers could not refer to the move they made');
SELECT has_function('erp', 'verify', ARRAY[]::text[],
    'erp.verify() exists, or nobody could check that balances still match the ledger');
SELECT isnt_definer('erp', 'move',
    ARRAY['text', 'text', 'bigint', 'erp.stock_state', 'erp.stock_state', 'text', 'text', 'text', 'text', 'text'],
    'erp.move is SECURITY INVOKER and takes its owner''s rights in C, or a caller''s own SECURITY DEFINER function would hide who moves (operators moving stock is tested below)');
SELECT isnt_definer('erp', 'receive',
    ARRAY['text', 'text', 'bigint', 'text', 'date', 'erp.stock_state', 'text', 'text'],
    'erp.receive is SECURITY INVOKER and takes its owner''s rights in C, or a caller''s own SECURITY DEFINER function would hide who receives');

-- The states, in order ------------------------------------------------------------

SELECT enum_has_labels('erp', 'stock_state',
    ARRAY['incoming', 'in_transit', 'return_pending', 'available', 'reserved', 'picked', 'packed',
          'inspection', 'quarantined', 'damaged', 'refurbish', 'vendor_return'],
    'erp.stock_state has exactly the twelve documented states in order, or clients and BI reports would misread where stock stands');

-- Roles --------------------------------------------------------------------------

SELECT has_role('erp_reader', 'role erp_reader exists, or BI tools could not be given read-only access');
SELECT has_role('erp_operator', 'role erp_operator exists, or warehouse apps could not be allowed to move stock');
SELECT has_role('erp_approver', 'role erp_approver exists, or nobody could be allowed to approve adjustments and refunds');
SELECT has_role('erp_admin', 'role erp_admin exists, or nobody could be allowed to keep master data');

-- Master data of this file ------------------------------------------------------

INSERT INTO erp.item (sku, gtin, title) VALUES ('TAP01-TEE', '4006381333931', 'tap tee');
INSERT INTO erp.item (sku, title) VALUES ('TAP01-MUG', 'tap mug');
INSERT INTO erp.item (sku, title, lot_tracked) VALUES ('TAP01-VIT', 'tap vitamins', true);
INSERT INTO erp.node (code, kind) VALUES ('TAP01-DC', 'warehouse'), ('TAP01-ST', 'store');

-- Everything this file can change: balances per lot and state, ledger length,
-- lots and items.  A refused call must leave it exactly as it was.
CREATE FUNCTION pg_temp.picture()
    RETURNS TABLE (what text, sku text, node text, lot text, state text, qty bigint)
    LANGUAGE sql AS $$
    SELECT * FROM (
        SELECT 'balance', i.sku, n.code, l.lot_code, b.state::text, sum(b.qty)::bigint
          FROM erp.stock_balance b
          JOIN erp.item i ON i.item_id = b.item_id
          JOIN erp.node n ON n.node_id = b.node_id
          LEFT JOIN erp.lot l ON l.lot_id = b.lot_id
         WHERE i.sku LIKE 'TAP01-%'
         GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT 'ledger', NULL, NULL, NULL, NULL, count(*)
          FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id
         WHERE i.sku LIKE 'TAP01-%'
        UNION ALL
        SELECT 'lots', NULL, NULL, NULL, NULL, count(*)
          FROM erp.lot l JOIN erp.item i ON i.item_id = l.item_id
         WHERE i.sku LIKE 'TAP01-%'
        UNION ALL
        SELECT 'items', NULL, NULL, NULL, NULL, count(*) FROM erp.item WHERE sku LIKE 'TAP01-%'
    ) p
    ORDER BY 1, 2, 3, 4, 5
$$;
CREATE TEMP TABLE tap01_snapshot (what text, sku text, node text, lot text, state text, qty bigint);
CREATE FUNCTION pg_temp.snapshot() RETURNS void LANGUAGE sql AS $$
    DELETE FROM tap01_snapshot;
    INSERT INTO tap01_snapshot SELECT * FROM pg_temp.picture();
$$;
CREATE FUNCTION pg_temp.unchanged(description text) RETURNS text LANGUAGE sql AS $$
    SELECT results_eq('SELECT * FROM pg_temp.picture()',
                      'SELECT * FROM tap01_snapshot ORDER BY 1, 2, 3, 4, 5',
                      description);
$$;
-- Sum of one balance over its slots.
CREATE FUNCTION pg_temp.bal(p_sku text, p_node text, p_state erp.stock_state, p_lot text DEFAULT NULL)
    RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint
      FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id
      JOIN erp.node n ON n.node_id = b.node_id
      LEFT JOIN erp.lot l ON l.lot_id = b.lot_id
     WHERE i.sku = p_sku AND n.code = p_node AND b.state = p_state
       AND l.lot_code IS NOT DISTINCT FROM p_lot
$$;

-- Stock to work with ---------------------------------------------------------------

SELECT lives_ok($$SELECT erp.receive('TAP01-TEE', 'TAP01-DC', 10, ref => 'tap:open')$$,
    'an opening receipt is booked, or no stock could ever enter the books');
SELECT lives_ok($$SELECT erp.receive('TAP01-VIT', 'TAP01-DC', 8, 'TAP01-LOT-A', '2031-01-31', ref => 'tap:open')$$,
    'a receipt of a lot-tracked item with its lot is booked, or batches could never be received');
SELECT is(pg_temp.bal('TAP01-TEE', 'TAP01-DC', 'available'), 10::bigint,
    'the receipt shows as 10 available, or received stock would be invisible to selling');
SELECT is(pg_temp.bal('TAP01-VIT', 'TAP01-DC', 'available', 'TAP01-LOT-A'), 8::bigint,
    'the lot receipt shows as 8 available in its lot, or first-expiry-first-out could not find it');
SELECT pg_temp.snapshot();

-- IE001: insufficient stock ------------------------------------------------------------

SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 11, 'available', 'damaged', 'damage')$$,
    'IE001', 'insufficient stock for sku "TAP01-TEE" at node "TAP01-DC": 10 available, 11 requested',
    'taking 11 of 10 available is refused with IE001 naming sku, node and numbers, or stock could go negative and be oversold');
SELECT pg_temp.unchanged('the refused oversized move changed no balance, lot or ledger row, or a refusal could still lose stock');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-ST', 1, 'available', 'damaged', 'damage')$$,
    'IE001', NULL,
    'taking stock from a node that never had any is refused with IE001, or phantom stock could be written off');
SELECT pg_temp.unchanged('the refused move at an empty node changed nothing, or a refusal could leave a negative balance');
SELECT throws_ok($$SELECT erp.move('TAP01-VIT', 'TAP01-DC', 9, 'available', 'damaged', 'damage', 'TAP01-LOT-A')$$,
    'IE001', NULL,
    'taking 9 from a lot holding 8 is refused with IE001, or a lot could go negative while another lot covers it');
SELECT pg_temp.unchanged('the refused lot move changed nothing, or lot balances could drift from the ledger');

-- IE002: transition not allowed -------------------------------------------------------

SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'available', 'packed', 'pack')$$,
    'IE002', 'transition from "available" to "packed" by event "pack" is not allowed',
    'packing straight from available is refused with IE002, or stock could skip allocation and picking');
SELECT pg_temp.unchanged('the refused transition changed nothing, or an illegal move could still shift stock');
SELECT throws_ok($$SELECT erp.receive('TAP01-TEE', 'TAP01-DC', 1, state => 'reserved')$$,
    'IE002', NULL,
    'a receipt straight into reserved is refused with IE002, or reservations could appear without an order');
SELECT pg_temp.unchanged('the refused receipt into reserved changed nothing, or it could still create reserved stock');
SELECT throws_ok($$SELECT erp.receive('TAP01-VIT', 'TAP01-DC', 1, 'TAP01-LOT-NEW', '2032-01-31', state => 'incoming')$$,
    'IE002', NULL,
    'a receipt of a new lot into incoming is refused with IE002, or receipts could fake supplier-confirmed stock');
SELECT pg_temp.unchanged('the refused receipt left no new lot behind, or refused receipts would litter the lot list');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'available', 'damaged', 'damage', to_node => 'TAP01-ST')$$,
    'IE002', 'event "damage" cannot move stock from node "TAP01-DC" to node "TAP01-ST"',
    'a non-transfer event with another to_node is refused with IE002, or stock could silently change node');
SELECT pg_temp.unchanged('the refused cross-node damage changed nothing at either node, or stock could vanish from one node');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'available', 'damaged', NULL)$$,
    'IE002', NULL,
    'a move without an event is refused with IE002, or the ledger would hold moves nobody can explain');
SELECT pg_temp.unchanged('the refused event-less move changed nothing, or unexplained moves could still be booked');

-- IE003: unknown sku, node or lot ---------------------------------------------------------

SELECT throws_ok($$SELECT erp.receive('TAP01-NOPE', 'TAP01-DC', 1)$$,
    'IE003', 'unknown sku "TAP01-NOPE"',
    'an unknown sku is refused with IE003 naming it, or a typo would book stock against nothing');
SELECT pg_temp.unchanged('the refused unknown sku changed nothing, or a typo could still create stock');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-NOWHERE', 1, 'available', 'damaged', 'damage')$$,
    'IE003', 'unknown node "TAP01-NOWHERE"',
    'an unknown node is refused with IE003 naming it, or stock could be moved at a place that does not exist');
SELECT pg_temp.unchanged('the refused unknown node changed nothing, or a wrong node code could still move stock');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'available', 'in_transit', 'transfer_out', to_node => 'TAP01-NOWHERE')$$,
    'IE003', 'unknown node "TAP01-NOWHERE"',
    'a transfer to an unknown node is refused with IE003, or stock could be sent to a destination nobody can receive at');
SELECT pg_temp.unchanged('the refused transfer to an unknown node changed nothing, or units could be lost in transit');
SELECT throws_ok($$SELECT erp.receive('TAP01-VIT', 'TAP01-DC', 1)$$,
    'IE003', 'sku "TAP01-VIT" is lot-tracked: a lot is required',
    'a lot-tracked receipt without a lot is refused with IE003, or batches could not be traced for a recall');
SELECT pg_temp.unchanged('the refused lot-less receipt changed nothing, or untraceable stock could still enter');
SELECT throws_ok($$SELECT erp.move('TAP01-VIT', 'TAP01-DC', 1, 'available', 'damaged', 'damage', 'TAP01-LOT-ZZZ')$$,
    'IE003', 'unknown lot "TAP01-LOT-ZZZ" of sku "TAP01-VIT"',
    'a move of an unknown lot is refused with IE003, or stock of a lot that never arrived could be written off');
SELECT pg_temp.unchanged('the refused unknown lot changed nothing, or a lot could be created by a move out of stock');

-- IE004: invalid quantity ------------------------------------------------------------------

SELECT throws_ok($$SELECT erp.receive('TAP01-TEE', 'TAP01-DC', 0)$$,
    'IE004', 'invalid quantity 0 for sku "TAP01-TEE"',
    'a receipt of zero units is refused with IE004, or empty moves would clutter the ledger');
SELECT pg_temp.unchanged('the refused zero receipt changed nothing, or empty ledger rows could still appear');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', -3, 'available', 'damaged', 'damage')$$,
    'IE004', 'invalid quantity -3 for sku "TAP01-TEE"',
    'a negative move is refused with IE004, or a damage could secretly add stock back');
SELECT pg_temp.unchanged('the refused negative move changed nothing, or negative moves could still reverse balances');
SELECT throws_ok($$SELECT erp.receive('TAP01-TEE', 'TAP01-DC', NULL)$$,
    'IE004', NULL,
    'a receipt without a quantity is refused with IE004, or a NULL could be booked as some amount');
SELECT pg_temp.unchanged('the refused NULL quantity changed nothing, or a NULL receipt could still change stock');

-- IE005: the ledger is append-only, the balances are derived --------------------------

SELECT throws_ok($$UPDATE erp.stock_move SET qty = qty + 1 WHERE ref = 'tap:open'$$,
    'IE005', 'UPDATE of stock_move is not allowed: the ledger is append-only',
    'UPDATE of the ledger is refused with IE005, or history could be rewritten and audits would lie');
SELECT pg_temp.unchanged('the refused ledger UPDATE changed nothing, or recorded moves could still be altered');
SELECT throws_ok($$DELETE FROM erp.stock_move WHERE ref = 'tap:open'$$,
    'IE005', 'DELETE of stock_move is not allowed: the ledger is append-only',
    'DELETE from the ledger is refused with IE005, or moves could disappear from the audit trail');
SELECT pg_temp.unchanged('the refused ledger DELETE changed nothing, or moves could still be removed');
SELECT throws_ok($$TRUNCATE erp.stock_move$$,
    'IE005', 'TRUNCATE of stock_move is not allowed: the ledger is append-only',
    'TRUNCATE of the ledger is refused with IE005, or the whole history could be wiped in one statement');
SELECT pg_temp.unchanged('the refused ledger TRUNCATE changed nothing, or history could still be wiped');
SELECT throws_ok($$INSERT INTO erp.stock_balance (item_id, node_id, state, qty)
                   SELECT item_id, node_id, 'damaged', 5 FROM erp.availability WHERE sku = 'TAP01-TEE'$$,
    'IE005', 'erp.stock_balance is derived from the ledger and cannot be written directly',
    'a direct INSERT of a balance is refused with IE005, or stock could appear with no move behind it');
SELECT pg_temp.unchanged('the refused balance INSERT changed nothing, or balances could drift from the ledger');
SELECT throws_ok($$UPDATE erp.stock_balance SET qty = qty + 100$$,
    'IE005', 'erp.stock_balance is derived from the ledger and cannot be written directly',
    'a direct UPDATE of balances is refused with IE005, or stock could be inflated without a trace');
SELECT pg_temp.unchanged('the refused balance UPDATE changed nothing, or inflated stock could still be sold');
SELECT throws_ok($$DELETE FROM erp.stock_balance$$,
    'IE005', 'erp.stock_balance is derived from the ledger and cannot be written directly',
    'a direct DELETE of balances is refused with IE005, or stock could vanish without a move');
SELECT pg_temp.unchanged('the refused balance DELETE changed nothing, or stock could still vanish');
-- erp.stock_balance is a view over the slots the kernel keeps (erp.stock_slot):
-- PostgreSQL itself refuses to truncate a view; the slots refuse every write
SELECT throws_ok($$TRUNCATE erp.stock_balance$$,
    '42809', NULL,
    'TRUNCATE of the balances view is refused (a view cannot be truncated), or every stock level could be wiped at once');
SELECT pg_temp.unchanged('the refused balance TRUNCATE changed nothing, or every stock level could still be wiped');
SELECT throws_ok($$INSERT INTO erp.stock_slot (item_id, node_id, slot, damaged)
                   SELECT item_id, node_id, 99, 5 FROM erp.availability WHERE sku = 'TAP01-TEE'$$,
    'IE005', 'erp.stock_slot is derived from the ledger and cannot be written directly',
    'a direct INSERT of a balance slot is refused with IE005, or stock could appear with no move behind it');
SELECT pg_temp.unchanged('the refused slot INSERT changed nothing, or balances could drift from the ledger');
SELECT throws_ok($$UPDATE erp.stock_slot SET available = available + 100$$,
    'IE005', 'erp.stock_slot is derived from the ledger and cannot be written directly',
    'a direct UPDATE of balance slots is refused with IE005, or stock could be inflated without a trace');
SELECT pg_temp.unchanged('the refused slot UPDATE changed nothing, or inflated stock could still be sold');
SELECT throws_ok($$DELETE FROM erp.stock_slot$$,
    'IE005', 'erp.stock_slot is derived from the ledger and cannot be written directly',
    'a direct DELETE of balance slots is refused with IE005, or stock could vanish without a move');
SELECT pg_temp.unchanged('the refused slot DELETE changed nothing, or stock could still vanish');
SELECT throws_ok($$TRUNCATE erp.stock_slot$$,
    'IE005', 'erp.stock_slot is derived from the ledger and cannot be written directly',
    'TRUNCATE of the balance slots is refused with IE005, or every stock level could be wiped at once');
SELECT pg_temp.unchanged('the refused slot TRUNCATE changed nothing, or every stock level could still be wiped');
-- and the ledger takes rows only from the stock kernel, even from a superuser
SELECT throws_ok($$INSERT INTO erp.stock_move (item_id, qty, to_node_id, to_state, event)
                   SELECT item_id, 1000, node_id, 'available', 'receive' FROM erp.availability WHERE sku = 'TAP01-TEE'$$,
    'IE005', 'rows of erp.stock_move are appended only by the stock kernel',
    'a direct INSERT into the ledger is refused with IE005, or a move could be booked that changes no balance and passes no check');
SELECT pg_temp.unchanged('the refused ledger INSERT changed nothing, or the ledger could disagree with the balances');

-- IE006: invalid GTIN ------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO erp.item (sku, gtin) VALUES ('TAP01-BAD', '4006381333932')$$,
    'IE006', 'invalid GTIN "4006381333932"',
    'an item with a GTIN whose check digit is wrong is refused with IE006, or scans would never find it');
SELECT pg_temp.unchanged('the refused item was not created, or an item with an unscannable barcode would exist');
SELECT throws_ok($$UPDATE erp.item SET gtin = '400638133393' WHERE sku = 'TAP01-TEE'$$,
    'IE006', NULL,
    'changing an item''s GTIN to a wrong length is refused with IE006, or a working barcode could be broken');
SELECT is((SELECT gtin::text FROM erp.item WHERE sku = 'TAP01-TEE'), '04006381333931',
    'the item keeps its valid GTIN after the refused update, or scans of it would stop working');

-- Access: operators move stock only through the functions ------------------------------

SET LOCAL ROLE erp_operator;
SELECT lives_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 2, 'available', 'damaged', 'damage', ref => 'tap:operator')$$,
    'an erp_operator member can call erp.move, or warehouse apps could not record damage');
SELECT lives_ok($$SELECT erp.receive('TAP01-MUG', 'TAP01-DC', 4, ref => 'tap:operator')$$,
    'an erp_operator member can call erp.receive, or warehouse apps could not book receipts');
SELECT throws_ok($$INSERT INTO erp.stock_move (item_id, qty, to_node_id, to_state, event)
                   SELECT item_id, 1000, node_id, 'available', 'receive' FROM erp.availability WHERE sku = 'TAP01-TEE'$$,
    '42501', NULL,
    'an erp_operator cannot INSERT into the ledger directly, or it could book moves that bypass the functions'' checks');
SELECT throws_ok($$UPDATE erp.item SET unit_cost = 0 WHERE sku = 'TAP01-TEE'$$,
    '42501', NULL,
    'an erp_operator cannot UPDATE erp.item, or an operator could change master data such as costs');
SELECT throws_ok($$UPDATE erp.stock_balance SET qty = 0$$,
    '42501', NULL,
    'an erp_operator cannot even try to UPDATE balances (no privilege), or the guard trigger would be the only line of defence');
RESET ROLE;
SELECT is((SELECT m.actor::text FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id
            WHERE i.sku = 'TAP01-TEE' AND m.ref = 'tap:operator'), 'erp_operator',
    'a move made under SET ROLE erp_operator records actor erp_operator (not the function owner), or the audit trail could not say who moved stock');
SELECT is((SELECT m.actor::text FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id
            WHERE i.sku = 'TAP01-MUG' AND m.ref = 'tap:operator'), 'erp_operator',
    'a receipt made under SET ROLE erp_operator records actor erp_operator, or receipts could not be traced to who booked them');
SELECT is(pg_temp.bal('TAP01-TEE', 'TAP01-DC', 'damaged'), 2::bigint,
    'the operator''s damage shows as 2 damaged, or moves made through the functions would not reach the balances');

-- Access: readers read -------------------------------------------------------------------

SET LOCAL ROLE erp_reader;
SELECT results_eq($$SELECT available, damaged, on_hand FROM erp.availability WHERE sku = 'TAP01-TEE' AND node = 'TAP01-DC'$$,
    $$VALUES (8::bigint, 2::bigint, 10::bigint)$$,
    'an erp_reader member can read erp.availability and sees the right picture, or BI tools would show nothing');
SELECT throws_ok($$SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'available', 'damaged', 'damage')$$,
    '42501', NULL,
    'an erp_reader member cannot execute erp.move, or a read-only BI login could change stock');
SELECT throws_ok($$SELECT erp.receive('TAP01-TEE', 'TAP01-DC', 1)$$,
    '42501', NULL,
    'an erp_reader member cannot execute erp.receive, or a read-only BI login could create stock');
SELECT is_empty($$SELECT * FROM erp.verify()$$,
    'an erp_reader member can run erp.verify() and it finds nothing wrong, or monitoring could not check the books');
RESET ROLE;

-- Balances equal the ledger after a sequence of moves ----------------------------------

SELECT lives_ok($$
    SELECT erp.move('TAP01-TEE', 'TAP01-DC', 3, 'available', 'quarantined', 'hold');
    SELECT erp.move('TAP01-TEE', 'TAP01-DC', 1, 'quarantined', 'available', 'release_hold');
    SELECT erp.receive_transfer(erp.transfer('TAP01-TEE', 'TAP01-DC', 'TAP01-ST', 4));
    SELECT erp.move('TAP01-TEE', 'TAP01-DC', 2, 'damaged', NULL, 'dispose');
    SELECT erp.move('TAP01-TEE', 'TAP01-ST', 1, 'available', NULL, 'adjust');
    SELECT erp.receive('TAP01-VIT', 'TAP01-DC', 5, 'TAP01-LOT-B', '2031-06-30');
    SELECT erp.move('TAP01-VIT', 'TAP01-DC', 8, 'available', 'damaged', 'damage', 'TAP01-LOT-A');
    SELECT erp.move('TAP01-MUG', 'TAP01-DC', 4, 'available', NULL, 'adjust')
$$, 'a day of holds, releases, a transfer, disposals, adjustments and lot moves is booked, or normal work would be refused');
SELECT results_eq($$SELECT * FROM pg_temp.picture() WHERE what = 'balance' AND qty <> 0$$,
    $$VALUES ('balance', 'TAP01-TEE', 'TAP01-DC', NULL::text, 'available', 2::bigint),
             ('balance', 'TAP01-TEE', 'TAP01-DC', NULL, 'quarantined', 2::bigint),
             ('balance', 'TAP01-TEE', 'TAP01-ST', NULL, 'available', 3::bigint),
             ('balance', 'TAP01-VIT', 'TAP01-DC', 'TAP01-LOT-A', 'damaged', 8::bigint),
             ('balance', 'TAP01-VIT', 'TAP01-DC', 'TAP01-LOT-B', 'available', 5::bigint)$$,
    'every balance after the sequence is what the moves say, or the stock picture would be wrong after ordinary work');
SELECT results_eq($$
    SELECT item_id, node_id, coalesce(lot_id, 0), state, sum(qty)::bigint
      FROM erp.stock_balance
     WHERE item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP01-%')
     GROUP BY 1, 2, 3, 4 HAVING sum(qty) <> 0 ORDER BY 1, 2, 3, 4$$,
    $$
    SELECT item_id, node_id, coalesce(lot_id, 0), state, sum(qty)::bigint
      FROM (SELECT item_id, to_node_id AS node_id, lot_id, to_state AS state, qty
              FROM erp.stock_move WHERE to_state IS NOT NULL
            UNION ALL
            SELECT item_id, from_node_id, lot_id, from_state, -qty
              FROM erp.stock_move WHERE from_state IS NOT NULL) l
     WHERE item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP01-%')
     GROUP BY 1, 2, 3, 4 HAVING sum(qty) <> 0 ORDER BY 1, 2, 3, 4$$,
    'each balance equals the sum of its ledger moves, computed independently of erp.verify(), or the books could drift unnoticed');
SELECT is_empty($$SELECT * FROM erp.verify()$$,
    'erp.verify() finds no inconsistency after the sequence, or a healthy database would raise false alarms');
SELECT is_empty($$SELECT * FROM erp.stock_balance WHERE qty < 0$$,
    'no balance row is negative, or oversold stock would be hidden in the sums');

SELECT * FROM finish();
ROLLBACK;
