-- 90_lot_bins.sql: lot-tracked items in bins are allocated from their bins (issue 16,
-- doc/warehouse.md "Lots in bins").  Allocation's first-expiry take (StockLockLots,
-- src/stock/slots.c) reads every (bin, lot) of the item at the node, owns their slots in
-- the lock order and sums per lot over the bins; the take names no bin and the kernel
-- spreads it over the lot's bins (outside bins first, then bins in bin id order).  A lot
-- below the item's shelf-life floor is skipped wherever it lies.  The wave's pick list
-- names bin and lot; erp.pick_bin takes from the bin that holds the lot; every refusal
-- has its SQLSTATE and changes nothing; erp.verify() stays empty.
BEGIN;
SELECT plan(33);

INSERT INTO erp.node (code, kind) VALUES ('TAP90-DC', 'warehouse'), ('TAP90-FLAT', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP90-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP90-WEB' AND n.code = 'TAP90-DC';
-- lots with fewer than 30 days left are not promised (erp.item.min_shelf_life_days)
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked, min_shelf_life_days, gtin) VALUES
    ('TAP90-VIT', 'vitamins', 'health', 1, 2, true, 30, '09501101530904');
-- bins: ids in the order A, B, C; the walk (pick sequence) is C, B, A
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT n.node_id, v.code, 'health', v.seq
  FROM erp.node n, (VALUES ('A', 30), ('B', 20), ('C', 10)) AS v(code, seq)
 WHERE n.code = 'TAP90-DC';

-- L-LATE (200 days) all in bin A; L-EARLY (100 days) in bins B and C and 1 unit outside bins;
-- L-SHORT (10 days, below the shelf-life floor) in bin B
SELECT erp.receive('TAP90-VIT', 'TAP90-DC', 5, lot => 'L-LATE', expires_on => current_date + 200);
SELECT erp.receive('TAP90-VIT', 'TAP90-DC', 9, lot => 'L-EARLY', expires_on => current_date + 100);
SELECT erp.receive('TAP90-VIT', 'TAP90-DC', 4, lot => 'L-SHORT', expires_on => current_date + 10);
SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'A', 5, lot => 'L-LATE');
SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'B', 3, lot => 'L-EARLY');
SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'C', 5, lot => 'L-EARLY');
SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'B', 4, lot => 'L-SHORT');

-- the item's units per bin, lot and state: "bin/lot:state=qty ..." (outside bins as "-")
CREATE FUNCTION pg_temp.bins() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s/%s:%s=%s', coalesce(b.code, '-'), l.lot_code, q.state, q.qty), ' '
                      ORDER BY coalesce(b.code, '-'), l.lot_code, q.state)
      FROM (SELECT s.bin_id, s.lot_id, st.state, sum(st.qty) AS qty
              FROM erp.stock_slot s
             CROSS JOIN LATERAL (VALUES ('available'::erp.stock_state, s.available), ('reserved', s.reserved),
                                        ('picked', s.picked)) AS st(state, qty)
             WHERE s.item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP90-VIT')
               AND s.node_id = (SELECT node_id FROM erp.node WHERE code = 'TAP90-DC')
             GROUP BY 1, 2, 3 HAVING sum(st.qty) <> 0) q
      JOIN erp.lot l ON l.lot_id = q.lot_id
      LEFT JOIN erp.bin b ON b.bin_id = q.bin_id
$$;
CREATE FUNCTION pg_temp.books() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s', pg_temp.bins(), (SELECT count(*) FROM erp.stock_move),
                  (SELECT coalesce(sum(qty), 0) FROM erp.reservation))
$$;
-- an order's reservations: "lot=qty ..."
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(format('%s=%s', l.lot_code, r.qty - r.qty_picked), ' ' ORDER BY l.lot_code), 'none')
      FROM erp.reservation r JOIN erp.sales_order o ON o.order_id = r.order_id
      JOIN erp.lot l ON l.lot_id = r.lot_id
     WHERE o.external_ref = ref AND r.qty > r.qty_picked
$$;
CREATE FUNCTION pg_temp.oid(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT order_id FROM erp.sales_order WHERE external_ref = ref
$$;

SELECT is(pg_temp.bins(),
    '-/L-EARLY:available=1 A/L-LATE:available=5 B/L-EARLY:available=3 B/L-SHORT:available=4 C/L-EARLY:available=5',
    'the lots lie in bins: L-LATE in A, L-EARLY in B and C and 1 outside bins, L-SHORT in B');
SELECT is(erp.atp('TAP90-VIT', 'TAP90-DC'), 14::bigint,
    'ATP counts the lots in bins: 5 L-LATE + 9 L-EARLY; the 4 of L-SHORT have too little shelf life');

-- First expiry first, across bins ------------------------------------------------------
SELECT erp.capture_order('TAP90-WEB', 'TAP90-O1', '[{"sku": "TAP90-VIT", "qty": 6}]');
SELECT is((SELECT format('%s %s %s', lot, qty, line_status) FROM erp.allocate(pg_temp.oid('TAP90-O1'))),
    'L-EARLY 6 allocated', 'an order of 6 gets 6 of L-EARLY, the earliest expiry with enough shelf life, from bins');
SELECT is(pg_temp.bins(),
    '-/L-EARLY:reserved=1 A/L-LATE:available=5 B/L-EARLY:reserved=3 B/L-SHORT:available=4 C/L-EARLY:available=3 C/L-EARLY:reserved=2',
    'reserved where they lie: the 1 outside bins first, then the 3 of bin B, then 2 of bin C (bins in id order)');
SELECT is((SELECT string_agg(coalesce(b.code, '-') || '=' || m.qty, ' ' ORDER BY m.move_id)
             FROM erp.stock_move m LEFT JOIN erp.bin b ON b.bin_id = m.from_bin_id
            WHERE m.ref = 'order:' || pg_temp.oid('TAP90-O1') AND m.event = 'allocate'),
    '-=1 B=3 C=2', 'one ledger row per bin the take spread over, each naming its bin');

SELECT erp.capture_order('TAP90-WEB', 'TAP90-O2', '[{"sku": "TAP90-VIT", "qty": 5}]');
SELECT is((SELECT string_agg(format('%s %s', lot, qty), ', ' ORDER BY lot) FROM erp.allocate(pg_temp.oid('TAP90-O2'))),
    'L-EARLY 3, L-LATE 2', 'the next order of 5 takes the last 3 of L-EARLY (bin C), then 2 of L-LATE (bin A)');
SELECT is(pg_temp.held('TAP90-O2'), 'L-EARLY=3 L-LATE=2', 'its reservations name both lots');
SELECT is(erp.atp('TAP90-VIT', 'TAP90-DC'), 3::bigint, 'ATP: the 3 L-LATE units left in bin A');

-- the short-dated lot is never promised, in a bin or not
SELECT erp.capture_order('TAP90-WEB', 'TAP90-O3', '[{"sku": "TAP90-VIT", "qty": 5}]');
SELECT is((SELECT format('%s %s %s', qty, qty_short + qty_backordered, line_status) FROM erp.allocate(pg_temp.oid('TAP90-O3'))),
    '3 2 short', 'an order of 5 gets the 3 L-LATE units and is short of 2 (no backorders): the 4 of L-SHORT in bin B are skipped');
SELECT is(pg_temp.held('TAP90-O3'), 'L-LATE=3', 'none of L-SHORT is reserved');
SELECT is(pg_temp.bins(),
    '-/L-EARLY:reserved=1 A/L-LATE:reserved=5 B/L-EARLY:reserved=3 B/L-SHORT:available=4 C/L-EARLY:reserved=5',
    'every promisable unit is reserved in the bin it lies in; L-SHORT stays available');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty: bins, lots and reservations agree');

-- The wave's pick list names bin and lot ------------------------------------------------
SELECT erp.create_wave('TAP90-DC');
SELECT results_eq(
    $$SELECT seq, coalesce(bin, '-'), lot, qty, order_ids FROM erp.pick_list((SELECT max(wave_id) FROM erp.wave))$$,
    format($$VALUES (1, 'C', 'L-EARLY', 5::bigint, ARRAY[%1$s]::bigint[]),
                    (2, 'B', 'L-EARLY', 3::bigint, ARRAY[%1$s, %2$s]::bigint[]),
                    (3, 'A', 'L-LATE', 5::bigint, ARRAY[%2$s, %3$s]::bigint[]),
                    (4, '-', 'L-EARLY', 1::bigint, ARRAY[%2$s]::bigint[])$$,
           pg_temp.oid('TAP90-O1'), pg_temp.oid('TAP90-O2'), pg_temp.oid('TAP90-O3')),
    'the walk (C, B, A, then outside bins) names each bin and lot, the reserved lots only: L-SHORT is on no row');

-- Refused picks change nothing ------------------------------------------------------------
CREATE TEMP TABLE before90 AS SELECT pg_temp.books() AS b;
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', pg_temp.oid('TAP90-O1'), 'TAP90-VIT', 'A'), 'IE007',
    format('bin "A" at node "TAP90-DC" holds 0 units of sku "TAP90-VIT", 1 picked for order %s', pg_temp.oid('TAP90-O1')),
    'order 1 holds L-EARLY only: bin A (L-LATE) is a short bin for it (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', pg_temp.oid('TAP90-O2'), '(01)09501101530904(10)L-LATE', 'C'), 'IE007',
    format('bin "C" at node "TAP90-DC" holds 0 units of sku "TAP90-VIT", 1 picked for order %s', pg_temp.oid('TAP90-O2')),
    'L-LATE scanned in bin C, which holds L-EARLY only (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', pg_temp.oid('TAP90-O3'), '(01)09501101530904(10)L-EARLY', 'A'), 'IE007',
    format('lot "L-EARLY" scanned for sku "TAP90-VIT" is not the lot reserved for order %s', pg_temp.oid('TAP90-O3')),
    'a lot the order does not hold is refused (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', pg_temp.oid('TAP90-O3'), '(01)09501101530904(10)L-SHORT', 'B'), 'IE007',
    NULL, 'the short-dated lot is no lot of any order (IE007)');
SELECT throws_ok(format('SELECT erp.pick_bin(%s, %L, 7, %L)', pg_temp.oid('TAP90-O1'), 'TAP90-VIT', 'C'), 'IE004',
    format('cannot pick 7 of sku "TAP90-VIT" for order %s: 6 left to pick', pg_temp.oid('TAP90-O1')),
    'more than the order has left to pick (IE004)');
SELECT is(pg_temp.books(), (SELECT b FROM before90), 'after the refused picks the bins, the ledger and the reservations are unchanged');
SELECT is((SELECT string_agg(payload->>'bin', ' ' ORDER BY event_id) FROM erp.event
            WHERE kind = 'pick_exception' AND payload->>'count_bin' = 'true'
              AND coalesce(order_id, (payload->>'uncommitted_order_id')::bigint) IN (pg_temp.oid('TAP90-O1'), pg_temp.oid('TAP90-O2'))),
    'A C',
    'the two short bins were recorded for a count (A for order 1, C for order 2)');

-- Picking by bin and lot ------------------------------------------------------------------
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 5, %L)', pg_temp.oid('TAP90-O1'), 'TAP90-VIT', 'C'),
    'order 1 picks 5 of its L-EARLY from bin C, the first stop of the walk');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 1, %L)', pg_temp.oid('TAP90-O1'), 'TAP90-VIT', 'B'),
    'and its sixth from bin B');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 2, %L)', pg_temp.oid('TAP90-O2'), '(01)09501101530904(10)L-EARLY', 'B'),
    'order 2 scans lot L-EARLY in bin B: 2 picked');
SELECT lives_ok(format('SELECT erp.pick(%s, %L, 1)', pg_temp.oid('TAP90-O2'), '(01)09501101530904(10)L-EARLY'),
    'and its last L-EARLY unit outside bins (erp.pick without a bin)');
SELECT lives_ok(format('SELECT erp.pick_bin(%s, %L, 2, %L)', pg_temp.oid('TAP90-O2'), '(01)09501101530904(10)L-LATE', 'A'),
    'and its 2 of L-LATE from bin A');
SELECT is(erp.pick_wave((SELECT max(wave_id) FROM erp.wave), 'A', 'TAP90-VIT', 3), 3::bigint,
    'the wave picks order 3''s 3 units of L-LATE from bin A');
SELECT is(format('%s|%s|%s', pg_temp.held('TAP90-O1'), pg_temp.held('TAP90-O2'), pg_temp.held('TAP90-O3')),
    'none|none|none', 'every reserved unit is picked');
SELECT is(pg_temp.bins(), '-/L-EARLY:picked=9 -/L-LATE:picked=5 B/L-SHORT:available=4',
    'the picked units left their bins (a tote is no bin), each of its lot; L-SHORT is still in bin B');
SELECT is((SELECT string_agg(format('%s/%s=%s', coalesce(b.code, '-'), l.lot_code, m.qty), ' ' ORDER BY m.move_id)
             FROM erp.stock_move m LEFT JOIN erp.bin b ON b.bin_id = m.from_bin_id JOIN erp.lot l ON l.lot_id = m.lot_id
            WHERE m.ref = 'order:' || pg_temp.oid('TAP90-O1') AND m.event = 'pick'),
    'C/L-EARLY=5 B/L-EARLY=1', 'the ledger''s pick rows of order 1 name the bins and the lot');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty after the picks');

-- A partner sees and allocates at its own node only ----------------------------------------
CREATE ROLE t90_partner;
GRANT erp_operator, erp_reader TO t90_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't90_partner', node_id FROM erp.node WHERE code = 'TAP90-FLAT';
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 2 FROM erp.channel c, erp.node n WHERE c.code = 'TAP90-WEB' AND n.code = 'TAP90-FLAT';
SELECT erp.receive('TAP90-VIT', 'TAP90-DC', 2, lot => 'L-DC', expires_on => current_date + 300);
SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'A', 2, lot => 'L-DC');
CREATE TEMP TABLE before90p AS SELECT pg_temp.books() AS b;
SET LOCAL ROLE t90_partner;
SELECT is((SELECT count(*) FROM erp.bin_stock WHERE sku = 'TAP90-VIT'), 0::bigint,
    'a partner of another node sees none of the DC''s bins');
SELECT throws_ok($$SELECT erp.putaway('TAP90-VIT', 'TAP90-DC', 'B', 1, lot => 'L-DC')$$, 'IE009', NULL,
    'nor may it put the DC''s lot away (IE009)');
RESET ROLE;
SELECT is(pg_temp.books(), (SELECT b FROM before90p), 'the partner''s refusal changed nothing');

SELECT * FROM finish();
ROLLBACK;
