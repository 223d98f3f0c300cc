-- 63_valuation_follow.sql: the costs issue 14 left open, hand-computed to the cent.
--   A. Refurbishment adds cost (erp.add_refurbishment_cost): average raises the node's
--      average, fifo the newest open layer (where the returned unit came back).
--   B. A landed cost added after units were transferred to another node and sold at
--      both: the units at the new node revalue there, and the landed cost of the units
--      already sold is COGS of the orders that shipped them, so erp.kpi_margin assigns
--      it to the channel that sold them (average and fifo).
--   C. The adversarial pass: amounts beyond numeric(14,2), zero, negative, not in cents,
--      NaN; an operator without erp_admin; a partner at another node (calling, and
--      reading the cost views); a cancelled or unknown purchase order; kind, basis and
--      ref strings of 100,000 characters; after every refusal nothing changed.
--
-- Codes start with TAP63-; everything is rolled back at the end.
BEGIN;
SELECT plan(43);

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost, cost_method) VALUES
    ('TAP63-RA', 'refurbished, average', 'tap63a', 30.00, 9.00, 'average'),
    ('TAP63-RF', 'refurbished, fifo', 'tap63a', 30.00, 9.00, 'fifo'),
    ('TAP63-TA', 'transferred, average', 'tap63b', 9.00, 4.00, 'average'),
    ('TAP63-TF', 'transferred, fifo', 'tap63b', 9.00, 4.00, 'fifo');
INSERT INTO erp.node (code, kind) VALUES ('TAP63-DC', 'warehouse'), ('TAP63-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP63-WEB', 'storefront'), ('TAP63-SHOP', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n
 WHERE (c.code, n.code) IN (('TAP63-WEB', 'TAP63-DC'), ('TAP63-SHOP', 'TAP63-ST'));
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP63-SUP', 5);

CREATE TEMP TABLE tap63_id (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap63_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.ship_order(p_channel text, p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order(p_channel, p_ref, p_lines);
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
-- the cost entries of a sku, one line each: node ref kind qty unit_cost value
CREATE FUNCTION pg_temp.entries(p_sku text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT concat_ws(' ', n.code, regexp_replace(e.ref, '[0-9]+', 'N'), e.kind, e.qty, e.unit_cost, e.value)
      FROM erp.cost_entry e JOIN erp.item i ON i.item_id = e.item_id JOIN erp.node n ON n.node_id = e.node_id
     WHERE i.sku = p_sku ORDER BY e.cost_entry_id
$$;
CREATE FUNCTION pg_temp.value(p_sku text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT concat_ws(' ', node, qty, unit_cost, value) FROM erp.inventory_value WHERE sku = p_sku ORDER BY node
$$;

-- A. Refurbishment --------------------------------------------------------------------------
-- 10 x 10.00 each; 2 sold (20.00); 1 returned at the cost it left with (10.00) and found
-- used: to refurbishment.  average DC 9 / 90.00; fifo layers 8 / 80.00 and (the return) 1 / 10.00
INSERT INTO tap63_id SELECT 'poa', erp.create_po('TAP63-SUP', 'TAP63-DC',
    '[{"sku": "TAP63-RA", "qty": 10, "unit_cost": 10.00}, {"sku": "TAP63-RF", "qty": 10, "unit_cost": 10.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('poa'));
INSERT INTO tap63_id SELECT 'a1', pg_temp.ship_order('TAP63-WEB', 'tap63-a1',
    '[{"sku": "TAP63-RA", "qty": 2, "unit_price": 30.00}, {"sku": "TAP63-RF", "qty": 2, "unit_price": 30.00}]');
INSERT INTO tap63_id SELECT 'ra', erp.authorize_return(pg_temp.id('a1'),
    '[{"sku": "TAP63-RA", "qty": 1, "reason": "changed_mind"}, {"sku": "TAP63-RF", "qty": 1, "reason": "changed_mind"}]');
SELECT erp.receive_return(pg_temp.id('ra'));
SELECT is(string_agg(erp.inspect_return(l.rma_line_id, 'used')::text, ',' ORDER BY l.rma_line_id), 'refurbish,refurbish',
    'both returned units are used: to refurbishment')
  FROM erp.rma_line l WHERE l.rma_id = pg_temp.id('ra');

-- refusals while units are in refurbishment; nothing may change
CREATE TEMP TABLE tap63_snap AS SELECT (SELECT count(*) FROM erp.cost_entry) AS entries,
    (SELECT count(*) FROM erp.landed_cost) AS landed, (SELECT sum(value) FROM erp.cost_balance) AS value,
    (SELECT sum(value_left) FROM erp.cost_layer) AS layers;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.cost_entry) = s.entries AND (SELECT count(*) FROM erp.landed_cost) = s.landed
       AND (SELECT sum(value) FROM erp.cost_balance) = s.value AND (SELECT sum(value_left) FROM erp.cost_layer) = s.layers
      FROM tap63_snap s
$$;
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 999999999999.99)$$, 'IE004',
    'the value on hand of sku "TAP63-RA" at node "TAP63-DC" would be beyond 999999999999.99',
    'a refurbishment cost that takes the value on hand beyond numeric(14,2): IE004, not a numeric overflow');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 1000000000000.00)$$, 'IE004', NULL,
    'an amount beyond 999999999999.99: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 0)$$, 'IE004', NULL, 'amount 0: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', -4.50)$$, 'IE004', NULL, 'a negative amount: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 'NaN')$$, 'IE004', NULL, 'amount NaN: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 4.505)$$, 'IE004', NULL, 'amount not in cents: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 4.50, repeat('r', 100000))$$, 'IE004', NULL,
    'a ref of 100,000 characters: IE004');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-NOPE', 'TAP63-DC', 4.50)$$, 'IE003', NULL, 'an unknown sku: IE003');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-NOPE', 4.50)$$, 'IE003', NULL, 'an unknown node: IE003');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-ST', 4.50)$$, 'IE010',
    'sku "TAP63-RA" has no units in refurbishment at node "TAP63-ST"', 'a node with no units in refurbishment: IE010');
SELECT ok(pg_temp.unchanged(), 'after every refusal the cost entries, balances and layers are as they were');

-- 4.50 of parts and labour on each: average DC 9 / 94.50 (10.50 a unit); fifo: the return's layer 1 / 14.50
SELECT ok(erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 4.50, 'rma:' || pg_temp.id('ra')) > 0
      AND erp.add_refurbishment_cost('TAP63-RF', 'TAP63-DC', 4.50, 'rma:' || pg_temp.id('ra')) > 0,
    'a refurbishment cost of 4.50 on each');
SELECT erp.complete_refurbish(l.rma_line_id) FROM erp.rma_line l WHERE l.rma_id = pg_temp.id('ra');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 1.00)$$, 'IE010', NULL,
    'once refurbished, the units take no more refurbishment cost: IE010');
-- then 3 sold of each: average 94.50 x 3/9 = 31.50 (10.50 a unit); fifo the oldest layer: 3 x 10.00
INSERT INTO tap63_id SELECT 'a2', pg_temp.ship_order('TAP63-WEB', 'tap63-a2',
    '[{"sku": "TAP63-RA", "qty": 3, "unit_price": 30.00}, {"sku": "TAP63-RF", "qty": 3, "unit_price": 30.00}]');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP63-RA')$$, ARRAY[
    'TAP63-DC po:N receipt 10 10.000000 100.00',
    'TAP63-DC order:N cogs -2 10.000000 -20.00',
    'TAP63-DC rma:N return 1 10.000000 10.00',
    'TAP63-DC rma:N refurbishment 0 4.500000 4.50',
    'TAP63-DC order:N cogs -3 10.500000 -31.50'],
    'average: the refurbishment raises the average to 10.50, and the next sale costs 3 x 10.50');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP63-RF')$$, ARRAY[
    'TAP63-DC po:N receipt 10 10.000000 100.00',
    'TAP63-DC order:N cogs -2 10.000000 -20.00',
    'TAP63-DC rma:N return 1 10.000000 10.00',
    'TAP63-DC rma:N refurbishment 0 4.500000 4.50',
    'TAP63-DC order:N cogs -3 10.000000 -30.00'],
    'fifo: the refurbishment entry, then a sale from the oldest layer');
SELECT results_eq($$SELECT l.qty_left, l.value_left FROM erp.cost_layer l JOIN erp.item i ON i.item_id = l.item_id
                    WHERE i.sku = 'TAP63-RF' ORDER BY l.cost_layer_id$$,
    $$VALUES (5::bigint, 50.00::numeric), (1, 14.50)$$, 'fifo: the refurbished unit''s layer carries it: 1 / 14.50');
SELECT results_eq($$SELECT * FROM pg_temp.value('TAP63-RA') UNION ALL SELECT * FROM pg_temp.value('TAP63-RF')$$,
    ARRAY['TAP63-DC 6 10.500000 63.00', 'TAP63-DC 6 10.750000 64.50'], 'the value on hand of both, to the cent');

-- B. Landed cost after a transfer, and the channel that sold ---------------------------------
-- 10 x 5.00 of each at DC; 4 transferred to ST (20.00); the shop sells 1 at ST (5.00), the web
-- 2 at DC (10.00): DC 4 / 20.00, ST 3 / 15.00.  Then freight 20.00 by qty: 10.00 a line.
--   DC keeps 10.00 x 4/10 = 4.00; the 6.00 of the units gone spreads over what left DC since
--   the receipt by units: the transfer 4 -> 4.00 to ST, the web order 2 -> 2.00 COGS;
--   ST keeps 4.00 x 3/4 = 3.00, the shop order's unit takes 1.00 COGS.
--   DC 4 / 24.00, ST 3 / 18.00 (6.00 a unit at both, as 5.00 + 1.00 freight)
INSERT INTO tap63_id SELECT 'pob', erp.create_po('TAP63-SUP', 'TAP63-DC',
    '[{"sku": "TAP63-TA", "qty": 10, "unit_cost": 5.00}, {"sku": "TAP63-TF", "qty": 10, "unit_cost": 5.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('pob'));
INSERT INTO tap63_id SELECT 'ta', erp.transfer('TAP63-TA', 'TAP63-DC', 'TAP63-ST', 4);
INSERT INTO tap63_id SELECT 'tf', erp.transfer('TAP63-TF', 'TAP63-DC', 'TAP63-ST', 4);
SELECT erp.receive_transfer(pg_temp.id('ta'));
SELECT erp.receive_transfer(pg_temp.id('tf'));
INSERT INTO tap63_id SELECT 'b1', pg_temp.ship_order('TAP63-SHOP', 'tap63-b1',
    '[{"sku": "TAP63-TA", "qty": 1, "unit_price": 9.00}, {"sku": "TAP63-TF", "qty": 1, "unit_price": 9.00}]');
INSERT INTO tap63_id SELECT 'b2', pg_temp.ship_order('TAP63-WEB', 'tap63-b2',
    '[{"sku": "TAP63-TA", "qty": 2, "unit_price": 9.00}, {"sku": "TAP63-TF", "qty": 2, "unit_price": 9.00}]');
CREATE TEMP TABLE tap63_margin_before AS SELECT * FROM erp.kpi_margin WHERE category = 'tap63b';
SELECT ok(erp.add_landed_cost(pg_temp.id('pob'), 'freight', 20.00, 'qty') > 0, 'freight after the transfer and the sales');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP63-TA')$$, ARRAY[
    'TAP63-DC po:N receipt 10 5.000000 50.00',
    'TAP63-DC transfer:N transfer -4 5.000000 -20.00',
    'TAP63-ST transfer:N transfer 4 5.000000 20.00',
    'TAP63-ST order:N cogs -1 5.000000 -5.00',
    'TAP63-DC order:N cogs -2 5.000000 -10.00',
    'TAP63-DC po:N landed_cost 0 1.000000 6.00',
    'TAP63-DC order:N cogs 0 0.000000 -2.00',
    'TAP63-ST po:N landed_cost 0 1.000000 4.00',
    'TAP63-ST order:N cogs 0 0.000000 -1.00'],
    'average: 6.00 lands at DC (2.00 of it COGS of the web order), 4.00 follows the transfer to ST (1.00 COGS of the shop order)');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP63-TF')$$, ARRAY[
    'TAP63-DC po:N receipt 10 5.000000 50.00',
    'TAP63-DC transfer:N transfer -4 5.000000 -20.00',
    'TAP63-ST transfer:N transfer 4 5.000000 20.00',
    'TAP63-ST order:N cogs -1 5.000000 -5.00',
    'TAP63-DC order:N cogs -2 5.000000 -10.00',
    'TAP63-DC po:N landed_cost 0 1.000000 6.00',
    'TAP63-DC order:N cogs 0 0.000000 -2.00',
    'TAP63-ST po:N landed_cost 0 1.000000 4.00',
    'TAP63-ST order:N cogs 0 0.000000 -1.00'],
    'fifo: the same entries');
SELECT results_eq($$SELECT * FROM pg_temp.value('TAP63-TA') UNION ALL SELECT * FROM pg_temp.value('TAP63-TF')$$,
    ARRAY['TAP63-DC 4 6.000000 24.00', 'TAP63-ST 3 6.000000 18.00', 'TAP63-DC 4 6.000000 24.00', 'TAP63-ST 3 6.000000 18.00'],
    'the units at both nodes now cost 6.00: the transferred ones revalued at their new node');
SELECT results_eq($$SELECT n.code, l.qty_left, l.value_left FROM erp.cost_layer l JOIN erp.item i ON i.item_id = l.item_id
                      JOIN erp.node n ON n.node_id = l.node_id WHERE i.sku = 'TAP63-TF' ORDER BY l.cost_layer_id$$,
    $$VALUES ('TAP63-DC', 4::bigint, 24.00::numeric), ('TAP63-ST', 3, 18.00)$$,
    'fifo: the layer at ST (made by the transfer) carries its 3.00');
-- margin: shop revenue 2 x 9.00 = 18.00, cogs 2 x (5.00 + 1.00) = 12.00; web 36.00 and 24.00
SELECT results_eq($$SELECT channel, revenue, cogs, gross_margin, gross_margin_pct FROM erp.kpi_margin WHERE category = 'tap63b' ORDER BY 1$$,
    $$VALUES ('TAP63-SHOP', 18.00::numeric(14,2), 12.00::numeric(14,2), 6.00::numeric(14,2), 33.33::numeric),
             ('TAP63-WEB', 36.00, 24.00, 12.00, 33.33)$$,
    'kpi_margin: the freight of units already sold is COGS of the channel that sold them');
SELECT results_eq($$SELECT channel, cogs FROM tap63_margin_before ORDER BY 1$$,
    $$VALUES ('TAP63-SHOP', 10.00::numeric(14,2)), ('TAP63-WEB', 20.00)$$, 'before the freight: 10.00 and 20.00');
SELECT is((SELECT sum(value) FILTER (WHERE kind = 'landed_cost') || ' ' || sum(value) FROM erp.cost_entry e JOIN erp.item i USING (item_id)
            WHERE i.sku IN ('TAP63-TA', 'TAP63-TF') AND e.landed_cost_id IS NOT NULL), '20.00 14.00',
    'the landed cost entries add up to the bill (20.00), 6.00 of it COGS of the units sold');
SELECT is_empty($$SELECT * FROM erp.verify_costs() WHERE item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP63-%')$$,
    'the cost entries add up to every balance and layer');

-- C. Adversarial: landed costs --------------------------------------------------------------
DROP TABLE tap63_snap;
CREATE TEMP TABLE tap63_snap AS SELECT (SELECT count(*) FROM erp.cost_entry) AS entries,
    (SELECT count(*) FROM erp.landed_cost) AS landed, (SELECT sum(value) FROM erp.cost_balance) AS value,
    (SELECT sum(value_left) FROM erp.cost_layer) AS layers;
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1000000000000.00)$$, pg_temp.id('pob')), 'IE004', NULL,
    'a landed cost beyond 999999999999.99: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', -1.00)$$, pg_temp.id('pob')), 'IE004', NULL, 'a negative landed cost: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', NULL)$$, pg_temp.id('pob')), 'IE004', NULL, 'a NULL amount: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, repeat('k', 100000), 1.00)$$, pg_temp.id('pob')), 'IE003',
    'unknown landed cost kind "(too long)"', 'a kind of 100,000 characters: IE003, not echoed');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1.00, repeat('b', 100000))$$, pg_temp.id('pob')), 'IE003',
    'unknown landed cost basis "(too long)"', 'a basis of 100,000 characters: IE003, not echoed');
SELECT throws_ok($$SELECT erp.add_landed_cost(9223372036854775807, 'duty', 1.00)$$, 'IE003', NULL, 'an unknown purchase order: IE003');
INSERT INTO tap63_id SELECT 'poc', erp.create_po('TAP63-SUP', 'TAP63-DC', '[{"sku": "TAP63-TA", "qty": 5, "unit_cost": 5.00}]', now() + interval '1 day');
-- a receipt worth 1,000,000,000 x 10,000.00: beyond numeric(14,2), refused before any row is written
INSERT INTO tap63_id SELECT 'pobig', erp.create_po('TAP63-SUP', 'TAP63-DC',
    '[{"sku": "TAP63-TA", "qty": 1000000000, "unit_cost": 10000.00}]', now() + interval '1 day');
SELECT throws_ok(format($$SELECT erp.receive_po(%s)$$, pg_temp.id('pobig')), 'IE004',
    'the value received of sku "TAP63-TA" at node "TAP63-DC" would be beyond 999999999999.99',
    'a receipt worth 10,000,000,000,000.00: IE004, not a numeric overflow');
SELECT is((SELECT qty_received FROM erp.purchase_order_line WHERE purchase_order_id = pg_temp.id('pobig')), 0::bigint,
    'and nothing of it was received');
SET LOCAL session_replication_role = replica;
UPDATE erp.purchase_order SET status = 'cancelled' WHERE purchase_order_id = pg_temp.id('poc');
SET LOCAL session_replication_role = origin;
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1.00)$$, pg_temp.id('poc')), 'IE010', NULL,
    'a cancelled purchase order: IE010');

-- an operator without erp_admin may not post costs; a partner of ST neither at DC
CREATE ROLE tap63_operator;
GRANT erp_operator, erp_reader TO tap63_operator;
CREATE ROLE tap63_partner;
GRANT erp_operator, erp_reader, erp_admin TO tap63_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap63_partner', node_id FROM erp.node WHERE code = 'TAP63-ST';
GRANT SELECT ON tap63_id TO tap63_operator, tap63_partner;
SET ROLE tap63_operator;
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1.00)$$, pg_temp.id('pob')), '42501', NULL,
    'an operator without erp_admin: add_landed_cost is refused (42501)');
SELECT throws_ok($$SELECT erp.add_refurbishment_cost('TAP63-RA', 'TAP63-DC', 1.00)$$, '42501', NULL,
    'nor add_refurbishment_cost (42501)');
RESET ROLE;
SET ROLE tap63_partner;
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1.00)$$, pg_temp.id('pob')), 'IE009', NULL,
    'a partner of ST (with erp_admin) adding a landed cost to a purchase order of DC: IE009');
SELECT results_eq($$SELECT node, qty, value FROM erp.inventory_value WHERE sku = 'TAP63-TA'$$,
    $$VALUES ('TAP63-ST', 3::bigint, 18.00::numeric)$$, 'the partner reads the value of its own node only');
SELECT is((SELECT count(*) FROM erp.cost_entry WHERE node_id <> (SELECT node_id FROM erp.node WHERE code = 'TAP63-ST')
             AND item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP63-%')), 0::bigint,
    'and no cost entry of another node');
SELECT results_eq($$SELECT channel, cogs FROM erp.kpi_margin WHERE category = 'tap63b'$$,
    $$VALUES ('TAP63-SHOP', 12.00::numeric(14,2))$$, 'its margin view holds its own node''s costs only');
RESET ROLE;
SELECT ok(pg_temp.unchanged(), 'after every refusal the cost entries, landed costs, balances and layers are as they were');

SELECT * FROM finish();
ROLLBACK;
