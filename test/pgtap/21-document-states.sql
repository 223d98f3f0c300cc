-- 21-document-states.sql (found by the break-it pass of issue 9): units in
-- in_transit belong to a transfer, units in refurbish and vendor_return to a
-- return line waiting for erp.complete_refurbish / erp.return_to_vendor, units
-- in incoming to a purchase order.  0.3.0 guards reserved, picked, packed,
-- return_pending and inspection only.
--   * doc/states.md row 44: "Units lost on the way between two nodes are
--     written off at the receiving node" (erp.move ... 'in_transit', NULL,
--     'adjust').  Done for 1 lost unit of a 2-unit transfer, erp.receive_transfer
--     then fails for good (IE001: 1 in_transit, 2 requested): the transfer
--     stays in_transit forever with its arrived unit, and erp.verify() is empty.
--   * rows 42/43 let any operator write off the unit a return line waits to
--     refurbish; erp.complete_refurbish then fails for good (IE001).
--   * an erp_admin may add transitions out of in_transit / vendor_return or into
--     incoming (no PO behind the units) - the 0.3.0 guard refuses them for the
--     five other document states only.
-- Expected: documents stay completable (or the write-off is refused) and the
-- admin transitions are refused (IE010).  Actual (1ccb86a): all accepted.
-- (ledger2: the write-off is now refused - IE002, as every generic move into or
-- out of a state a document owns - so it runs in pg_temp.state_of: a bare
-- refused statement would abort the test's transaction.  The lost unit is
-- then counted out after the transfer is received, as doc/states.md says now.)
BEGIN;
SELECT plan(16);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('BRK21-TEE', 5, 20);
INSERT INTO erp.node (code, kind) VALUES ('BRK21-A', 'warehouse'), ('BRK21-B', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('BRK21-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'BRK21-WEB' AND n.code = 'BRK21-A';
CREATE ROLE brk21_op;
CREATE ROLE brk21_admin;
GRANT erp_operator TO brk21_op;
GRANT erp_admin, erp_operator TO brk21_admin;
-- sqlstate of a statement run in a subtransaction ('' when it succeeds)
CREATE FUNCTION pg_temp.state_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN '';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.state_of(text) TO PUBLIC;

SELECT erp.receive('BRK21-TEE', 'BRK21-A', 20), erp.receive('BRK21-TEE', 'BRK21-B', 20);
-- a transfer on its way, and a returned tee waiting for refurbishment
SELECT erp.transfer('BRK21-TEE', 'BRK21-B', 'BRK21-A', 2) AS t \gset
SELECT erp.capture_order('BRK21-WEB', 'BRK21-1', '[{"sku": "BRK21-TEE", "qty": 1}]') AS o \gset
SELECT count(*) FROM erp.allocate(:o);
SELECT erp.pick(:o, 'BRK21-TEE', 1);
SELECT erp.pack(:o);
SELECT erp.ship(:o);
SELECT erp.authorize_return(:o, '[{"sku": "BRK21-TEE", "qty": 1, "reason": "too_small"}]') AS r \gset
SELECT erp.receive_return(:r);
SELECT rma_line_id AS rl FROM erp.rma_line WHERE rma_id = :r \gset
SELECT erp.inspect_return(:rl, 'used');
SELECT is((SELECT disposition::text FROM erp.rma_line WHERE rma_line_id = :rl), 'refurbish', '(the returned tee waits for refurbishment)');

-- what the books hold, to show that a refused call changed nothing
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.stock_move) || '/' ||
           (SELECT string_agg(b.state || '=' || b.qty, ',' ORDER BY b.state)
              FROM (SELECT state, sum(qty) AS qty FROM erp.stock_balance GROUP BY state) b)
$$;
GRANT EXECUTE ON FUNCTION pg_temp.books() TO PUBLIC;
SELECT pg_temp.books() AS before \gset

-- one of the two tees was lost on the way: writing it off in transit is refused
SET ROLE brk21_op;
SELECT pg_temp.state_of($$SELECT erp.move('BRK21-TEE', 'BRK21-A', 1, 'in_transit', NULL, 'adjust', ref => 'lost on the way')$$) AS lost \gset
-- nor may stock be fed into transit, or drawn out of it, without a transfer
SELECT pg_temp.state_of($$SELECT erp.move('BRK21-TEE', 'BRK21-B', 1, 'available', 'in_transit', 'transfer_out', to_node => 'BRK21-A')$$) AS feed \gset
SELECT pg_temp.state_of($$SELECT erp.move('BRK21-TEE', 'BRK21-A', 1, 'in_transit', 'available', 'transfer_in')$$) AS drain \gset
RESET ROLE;
SELECT is(:'lost'::text, 'IE002', 'a unit in transit cannot be written off by erp.move (IE002): it belongs to its transfer');
SELECT is(:'feed'::text || '/' || :'drain', 'IE002/IE002', 'nor sent or booked in by erp.move, outside a transfer');
SELECT is(pg_temp.books(), :'before', 'the refused moves changed nothing');
SELECT is(pg_temp.state_of(format('SELECT erp.receive_transfer(%s)', :t)), '',
          'the transfer is then received for the tee that arrived');
SELECT is((SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.node n USING (node_id)
            WHERE n.code = 'BRK21-A' AND b.state = 'in_transit'), 0::bigint,
          'and nothing stays in transit');
-- the lost tee: booked in with the transfer, then counted out (20 available at A, not 21)
SELECT erp.count('BRK21-TEE', 'BRK21-A', 20);
SELECT is(erp.atp('BRK21-TEE', 'BRK21-A'), 20::bigint, 'a count after the receipt writes the lost unit off');

-- the unit waiting for refurbishment: its write-off is refused, or the return line can still be closed
SET ROLE brk21_op;
SELECT pg_temp.state_of($$SELECT erp.move('BRK21-TEE', 'BRK21-A', 1, 'refurbish', NULL, 'adjust')$$) AS w \gset
RESET ROLE;
SELECT is(:'w'::text, 'IE002', 'the unit waiting for refurbishment cannot be written off by erp.move (IE002)');
SET ROLE brk21_op;
SELECT pg_temp.state_of($$SELECT erp.move('BRK21-TEE', 'BRK21-A', 1, 'refurbish', NULL, 'dispose')$$) AS w2 \gset
RESET ROLE;
SELECT is(:'w2'::text, 'IE002', 'nor disposed of by erp.move');
SELECT ok(:'w' <> '' OR pg_temp.state_of(format('SELECT erp.complete_refurbish(%s)', :rl)) = '',
          'a return line waiting to refurbish is not left stuck by a write-off of its unit');
SELECT is(pg_temp.state_of(format('SELECT erp.complete_refurbish(%s)', :rl)), '', 'and the return line is refurbished');

SET ROLE brk21_admin;
SELECT throws_ok($$INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('in_transit', 'available', 'brk_found')$$,
                 'IE010', NULL, 'an admin cannot add a transition out of in_transit (a transfer''s state)');
SELECT throws_ok($$INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('available', 'incoming', 'brk_expect')$$,
                 'IE010', NULL, 'an admin cannot add a transition into incoming (a purchase order''s state)');
SELECT throws_ok($$INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('vendor_return', 'available', 'brk_keep')$$,
                 'IE010', NULL, 'an admin cannot add a transition out of vendor_return (a return line''s state)');
SELECT throws_ok($$INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('damaged', 'refurbish', 'brk_repair')$$,
                 'IE010', NULL, 'an admin cannot add a transition into refurbish (a return line''s state)');
RESET ROLE;
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'erp.verify() is empty after it all');

SELECT * FROM finish();
ROLLBACK;
