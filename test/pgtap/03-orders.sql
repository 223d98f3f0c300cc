-- 03-orders.sql: the contract of the orders engine (SPEC.md sections 1, 4, 5 and 9):
-- the signatures of every order function, the order and line statuses, what
-- erp.allocate reserves (rank, one node, split, inactive nodes, ring-fence,
-- kits, backorder or short), idempotent capture, allocate_pending, pick by sku
-- and GTIN, short_pick, pack, ship and cancel, every refusal (IE002, IE003,
-- IE004, IE007, IE010) and that a refused call changes nothing, the events the
-- engine records, and that an erp_operator can run it all.
--
-- The database is shared with the other pgTAP files: all master data here uses
-- codes starting with TAP03- and everything is rolled back at the end.  One
-- thing outlives the ROLLBACK by design: the pick_exception event of the wrong
-- scan is committed by a background worker (it must survive the refusal), so a
-- row with payload {"scan": "TAP03-HOOD", ...} stays in erp.event.
BEGIN;
SELECT plan(121);

-- Signatures -----------------------------------------------------------------

SELECT has_function('erp', 'capture_order', ARRAY['text', 'text', 'jsonb', 'jsonb', 'integer', 'text', 'bigint'],
    'erp.capture_order(channel, external_ref, lines, ship_to, priority) exists, or no channel could hand over an order');
SELECT function_returns('erp', 'capture_order', ARRAY['text', 'text', 'jsonb', 'jsonb', 'integer', 'text', 'bigint'], 'bigint',
    'erp.capture_order returns the order id as bigint, or connectors could not refer to the order they created');
SELECT has_function('erp', 'allocate', ARRAY['bigint', 'text'],
    'erp.allocate(order_id) exists, or no order could ever be promised stock');
SELECT function_returns('erp', 'allocate', ARRAY['bigint', 'text'], 'setof record',
    'erp.allocate returns a set of rows (line_no, sku, node, lot, qty, ...), or callers could not see what was reserved where');
SELECT results_eq($$SELECT pg_catalog.pg_get_function_result('erp.allocate(bigint, text)'::regprocedure)$$,
    $$VALUES ('TABLE(line_no integer, sku text, node text, lot text, qty bigint, line_status erp.line_status, qty_backordered bigint, qty_short bigint, order_status erp.order_status)')$$,
    'erp.allocate returns exactly TABLE(line_no, sku, node, lot, qty, line_status, qty_backordered, qty_short, order_status), or warehouse apps reading its rows would break');
SELECT has_function('erp', 'allocate_pending', ARRAY['integer', 'text'],
    'erp.allocate_pending(max_orders) exists, or backorders would never be served when stock arrives');
SELECT function_returns('erp', 'allocate_pending', ARRAY['integer', 'text'], 'integer',
    'erp.allocate_pending returns how many orders received stock as integer, or the caller could not tell whether it did anything');
SELECT has_function('erp', 'atp', ARRAY['text', 'text', 'text', 'timestamp with time zone'],
    'erp.atp(sku, node, channel, at) exists, or channels could not publish what they may sell');
SELECT function_returns('erp', 'atp', ARRAY['text', 'text', 'text', 'timestamp with time zone'], 'bigint',
    'erp.atp returns bigint units, or feeds would receive something other than whole units');
SELECT has_function('erp', 'cancel_order', ARRAY['bigint', 'text'],
    'erp.cancel_order(order_id) exists, or a cancelled order would keep its stock locked up');
SELECT function_returns('erp', 'cancel_order', ARRAY['bigint', 'text'], 'void',
    'erp.cancel_order returns void, as documented');
SELECT has_function('erp', 'pick', ARRAY['bigint', 'text', 'bigint', 'text'],
    'erp.pick(order_id, scan, qty) exists, or pickers could not confirm what they took off the shelf');
SELECT function_returns('erp', 'pick', ARRAY['bigint', 'text', 'bigint', 'text'], 'void',
    'erp.pick returns void, as documented');
SELECT has_function('erp', 'short_pick', ARRAY['bigint', 'text', 'bigint', 'text'],
    'erp.short_pick(order_id, sku, missing) exists, or a missing unit would block the order forever');
SELECT function_returns('erp', 'short_pick', ARRAY['bigint', 'text', 'bigint', 'text'], 'void',
    'erp.short_pick returns void, as documented');
SELECT has_function('erp', 'pack', ARRAY['bigint', 'text'],
    'erp.pack(order_id) exists, or picked orders could never be packed');
SELECT function_returns('erp', 'pack', ARRAY['bigint', 'text'], 'void',
    'erp.pack returns void, as documented');
SELECT has_function('erp', 'ship', ARRAY['bigint', 'text', 'text', 'text'],
    'erp.ship(order_id, carrier, tracking) exists, or nothing could ever leave the warehouse');
SELECT function_returns('erp', 'ship', ARRAY['bigint', 'text', 'text', 'text'], 'bigint',
    'erp.ship returns the shipment id as bigint, or the carrier label could not be tied to the shipment');
SELECT enum_has_labels('erp', 'order_status',
    ARRAY['open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled'],
    'erp.order_status has exactly the documented statuses in order, or clients would misread where an order stands');
SELECT enum_has_labels('erp', 'line_status',
    ARRAY['open', 'allocated', 'partially_allocated', 'backordered', 'picking', 'packed', 'shipped', 'cancelled', 'short'],
    'erp.line_status adds short to the order statuses, or an unfillable line could not be told from a waiting one');

-- Master data of this file ------------------------------------------------------
-- TAP03-WEB sells from A (rank 1) and B (rank 2, 2 tees of safety stock) and
-- from X (rank 0 and plenty of stock, but inactive: never used).  TAP03-B2B
-- sells from A and has 3 scarves ring-fenced.

INSERT INTO erp.node (code, kind, latitude, longitude, active) VALUES
    ('TAP03-A', 'warehouse', 50.1, 8.7, true),
    ('TAP03-B', 'warehouse', 52.5, 13.4, true),
    ('TAP03-X', 'warehouse', 50.1, 8.7, false);
INSERT INTO erp.channel (code, kind) VALUES ('TAP03-WEB', 'storefront'), ('TAP03-B2B', 'wholesale');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('TAP03-WEB', 'TAP03-A', 1), ('TAP03-WEB', 'TAP03-B', 2), ('TAP03-WEB', 'TAP03-X', 0),
               ('TAP03-B2B', 'TAP03-A', 1)) AS v(channel, node, rank)
  JOIN erp.channel c ON c.code = v.channel JOIN erp.node n ON n.code = v.node;
INSERT INTO erp.item (sku, gtin, title, unit_price) VALUES ('TAP03-TEE', '5901234123457', 'tap tee', 15.00);
INSERT INTO erp.item (sku, title, unit_price) VALUES ('TAP03-CAP', 'tap cap', 8.00), ('TAP03-SCARF', 'tap scarf', 20.00),
    ('TAP03-KIT', 'tap kit: a tee and two caps', 30.00);
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES ('TAP03-HOOD', 'tap hoodie', 40.00, true);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, v.qty
  FROM (VALUES ('TAP03-TEE', 1), ('TAP03-CAP', 2)) AS v(sku, qty)
  JOIN erp.item k ON k.sku = 'TAP03-KIT' JOIN erp.item c ON c.sku = v.sku;
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 2 FROM erp.item i, erp.node n WHERE i.sku = 'TAP03-TEE' AND n.code = 'TAP03-B';
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 3 FROM erp.item i, erp.channel c WHERE i.sku = 'TAP03-SCARF' AND c.code = 'TAP03-B2B';

SELECT lives_ok($$SELECT erp.receive('TAP03-TEE', 'TAP03-A', 6), erp.receive('TAP03-TEE', 'TAP03-B', 10),
                          erp.receive('TAP03-TEE', 'TAP03-X', 50), erp.receive('TAP03-CAP', 'TAP03-A', 4),
                          erp.receive('TAP03-CAP', 'TAP03-B', 1), erp.receive('TAP03-HOOD', 'TAP03-A', 1),
                          erp.receive('TAP03-SCARF', 'TAP03-A', 5)$$,
    'the opening stock of this file is received');

-- Everything an order function can change, for this file's data.  A refused
-- call must leave it exactly as it was (events optional: see IE007).
CREATE FUNCTION pg_temp.picture(with_events boolean DEFAULT true)
    RETURNS TABLE (what text, k1 text, k2 text, k3 text, k4 text, v1 bigint, v2 bigint, v3 bigint)
    LANGUAGE sql AS $$
    SELECT * FROM (
        SELECT 'balance', i.sku, n.code, b.state::text, NULL, sum(b.qty)::bigint, NULL::bigint, NULL::bigint
          FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
         WHERE i.sku LIKE 'TAP03-%' GROUP BY 2, 3, 4
        UNION ALL
        SELECT 'order', c.code, o.external_ref, o.status::text, o.priority::text, NULL, NULL, NULL
          FROM erp.sales_order o JOIN erp.channel c ON c.channel_id = o.channel_id WHERE c.code LIKE 'TAP03-%'
        UNION ALL
        SELECT 'line', o.external_ref, l.line_no::text, i.sku, l.status::text, l.qty_allocated, l.qty_backordered, l.qty_shipped
          FROM erp.order_line l JOIN erp.sales_order o ON o.order_id = l.order_id
          JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP03-%'
        UNION ALL
        SELECT 'held', o.external_ref, r.line_no::text, i.sku, n.code, r.qty, r.qty_picked, r.qty_packed
          FROM erp.reservation r JOIN erp.sales_order o ON o.order_id = r.order_id
          JOIN erp.item i ON i.item_id = r.item_id JOIN erp.node n ON n.node_id = r.node_id WHERE i.sku LIKE 'TAP03-%'
        UNION ALL
        SELECT 'ledger', NULL, NULL, NULL, NULL, count(*), NULL, NULL
          FROM erp.stock_move m JOIN erp.item i ON i.item_id = m.item_id WHERE i.sku LIKE 'TAP03-%'
        UNION ALL
        SELECT 'shipments', NULL, NULL, NULL, NULL, count(*), NULL, NULL
          FROM erp.shipment s JOIN erp.sales_order o ON o.order_id = s.order_id
          JOIN erp.channel c ON c.channel_id = o.channel_id WHERE c.code LIKE 'TAP03-%'
        UNION ALL
        SELECT 'events', NULL, NULL, NULL, NULL, count(*), NULL, NULL
          FROM erp.event e JOIN erp.sales_order o ON o.order_id = e.order_id
          JOIN erp.channel c ON c.channel_id = o.channel_id WHERE c.code LIKE 'TAP03-%'
        HAVING with_events
    ) p
    ORDER BY 1, 2, 3, 4, 5
$$;
CREATE TEMP TABLE tap03_snapshot AS SELECT * FROM pg_temp.picture() WITH NO DATA;
CREATE FUNCTION pg_temp.snapshot() RETURNS void LANGUAGE sql AS $$
    DELETE FROM tap03_snapshot;
    INSERT INTO tap03_snapshot SELECT * FROM pg_temp.picture();
$$;
CREATE FUNCTION pg_temp.unchanged(description text, with_events boolean DEFAULT true) RETURNS text LANGUAGE sql AS $$
    SELECT results_eq(format('SELECT * FROM pg_temp.picture(%L)', with_events),
                      format('SELECT * FROM tap03_snapshot WHERE %L OR what <> ''events'' ORDER BY 1, 2, 3, 4, 5', with_events),
                      description);
$$;
-- An order's id from its reference; a balance summed over its slots.
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT o.order_id FROM erp.sales_order o JOIN erp.channel c ON c.channel_id = o.channel_id
     WHERE o.external_ref = ref AND c.code LIKE 'TAP03-%'
$$;
CREATE FUNCTION pg_temp.bal(p_sku text, p_node text, p_state erp.stock_state) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(b.qty), 0)::bigint FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
     WHERE i.sku = p_sku AND n.code = p_node AND b.state = p_state
$$;
CREATE FUNCTION pg_temp.status(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT status::text FROM erp.sales_order WHERE order_id = pg_temp.ord(ref)
$$;

-- ATP ------------------------------------------------------------------------------

SELECT is(erp.atp('TAP03-TEE', 'TAP03-B', 'TAP03-WEB'), 8::bigint,
    'ATP of a node is available less safety stock (10 - 2), or safety stock would be sold');
SELECT is(erp.atp('TAP03-TEE', NULL, 'TAP03-WEB'), 14::bigint,
    'a channel''s ATP sums its active nodes only (6 + 8; the inactive node''s 50 are left out), or a closed site''s stock would be promised');
SELECT is(erp.atp('TAP03-TEE', 'TAP03-B', 'TAP03-B2B'), 0::bigint,
    'a channel sees nothing at a node it does not sell from, or it would promise stock it can never ship');
SELECT is(erp.atp('TAP03-SCARF', 'TAP03-A', 'TAP03-WEB'), 2::bigint,
    'another channel''s ring-fence is kept back from ATP (5 - 3), or the wholesale contract could be sold to the web');
SELECT is(erp.atp('TAP03-SCARF', 'TAP03-A', 'TAP03-B2B'), 5::bigint,
    'a channel''s own ring-fence counts in its ATP, or the fenced units could not be sold at all');
SELECT is(erp.atp('TAP03-KIT', 'TAP03-A', 'TAP03-WEB'), 2::bigint,
    'a kit''s ATP at a node is its scarcest component''s (6 tees, 4 caps / 2), or kits would be promised without parts');
SELECT is(erp.atp('TAP03-KIT', NULL, 'TAP03-WEB'), 2::bigint,
    'a kit''s ATP over nodes sums whole kits per node (A 2, B 0: its one cap makes no kit), or a kit would be promised from parts at two nodes');

-- Capture --------------------------------------------------------------------------

SELECT isnt(erp.capture_order('TAP03-WEB', 'O1', '[{"sku": "TAP03-TEE", "qty": 4}]'), NULL,
    'capture_order records an order and returns its id, or a storefront could not hand over orders');
SELECT is(erp.capture_order('TAP03-WEB', 'O1', '[{"sku": "TAP03-TEE", "qty": 4}]'), pg_temp.ord('O1'),
    'a redelivered (channel, external_ref) with the same content returns the same order id, or a webhook retry would duplicate the order');
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', 'O1', '[{"sku": "TAP03-CAP", "qty": 9}]')$$, 'IE010', NULL,
    'a redelivered (channel, external_ref) with other lines is refused (IE010), or a changed order would be silently dropped');
SELECT results_eq($$SELECT i.sku, l.qty, l.unit_price, l.status::text FROM erp.order_line l
                     JOIN erp.item i ON i.item_id = l.item_id WHERE l.order_id = pg_temp.ord('O1')$$,
    $$VALUES ('TAP03-TEE', 4::bigint, 15.00::numeric(14,2), 'open')$$,
    'the redelivery with other lines changed nothing, the price defaulted to the item''s and the line is open, or retries could rewrite orders');
SELECT is(pg_temp.status('O1'), 'open', 'a captured order is open until it is allocated');

-- Allocation ---------------------------------------------------------------------------

-- O1: 4 tees; A (rank 1) can fill it, so neither the inactive X nor B is used
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(pg_temp.ord('O1'))$$,
    $$VALUES (1, 'TAP03-TEE', 'TAP03-A', NULL::text, 4::bigint)$$,
    'allocate reserves at the best-ranked active node that fills the order, or orders would ship from closed or second-choice sites');
SELECT is(pg_temp.status('O1'), 'allocated', 'a fully reserved order is allocated');
SELECT is(pg_temp.bal('TAP03-TEE', 'TAP03-A', 'reserved'), 4::bigint,
    'the 4 tees are reserved at A, or the ledger would not show what is promised');
-- O2: 2 kits need 2 tees and 4 caps at one node: A has exactly that
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(erp.capture_order('TAP03-WEB', 'O2', '[{"sku": "TAP03-KIT", "qty": 2}]'))
                   ORDER BY sku$$,
    $$VALUES (1, 'TAP03-CAP', 'TAP03-A', NULL::text, 4::bigint), (1, 'TAP03-TEE', 'TAP03-A', NULL::text, 2::bigint)$$,
    'a kit line reserves its components together at one node, or a gift box would be sent in pieces');
-- O3: 6 tees; A has none left, B can fill it (8 above safety stock)
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(erp.capture_order('TAP03-WEB', 'O3', '[{"sku": "TAP03-TEE", "qty": 6}]'))$$,
    $$VALUES (1, 'TAP03-TEE', 'TAP03-B', NULL::text, 6::bigint)$$,
    'when the best rank cannot fill the order, one node that can is used, or the rank-1 node''s zero would stop the order');
-- O4: 3 tees and 3 hoodies: no node has both; B fills 2 tees, A the one hoodie
-- (rows come in the order the balances are locked, node then item: compare as a bag)
SELECT bag_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(erp.capture_order('TAP03-WEB', 'O4',
                        '[{"sku": "TAP03-TEE", "qty": 3}, {"sku": "TAP03-HOOD", "qty": 3}]'))$$,
    $$VALUES (1, 'TAP03-TEE', 'TAP03-B', NULL::text, 2::bigint), (2, 'TAP03-HOOD', 'TAP03-A', NULL::text, 1::bigint)$$,
    'an order no node can fill is split, the node filling most units first, never below safety stock, or orders would oversell B''s last 2 tees');
SELECT results_eq($$SELECT l.line_no, l.qty_allocated, l.qty_backordered, l.status::text FROM erp.order_line l
                     WHERE l.order_id = pg_temp.ord('O4') ORDER BY l.line_no$$,
    $$VALUES (1, 2::bigint, 0::bigint, 'short'), (2, 1::bigint, 2::bigint, 'backordered')$$,
    'the unfilled tee (no backorders) is short and the unfilled hoodies are backordered, or customers would wait for stock that is never coming');
SELECT is(pg_temp.status('O4'), 'partially_allocated', 'an order holding part of its units is partially_allocated');
SELECT bag_eq($$SELECT e.kind, i.sku, n.code, e.payload FROM erp.event e
                     JOIN erp.item i ON i.item_id = e.item_id LEFT JOIN erp.node n ON n.node_id = e.node_id
                    WHERE e.order_id = pg_temp.ord('O4')$$,
    $$VALUES ('stockout', 'TAP03-TEE', 'TAP03-B', '{"channel": "TAP03-WEB", "sku": "TAP03-TEE", "node": "TAP03-B"}'::jsonb),
             ('stockout', 'TAP03-HOOD', 'TAP03-A', '{"channel": "TAP03-WEB", "sku": "TAP03-HOOD", "node": "TAP03-A"}'::jsonb),
             ('backorder_created', 'TAP03-HOOD', NULL, '{"channel": "TAP03-WEB", "sku": "TAP03-HOOD", "line_no": 2, "qty": 2}'::jsonb)$$,
    'taking a node''s last promisable units records stockout, a growing backorder records backorder_created, or buyers and feeds would not be told');
-- O5: 5 scarves for the web: 3 are fenced for wholesale
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(erp.capture_order('TAP03-WEB', 'O5', '[{"sku": "TAP03-SCARF", "qty": 5}]'))$$,
    $$VALUES (1, 'TAP03-SCARF', 'TAP03-A', NULL::text, 2::bigint)$$,
    'allocation never takes another channel''s ring-fence, or the wholesale contract could be sold off to the web');
-- W1: the wholesale channel takes its own fenced 3
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(erp.capture_order('TAP03-B2B', 'W1', '[{"sku": "TAP03-SCARF", "qty": 3}]'))$$,
    $$VALUES (1, 'TAP03-SCARF', 'TAP03-A', NULL::text, 3::bigint)$$,
    'a channel can allocate its own ring-fenced units, or fenced stock could never be sold');

-- allocate_pending: hoodies arrive at B; O4 waits for 2 -------------------------------------

SELECT lives_ok($$SELECT erp.receive('TAP03-HOOD', 'TAP03-B', 5)$$, '5 hoodies arrive at B');
SELECT throws_ok($$SELECT erp.allocate_pending(-1)$$, 'IE004', NULL,
    'a negative max_orders is refused with IE004, or a typo could be read as no limit');
SELECT is(erp.allocate_pending(0), 0, 'allocate_pending(0) serves no order, or max_orders would not limit a run');
SELECT is(pg_temp.bal('TAP03-HOOD', 'TAP03-B', 'reserved'), 0::bigint, 'allocate_pending(0) reserved nothing');
SELECT is(erp.allocate_pending(), 1,
    'allocate_pending serves the waiting order once stock arrives, or backorders would wait forever');
SELECT results_eq($$SELECT l.line_no, l.qty_allocated, l.qty_backordered, l.status::text FROM erp.order_line l
                     WHERE l.order_id = pg_temp.ord('O4') ORDER BY l.line_no$$,
    $$VALUES (1, 2::bigint, 0::bigint, 'short'), (2, 3::bigint, 0::bigint, 'allocated')$$,
    'the backordered hoodies are now allocated (1 at A, 2 at B), or received stock would not reach waiting customers');
SELECT is(pg_temp.bal('TAP03-HOOD', 'TAP03-B', 'reserved'), 2::bigint,
    'exactly the 2 backordered hoodies were reserved at B, or allocate_pending would over-reserve');

-- Pick, pack, ship ------------------------------------------------------------------------

SELECT lives_ok($$SELECT erp.pick(pg_temp.ord('O1'), 'TAP03-TEE', 2)$$, 'pick by sku confirms 2 tees');
SELECT lives_ok($$SELECT erp.pick(pg_temp.ord('O1'), '5901234123457')$$, 'pick by the 13-digit GTIN confirms a tee');
SELECT lives_ok($$SELECT erp.pick(pg_temp.ord('O1'), '05901234123457')$$, 'pick by the 14-digit GTIN confirms a tee');
SELECT is(pg_temp.bal('TAP03-TEE', 'TAP03-A', 'picked'), 4::bigint,
    'the four scans (sku, GTIN-13, GTIN-14) picked 4 tees, or barcode scans would not count');
SELECT is(pg_temp.status('O1'), 'picking', 'an order with picked units is picking');
SELECT lives_ok($$SELECT erp.pack(pg_temp.ord('O1'))$$, 'a fully picked order can be packed');
SELECT is(pg_temp.status('O1'), 'packed', 'a packed order is packed');
SELECT isnt(erp.ship(pg_temp.ord('O1'), 'DHL', 'TAP03-TRACK-1'), NULL, 'a packed order ships and gets a shipment id');
SELECT is(pg_temp.status('O1'), 'shipped', 'a shipped order is shipped');
SELECT results_eq($$SELECT l.qty_shipped, l.status::text FROM erp.order_line l WHERE l.order_id = pg_temp.ord('O1')$$,
    $$VALUES (4::bigint, 'shipped')$$, 'the line records 4 shipped, or returns could not know what was shipped');
SELECT is(pg_temp.bal('TAP03-TEE', 'TAP03-A', 'packed') + pg_temp.bal('TAP03-TEE', 'TAP03-A', 'reserved'), 2::bigint,
    'the shipped tees left the books (only the kit''s 2 remain reserved at A), or shipped stock would still be counted');

-- short_pick: O3 holds 6 tees at B; the picker finds 1 of them and 2 are missing ---------

SELECT lives_ok($$SELECT erp.receive('TAP03-TEE', 'TAP03-A', 5)$$, '5 tees arrive at A, somewhere else to take the missing ones from');
SELECT lives_ok($$SELECT erp.pick(pg_temp.ord('O3'), 'TAP03-TEE')$$, 'one tee of O3 is picked');
SELECT lives_ok($$SELECT erp.short_pick(pg_temp.ord('O3'), 'TAP03-TEE', 2)$$,
    'short_pick accepts 2 missing tees, or a missing unit would block the order');
SELECT results_eq($$SELECT n.code, r.qty, r.qty_picked FROM erp.reservation r JOIN erp.node n ON n.node_id = r.node_id
                     WHERE r.order_id = pg_temp.ord('O3') ORDER BY n.code$$,
    $$VALUES ('TAP03-A', 2::bigint, 0::bigint), ('TAP03-B', 4::bigint, 1::bigint)$$,
    'the 2 missing tees are re-allocated at another node (A), never at the node that was short, or the order would be sent back to an empty shelf');
SELECT results_eq($$SELECT m.event, m.from_state::text, m.qty FROM erp.stock_move m
                     WHERE m.ref = 'order:' || pg_temp.ord('O3') AND m.to_state IS NULL$$,
    $$VALUES ('adjust', 'reserved', 2::bigint)$$,
    'the missing units leave the books as an adjust (a variance), or the books would keep units nobody can find');
SELECT results_eq($$SELECT e.payload FROM erp.event e WHERE e.order_id = pg_temp.ord('O3') AND e.kind = 'pick_exception'$$,
    $$VALUES ('{"sku": "TAP03-TEE", "short": 2, "lines": [{"line_no": 1, "sku": "TAP03-TEE", "qty": 6, "qty_picked": 1}]}'::jsonb)$$,
    'the short pick is recorded as a pick_exception with {"short": 2}, or nobody would investigate the shrinkage');
SELECT is(pg_temp.status('O3'), 'picking', 'O3 is still picking, with 5 units left to pick');

-- Every refusal changes nothing -------------------------------------------------------------

SELECT pg_temp.snapshot();

-- IE003: unknown sku, channel, order
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', 'O9', '[{"sku": "TAP03-NOPE", "qty": 1}]')$$,
    'IE003', 'unknown sku "TAP03-NOPE"',
    'an order line for an unknown sku is refused with IE003 naming it, or orders could be taken for nothing');
SELECT pg_temp.unchanged('the refused unknown-sku order left no order or line behind, or a half order would exist');
SELECT throws_ok($$SELECT erp.capture_order('TAP03-NOPE', 'O9', '[{"sku": "TAP03-TEE", "qty": 1}]')$$,
    'IE003', 'unknown channel "TAP03-NOPE"',
    'an order from an unknown channel is refused with IE003 naming it, or orders nobody can fulfil would pile up');
SELECT pg_temp.unchanged('the refused unknown-channel order changed nothing');
SELECT throws_ok($$SELECT * FROM erp.allocate(-1)$$, 'IE003', 'unknown order -1',
    'allocating an unknown order is refused with IE003, or a typo would silently do nothing');
SELECT pg_temp.unchanged('the refused allocation of an unknown order changed nothing');
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', NULL, '[{"sku": "TAP03-TEE", "qty": 1}]')$$, 'IE003', NULL,
    'an order without external_ref is refused with IE003, or redeliveries could not be recognised');
SELECT pg_temp.unchanged('the refused order without reference changed nothing');

-- IE004: zero quantity
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', 'O9', '[{"sku": "TAP03-TEE", "qty": 0}]')$$,
    'IE004', 'invalid quantity 0 for sku "TAP03-TEE"',
    'an order line of zero units is refused with IE004, or empty lines would be allocated and shipped');
SELECT pg_temp.unchanged('the refused zero-quantity order changed nothing');
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', 'O9', '[{"sku": "TAP03-TEE", "qty": 2.5}]')$$, 'IE004', NULL,
    'a fractional quantity is refused with IE004, or half a tee could be ordered');
SELECT pg_temp.unchanged('the refused fractional order changed nothing');
SELECT throws_ok($$SELECT erp.capture_order('TAP03-WEB', 'O9', '[]')$$, 'IE004', NULL,
    'an order without lines is refused with IE004, or empty orders would sit in every queue');
SELECT pg_temp.unchanged('the refused empty order changed nothing');
SELECT throws_ok($$SELECT erp.pick(pg_temp.ord('O3'), 'TAP03-TEE', 6)$$, 'IE004',
    'cannot pick 6 of sku "TAP03-TEE" for order ' || pg_temp.ord('O3') || ': 5 left to pick',
    'picking more than is left to pick is refused with IE004 naming the numbers, or picked could exceed reserved');
SELECT pg_temp.unchanged('the refused over-pick changed nothing');

-- IE007: a scan not held for the order is refused, and recorded all the same
SELECT throws_ok($$SELECT erp.pick(pg_temp.ord('O3'), 'TAP03-HOOD')$$, 'IE007', NULL,
    'picking an item the order does not hold is refused with IE007, or the wrong item would be shipped');
SELECT pg_temp.unchanged('the refused wrong scan moved no stock and changed no order', false);
-- (the order and the item were created in this transaction, which rolls back:
-- the event keeps their ids in the payload, never in its columns)
SELECT results_eq(format($$SELECT e.order_id, e.item_id, e.payload - 'lines' FROM erp.event e
                            WHERE (e.payload->>'uncommitted_order_id')::bigint = %s
                              AND e.kind = 'pick_exception' AND e.payload ? 'scan'$$, pg_temp.ord('O3')),
    format($$VALUES (NULL::bigint, NULL::bigint, '{"scan": "TAP03-HOOD", "qty": 1, "uncommitted_order_id": %s, "uncommitted_item_id": %s, "uncommitted_node_id": %s}'::jsonb)$$,
           pg_temp.ord('O3'), (SELECT item_id FROM erp.item WHERE sku = 'TAP03-HOOD'),
           (SELECT min(node_id) FROM erp.reservation WHERE order_id = pg_temp.ord('O3'))),
    'the wrong scan is kept as a pick_exception event although the call failed, or nobody would learn of mis-picks');

-- IE010: steps the status does not allow
SELECT pg_temp.snapshot();
SELECT throws_ok($$SELECT erp.ship(pg_temp.ord('O4'))$$, 'IE010',
    'cannot ship order ' || pg_temp.ord('O4') || ': it is partially_allocated',
    'shipping an unpacked order is refused with IE010, or unpicked stock would leave the books');
SELECT pg_temp.unchanged('the refused shipment changed nothing and created no shipment');
SELECT throws_ok($$SELECT erp.pack(pg_temp.ord('O3'))$$, 'IE010',
    'cannot pack order ' || pg_temp.ord('O3') || ': 5 reserved units are not picked yet',
    'packing an order with unpicked units is refused with IE010, or a parcel would leave without them');
SELECT pg_temp.unchanged('the refused pack changed nothing');
SELECT throws_ok($$SELECT erp.pack(pg_temp.ord('O4'))$$, 'IE010', NULL,
    'packing an order nobody started picking is refused with IE010');
SELECT pg_temp.unchanged('the refused pack of an unpicked order changed nothing');
SELECT throws_ok($$SELECT erp.cancel_order(pg_temp.ord('O1'))$$, 'IE010',
    'cannot cancel order ' || pg_temp.ord('O1') || ': it is shipped',
    'cancelling a shipped order is refused with IE010, or shipped units would be put back on the shelf');
SELECT pg_temp.unchanged('the refused cancel of a shipped order changed nothing');
SELECT results_eq($$SELECT line_no, sku, node, qty, line_status::text, order_status::text FROM erp.allocate(pg_temp.ord('O1'))$$,
    $$VALUES (1, 'TAP03-TEE', NULL::text, 0::bigint, 'shipped', 'shipped')$$,
    'allocating a shipped order reserves nothing and says it is shipped (issue 11: no IE010, a redelivered webhook must not fail), or it could reserve stock it will never ship');
SELECT pg_temp.unchanged('the allocation of a shipped order changed nothing');

-- IE002: the engine's events are not for erp.move
SELECT throws_ok($$SELECT erp.move('TAP03-TEE', 'TAP03-A', 1, 'available', 'reserved', 'allocate')$$, 'IE002',
    'event "allocate" is recorded only by the orders functions',
    'erp.move with event allocate is refused with IE002, or reservations could exist without an order');
SELECT pg_temp.unchanged('the refused generic allocate changed nothing');
SELECT throws_ok($$SELECT erp.move('TAP03-TEE', 'TAP03-B', 1, 'reserved', 'available', 'release')$$, 'IE002', NULL,
    'erp.move with event release is refused with IE002, or an order''s stock could be freed behind its back');
SELECT pg_temp.unchanged('the refused generic release changed nothing');

-- Cancel: O3 releases its reserved tees and puts back the picked one -----------------------

SELECT lives_ok($$SELECT erp.cancel_order(pg_temp.ord('O3'))$$, 'an order being picked can be cancelled');
SELECT is(pg_temp.status('O3'), 'cancelled', 'the cancelled order is cancelled');
SELECT is_empty($$SELECT * FROM erp.reservation WHERE order_id = pg_temp.ord('O3')$$,
    'a cancelled order holds nothing, or its stock would stay locked up');
SELECT bag_eq($$SELECT m.event, n.code, m.qty FROM erp.stock_move m JOIN erp.node n ON n.node_id = m.from_node_id
                     WHERE m.ref = 'order:' || pg_temp.ord('O3') AND m.to_state = 'available'$$,
    $$VALUES ('release', 'TAP03-B', 3::bigint), ('putback', 'TAP03-B', 1::bigint), ('release', 'TAP03-A', 2::bigint)$$,
    'cancel releases reserved units and puts picked ones back, at the nodes that held them, or stock would be lost');
SELECT is(pg_temp.bal('TAP03-TEE', 'TAP03-B', 'available'), 6::bigint,
    'B has its 6 tees available again (10 - 2 for O4 - 2 missing), or cancelled stock could not be sold again');

-- An operator runs the engine -----------------------------------------------------------------

SET LOCAL ROLE erp_operator;
SELECT lives_ok($$SELECT erp.capture_order('TAP03-WEB', 'OP1', '[{"sku": "TAP03-TEE", "qty": 1}]', '{"lat": 50.1, "lon": 8.7}', 3)$$,
    'an erp_operator member can capture an order');
SELECT results_eq($$SELECT line_no, sku, node, lot, qty FROM erp.allocate(pg_temp.ord('OP1'))$$,
    $$VALUES (1, 'TAP03-TEE', 'TAP03-A', NULL::text, 1::bigint)$$,
    'an erp_operator member can allocate an order, or warehouse apps could not promise stock');
SELECT lives_ok($$SELECT erp.pick(pg_temp.ord('OP1'), '5901234123457')$$, 'an erp_operator member can pick');
SELECT lives_ok($$SELECT erp.pack(pg_temp.ord('OP1'))$$, 'an erp_operator member can pack');
SELECT lives_ok($$SELECT erp.ship(pg_temp.ord('OP1'), 'UPS', 'TAP03-TRACK-2')$$, 'an erp_operator member can ship');
SELECT lives_ok($$SELECT erp.cancel_order(pg_temp.ord('O5'))$$, 'an erp_operator member can cancel an order');
SELECT lives_ok($$SELECT erp.allocate_pending(0)$$, 'an erp_operator member can run allocate_pending');
SELECT is(erp.atp('TAP03-SCARF', 'TAP03-A', 'TAP03-WEB'), 2::bigint,
    'an erp_operator member can ask ATP, and sees the 2 scarves O5 released');
SELECT throws_ok($$UPDATE erp.sales_order SET status = 'shipped' WHERE external_ref = 'OP1'$$, '42501', NULL,
    'an erp_operator cannot UPDATE orders directly, or statuses could be faked around the engine');
SELECT throws_ok($$DELETE FROM erp.reservation$$, '42501', NULL,
    'an erp_operator cannot DELETE reservations directly, or reserved stock would lose its order');
RESET ROLE;
SELECT is(pg_temp.status('OP1'), 'shipped', 'the operator''s order went all the way to shipped');
SELECT is((SELECT string_agg(DISTINCT m.actor::text, ',') FROM erp.stock_move m WHERE m.ref = 'order:' || pg_temp.ord('OP1')),
    'erp_operator',
    'the operator''s allocate, pick, pack and ship moves record actor erp_operator, or the audit trail could not say who did them');

-- The books balance ---------------------------------------------------------------------------

SELECT is_empty('SELECT * FROM erp.verify()',
    'erp.verify() finds nothing after the orders'' life cycles, or balances, reservations and order lines have drifted apart');

SELECT * FROM finish();
ROLLBACK;
