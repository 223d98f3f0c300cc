-- 81_bins_guard.sql: the adversarial pass on bins (issue 16).  erp.verify()
-- catches bin stock that disagrees with the ledger or sits in a bin of another
-- node (corrupted as a superuser with the guards off, the way the definer_verify
-- tests do); a partner login puts away and moves bins only at its own nodes,
-- sees only their bins, and every refusal changes nothing.
BEGIN;
SELECT plan(19);

INSERT INTO erp.node (code) VALUES ('TAP81-DC'), ('TAP81-3PL');
INSERT INTO erp.item (sku, category, unit_cost, unit_price) VALUES ('TAP81-TEE', 'apparel', 1, 10);
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT n.node_id, v.code, 'apparel', v.seq FROM erp.node n,
       (VALUES ('TAP81-DC', 'D-01', 1), ('TAP81-DC', 'D-02', 2), ('TAP81-3PL', 'P-01', 1), ('TAP81-3PL', 'P-02', 2)) AS v(node, code, seq)
 WHERE n.code = v.node;
SELECT erp.receive('TAP81-TEE', 'TAP81-DC', 10);
SELECT erp.receive('TAP81-TEE', 'TAP81-3PL', 10);
SELECT erp.putaway('TAP81-TEE', 'TAP81-DC', 'D-01', 6);
SELECT erp.putaway('TAP81-TEE', 'TAP81-3PL', 'P-01', 4);

CREATE ROLE tap81_partner;
GRANT erp_operator, erp_reader TO tap81_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap81_partner', node_id FROM erp.node WHERE code = 'TAP81-3PL';
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s', (SELECT count(*) FROM erp.stock_move),
                  (SELECT string_agg(format('%s:%s:%s', node, bin, qty), ' ' ORDER BY node, bin) FROM erp.bin_stock
                    WHERE sku = 'TAP81-TEE'))
$$;
GRANT EXECUTE ON FUNCTION pg_temp.books() TO tap81_partner;
CREATE TEMP TABLE before81 AS SELECT pg_temp.books() AS b;
GRANT SELECT ON before81 TO tap81_partner;

SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'a healthy database: erp.verify() is empty');

-- A partner at another node ------------------------------------------------------
SET LOCAL ROLE tap81_partner;
SELECT throws_ok($$SELECT erp.putaway('TAP81-TEE', 'TAP81-DC', 'D-02', 1)$$, 'IE009', NULL,
    'a partner cannot put away at a node it has no access to (IE009)');
SELECT throws_ok($$SELECT erp.bin_move('TAP81-TEE', 'TAP81-DC', 'D-01', 'D-02', 1)$$, 'IE009', NULL,
    'nor move bins there (IE009)');
SELECT throws_ok($$SELECT erp.putaway('TAP81-TEE', 'TAP81-3PL', 'D-02', 1)$$, 'IE003',
    'unknown bin "D-02" at node "TAP81-3PL"', 'a DC bin named at its own node is unknown (IE003)');
SELECT is((SELECT string_agg(code, ',' ORDER BY code) FROM erp.bin WHERE code LIKE '_-0_'), 'P-01,P-02',
    'the partner sees the bins of its node only');
SELECT is((SELECT string_agg(bin, ',') FROM erp.bin_stock WHERE sku = 'TAP81-TEE'), 'P-01',
    'and only their stock in erp.bin_stock');
SELECT is(erp.suggest_bin('TAP81-TEE', 'TAP81-DC'), NULL, 'no suggestion at a node it cannot see');
SELECT ok(erp.bin_move('TAP81-TEE', 'TAP81-3PL', 'P-01', 'P-02', 3) > 0, 'at its own node the partner moves bins');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT format('%s|TAP81-3PL:P-01:1 TAP81-3PL:P-02:3 TAP81-DC:D-01:6', split_part(b, '|', 1)::bigint + 1)
                              FROM before81),
    'only the partner''s own bin move changed anything: one ledger row, 3 units from P-01 to P-02');

-- erp.verify() catches corrupted bins ----------------------------------------------
SAVEPOINT corrupt;
SET LOCAL session_replication_role = replica;
-- 2 units of D-01 booked outside bins instead: the node's balance is unchanged
UPDATE erp.stock_slot SET available = available - 2
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP81-TEE') AND bin_id = (SELECT bin_id FROM erp.bin WHERE code = 'D-01');
UPDATE erp.stock_slot SET available = available + 2
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP81-TEE') AND bin_id = 0
   AND node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP81-DC');
SET LOCAL session_replication_role = origin;
SELECT is((SELECT string_agg(format('%s %s/%s', problem, expected, actual), '; ') FROM erp.verify()),
    'bin stock differs from ledger in bin D-01 6/4',
    'units moved out of a bin behind the ledger''s back: the node''s balance agrees, the bin does not');
ROLLBACK TO SAVEPOINT corrupt;
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'restored: erp.verify() is empty again');

SAVEPOINT corrupt2;
SET LOCAL session_replication_role = replica;
-- the 3PL's bin P-01 "moved" to the DC's stock rows
UPDATE erp.stock_slot SET bin_id = (SELECT bin_id FROM erp.bin WHERE code = 'P-01')
 WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP81-TEE') AND bin_id = (SELECT bin_id FROM erp.bin WHERE code = 'D-01');
SET LOCAL session_replication_role = origin;
SELECT is((SELECT count(*) FROM erp.verify() WHERE problem LIKE 'stock in bin %, which is not a bin of its node'), 1::bigint,
    'stock booked at the DC in a 3PL bin is reported');
SELECT is((SELECT count(*) FROM erp.verify() WHERE problem LIKE 'bin stock differs from ledger in bin %'), 2::bigint,
    'and both bins differ from the ledger (D-01 lost 6 units, P-01 has 6 at the wrong node)');
ROLLBACK TO SAVEPOINT corrupt2;

-- Inactive bins, retired --------------------------------------------------------------
SELECT ok(erp.bin_move('TAP81-TEE', 'TAP81-DC', 'D-01', 'D-02', 1) > 0, 'one unit into D-02 while it is active');
UPDATE erp.bin SET active = false WHERE code = 'D-02';
SELECT throws_ok($$SELECT erp.bin_move('TAP81-TEE', 'TAP81-DC', 'D-01', 'D-02', 1)$$, 'IE010',
    'bin "D-02" at node "TAP81-DC" is inactive', 'an inactive bin takes no units by bin_move either (IE010)');
SELECT ok(erp.bin_move('TAP81-TEE', 'TAP81-DC', 'D-02', 'D-01', 1) > 0, 'its units can still be moved out');
SELECT is(erp.suggest_bin('TAP81-TEE', 'TAP81-DC'), 'D-01', 'and it is never suggested');

-- erp.suggest_bin refuses what it does not know (IE003) before it reads a bin
SELECT throws_ok($$SELECT erp.suggest_bin('TAP81-NO-SUCH-SKU', 'TAP81-DC')$$, 'IE003', NULL,
    'suggest_bin: an unknown sku is refused (IE003)');
SELECT throws_ok($$SELECT erp.suggest_bin('TAP81-TEE', 'TAP81-NO-SUCH-NODE')$$, 'IE003', NULL,
    'suggest_bin: an unknown node is refused (IE003)');
SELECT * FROM finish();
ROLLBACK;
