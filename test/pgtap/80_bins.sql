-- 80_bins.sql: bins are a dimension of stock (issue 16, doc/warehouse.md).
-- Putaway moves available units from the node's stock outside bins into a bin;
-- node-level balances and ATP are the sums over bins; allocation reserves in
-- place (outside bins first, then bins in bin id order); erp.pick_bin takes
-- from the scanned bin, moving the node's reservation into it; every refusal
-- has its SQLSTATE and changes nothing.
BEGIN;
SELECT plan(44);

INSERT INTO erp.node (code, kind) VALUES ('TAP80-DC', 'warehouse'), ('TAP80-STORE', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP80-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP80-WEB' AND n.code = 'TAP80-DC';
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price) VALUES
    ('TAP80-TEE', 'tee', 'apparel', 1, 10),
    ('TAP80-MUG', 'mug', 'home', 1, 10);
INSERT INTO erp.bin (node_id, code, zone, pick_sequence, active)
SELECT n.node_id, v.code, v.zone, v.seq, v.active
  FROM erp.node n, (VALUES ('A-01', 'apparel', 10, true), ('A-02', 'apparel', 20, true),
                           ('B-01', 'home', 5, true), ('X-OLD', 'apparel', 1, false)) AS v(code, zone, seq, active)
 WHERE n.code = 'TAP80-DC';
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT node_id, 'S-01', 'apparel', 1 FROM erp.node WHERE code = 'TAP80-STORE';
SELECT erp.receive('TAP80-TEE', 'TAP80-DC', 10);
SELECT erp.receive('TAP80-TEE', 'TAP80-STORE', 3);

-- bins per state of TAP80-TEE at the DC: "bin:state=qty ..." (outside bins as "-")
CREATE FUNCTION pg_temp.bins() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s:%s=%s', coalesce(b.code, '-'), q.state, q.qty), ' '
                      ORDER BY coalesce(b.code, '-'), q.state)
      FROM (SELECT s.bin_id, st.state, sum(st.qty) AS qty
              FROM erp.stock_slot s
             CROSS JOIN LATERAL (VALUES ('available'::erp.stock_state, s.available), ('reserved', s.reserved),
                                        ('picked', s.picked)) AS st(state, qty)
             WHERE s.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP80-TEE')
               AND s.node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP80-DC')
             GROUP BY 1, 2 HAVING sum(st.qty) <> 0) q
      LEFT JOIN erp.bin b ON b.bin_id = q.bin_id
$$;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s', pg_temp.bins(), (SELECT count(*) FROM erp.stock_move))
$$;

-- Putaway and its suggestion ---------------------------------------------------------

SELECT is(erp.suggest_bin('TAP80-TEE', 'TAP80-DC'), 'A-01',
    'an item nowhere in bins: the empty active bin of its zone (category apparel) with the lowest pick sequence (the inactive X-OLD is passed over)');
SELECT is(erp.suggest_bin('TAP80-MUG', 'TAP80-DC'), 'B-01', 'a mug goes to the home zone');
SELECT ok(erp.putaway('TAP80-TEE', 'TAP80-DC', 'A-02', 6) > 0, 'putaway returns the move id');
SELECT is(pg_temp.bins(), '-:available=4 A-02:available=6', '6 of the 10 received units are in bin A-02, 4 outside bins');
SELECT is(erp.suggest_bin('TAP80-TEE', 'TAP80-DC'), 'A-02', 'now the bin that already holds the item is suggested');
SELECT is((SELECT available FROM erp.availability WHERE sku = 'TAP80-TEE' AND node = 'TAP80-DC'), 10::bigint,
    'erp.availability sums over bins: still 10 available at the DC');
SELECT is(erp.atp('TAP80-TEE', 'TAP80-DC'), 10::bigint, 'ATP is the node''s: 10');
SELECT is((SELECT format('%s>%s %s>%s %s', m.from_state, m.to_state, m.from_bin_id IS NULL,
                         m.to_bin_id = (SELECT bin_id FROM erp.bin WHERE code = 'A-02'), m.event)
             FROM erp.stock_move m WHERE m.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP80-TEE')
            ORDER BY m.move_id DESC LIMIT 1),
    'available>available t>t putaway', 'the ledger row names the bin the units entered (from outside bins: NULL)');
SELECT is((SELECT sku || ':' || bin || ':' || qty FROM erp.bin_stock WHERE node = 'TAP80-DC'),
    'TAP80-TEE:A-02:6', 'erp.bin_stock shows the bin''s units');

-- Refusals change nothing ----------------------------------------------------------
CREATE TEMP TABLE before80 AS SELECT pg_temp.books() AS b;

SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'X-OLD', 1)$$, 'IE010',
    'bin "X-OLD" at node "TAP80-DC" is inactive', 'an inactive bin takes no units (IE010)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'S-01', 1)$$, 'IE003',
    'unknown bin "S-01" at node "TAP80-DC"', 'a bin of another node is unknown at this node (IE003)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'NOPE', 1)$$, 'IE003',
    'unknown bin "NOPE" at node "TAP80-DC"', 'an unknown bin (IE003)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'A-01', 5)$$, 'IE001',
    NULL, 'only 4 units are outside bins: putting 5 away is refused (IE001)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'A-01', 0)$$, 'IE004', NULL, 'qty 0 (IE004)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', 'A-01', 1000000000000)$$, 'IE004', NULL,
    'a huge quantity (IE004)');
SELECT throws_ok(format('SELECT erp.putaway(%L, %L, %L, 1)', 'TAP80-TEE', 'TAP80-DC', repeat('B', 65)), 'IE004', NULL,
    'a bin code over 64 bytes (IE004)');
SELECT throws_ok($$SELECT erp.putaway('TAP80-TEE', 'TAP80-DC', NULL, 1)$$, 'IE004', NULL, 'no bin (IE004)');
SELECT throws_ok($$SELECT erp.bin_move('TAP80-TEE', 'TAP80-DC', 'A-02', 'A-02', 1)$$, 'IE004',
    'bin "A-02" is both the source and the destination', 'the same bin twice (IE004)');
SELECT throws_ok($$SELECT erp.bin_move('TAP80-TEE', 'TAP80-DC', 'A-01', 'A-02', 1)$$, 'IE001', NULL,
    'an empty bin gives nothing (IE001)');
SELECT throws_ok($$SELECT erp.move('TAP80-TEE', 'TAP80-DC', 1, 'available', 'available', 'putaway')$$, 'IE002', NULL,
    'a generic move cannot use the warehouse''s events (IE002)');
SELECT is(pg_temp.books(), (SELECT b FROM before80), 'after every refusal the bins and the ledger are unchanged');

-- Bin moves ------------------------------------------------------------------------
SELECT ok(erp.bin_move('TAP80-TEE', 'TAP80-DC', 'A-02', 'A-01', 2) > 0, 'bin_move returns the move id');
SELECT is(pg_temp.bins(), '-:available=4 A-01:available=2 A-02:available=4', '2 units moved from A-02 to A-01');

-- Allocation reserves in place: outside bins first, then bins in bin id order --------
CREATE TEMP TABLE o80 AS
SELECT erp.capture_order('TAP80-WEB', 'TAP80-O1', '[{"sku": "TAP80-TEE", "qty": 7}]') AS order_id;
SELECT is((SELECT count(*) FROM erp.allocate((SELECT order_id FROM o80))), 1::bigint, 'the order is allocated');
SELECT is(pg_temp.bins(), '-:reserved=4 A-01:reserved=2 A-02:available=3 A-02:reserved=1',
    '7 reserved: the 4 outside bins, the 2 of A-01 (lower bin id), 1 of A-02; each stays in its bin');
SELECT is((SELECT count(*) FROM erp.stock_move
            WHERE ref = 'order:' || (SELECT order_id FROM o80) AND event = 'allocate'), 3::bigint,
    'one ledger row per bin the allocation took from');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty: bins agree with the ledger');

-- Picking scans the bin -------------------------------------------------------------
CREATE TEMP TABLE before80b AS SELECT pg_temp.books() AS b;
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', (SELECT order_id FROM o80), 'TAP80-TEE', 'S-01'), 'IE007',
    format('bin "S-01" scanned for sku "TAP80-TEE" of order %s is not a bin of node "TAP80-DC"', (SELECT order_id FROM o80)),
    'a bin of another node is a wrong bin (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', (SELECT order_id FROM o80), 'TAP80-TEE', 'B-01'), 'IE007',
    format('bin "B-01" at node "TAP80-DC" holds 0 units of sku "TAP80-TEE", 1 picked for order %s', (SELECT order_id FROM o80)),
    'a bin without the item is a wrong bin (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 5, %L)', (SELECT order_id FROM o80), 'TAP80-TEE', 'A-02'), 'IE007',
    format('bin "A-02" at node "TAP80-DC" holds 4 units of sku "TAP80-TEE", 5 picked for order %s', (SELECT order_id FROM o80)),
    'a bin with too few units is refused (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', (SELECT order_id FROM o80), 'TAP80-MUG', 'A-02'), 'IE007',
    NULL, 'the wrong item is refused as before (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, NULL)', (SELECT order_id FROM o80), 'TAP80-TEE'), 'IE004',
    NULL, 'no bin scanned (IE004)');
SELECT is(pg_temp.books(), (SELECT b FROM before80b), 'after the refused picks the bins and the ledger are unchanged');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'pick_exception'
            AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM o80)
            AND payload->>'count_bin' = 'true' AND payload->>'bin' = 'B-01'), 1::bigint,
    'the short bin is flagged for a count in a pick_exception event');

SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 3, %L)', (SELECT order_id FROM o80), 'TAP80-TEE', 'A-02'),
    '3 picked from A-02, which holds 1 reserved and 3 available units');
SELECT is(pg_temp.bins(), '-:available=2 -:reserved=2 -:picked=3 A-01:reserved=2 A-02:available=1',
    'the reservation moved into A-02 (2 released outside bins), the 3 picked left A-02 for the tote (outside bins)');
SELECT is((SELECT format('%s/%s/%s', available, reserved, picked) FROM erp.availability
            WHERE sku = 'TAP80-TEE' AND node = 'TAP80-DC'), '3/4/3', 'node totals: 3 available, 4 reserved, 3 picked');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 2, %L)', (SELECT order_id FROM o80), 'TAP80-TEE', 'A-01'),
    '2 picked from A-01');
SELECT lives_ok(format('SELECT erp.pick(%s, %L, 2)', (SELECT order_id FROM o80), 'TAP80-TEE'),
    'erp.pick without a bin takes the node''s reserved units where they are booked');
SELECT is(pg_temp.bins(), '-:available=2 -:picked=7 A-02:available=1', 'all 7 picked; 3 available left');
SELECT lives_ok(format('SELECT erp.pack(%s)', (SELECT order_id FROM o80)), 'the order packs');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after picking by bin');

-- A bin with history is retired, not deleted ------------------------------------------
SELECT throws_ok($$DELETE FROM erp.bin WHERE code = 'A-02'$$, 'IE010', NULL, 'a bin with history cannot be deleted (IE010)');
SELECT throws_ok($$UPDATE erp.bin SET node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP80-STORE') WHERE code = 'A-01'$$,
    'IE010', NULL, 'a bin never changes node (IE010)');

SELECT * FROM finish();
ROLLBACK;
