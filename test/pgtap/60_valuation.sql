-- 60_valuation.sql: perpetual costing (SPEC 10, issue 14), hand-computed to the
-- cent.  One scenario per cost method - three purchase receipts at 10.00, 12.00
-- and 14.00 a unit with a landed cost on the third, two sales, one unit
-- returned and restocked, a write-off of two and a transfer of five - with
-- every cost entry written out below; a landed cost added after part of a
-- purchase order was sold (average) and after part of it was received and
-- sold (fifo); allocation writing no cost; the margin view; every refusal with
-- its SQLSTATE and proof that nothing changed.
--
-- Codes start with TAP60-; everything is rolled back at the end.
BEGIN;
SELECT plan(42);

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost, weight, cost_method) VALUES
    ('TAP60-AVG', 'average item', 'tap60toys', 25.00, 9.00, 2.000, 'average'),
    ('TAP60-FIFO', 'fifo item', 'tap60toys', 25.00, 9.00, 2.000, 'fifo'),
    ('TAP60-B', 'second line', 'tap60toys', 5.00, 1.00, 1.000, 'average'),
    ('TAP60-LA', 'landed after sale, average', 'tap60misc', 9.00, 5.00, NULL, 'average'),
    ('TAP60-LF', 'landed after sale, fifo', 'tap60misc', 9.00, 5.00, NULL, 'fifo');
INSERT INTO erp.node (code, kind) VALUES ('TAP60-DC', 'warehouse'), ('TAP60-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP60-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP60-WEB' AND n.code = 'TAP60-DC';
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP60-SUP', 5);

CREATE TEMP TABLE tap60_id (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap60_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP60-WEB', p_ref, p_lines);
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
-- The cost entries of a sku, one line each: node ref kind qty unit_cost value.
CREATE FUNCTION pg_temp.entries(p_sku text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT concat_ws(' ', n.code, regexp_replace(e.ref, '[0-9]+', 'N'), e.kind, e.qty, e.unit_cost, e.value)
      FROM erp.cost_entry e JOIN erp.item i ON i.item_id = e.item_id JOIN erp.node n ON n.node_id = e.node_id
     WHERE i.sku = p_sku ORDER BY e.cost_entry_id
$$;
CREATE FUNCTION pg_temp.value(p_sku text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT concat_ws(' ', node, qty, unit_cost, value) FROM erp.inventory_value WHERE sku = p_sku ORDER BY node
$$;

-- The scenario, the same for both methods ---------------------------------------------
INSERT INTO tap60_id SELECT 'po1', erp.create_po('TAP60-SUP', 'TAP60-DC',
    '[{"sku": "TAP60-AVG", "qty": 10, "unit_cost": 10.00}, {"sku": "TAP60-FIFO", "qty": 10, "unit_cost": 10.00}]', now() + interval '1 day');
INSERT INTO tap60_id SELECT 'po2', erp.create_po('TAP60-SUP', 'TAP60-DC',
    '[{"sku": "TAP60-AVG", "qty": 10, "unit_cost": 12.00}, {"sku": "TAP60-FIFO", "qty": 10, "unit_cost": 12.00}]', now() + interval '1 day');
INSERT INTO tap60_id SELECT 'po3', erp.create_po('TAP60-SUP', 'TAP60-DC',
    '[{"sku": "TAP60-AVG", "qty": 10, "unit_cost": 14.00}, {"sku": "TAP60-FIFO", "qty": 10, "unit_cost": 14.00},
      {"sku": "TAP60-B", "qty": 10, "unit_cost": 1.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po1'));

-- allocation changes no value and writes nothing
INSERT INTO tap60_id SELECT 'held', erp.capture_order('TAP60-WEB', 'tap60-held', '[{"sku": "TAP60-AVG", "qty": 3, "unit_price": 25.00}]');
CREATE TEMP TABLE tap60_before AS SELECT (SELECT count(*) FROM erp.cost_entry) AS entries,
    (SELECT sum(value) FROM erp.cost_balance) AS value;
SELECT is((SELECT sum(qty)::bigint FROM erp.allocate(pg_temp.id('held'))), 3::bigint, 'three units are allocated');
SELECT is((SELECT count(*) FROM erp.cost_entry), (SELECT entries FROM tap60_before),
    'allocation (available -> reserved) writes no cost entry: it does not change the value on hand');
SELECT erp.cancel_order(pg_temp.id('held'));
SELECT is((SELECT count(*) FROM erp.cost_entry), (SELECT entries FROM tap60_before),
    'nor does releasing the units of a cancelled order');

INSERT INTO tap60_id SELECT 'o1', pg_temp.ship_order('tap60-o1',
    '[{"sku": "TAP60-AVG", "qty": 4, "unit_price": 25.00}, {"sku": "TAP60-FIFO", "qty": 4, "unit_price": 25.00}]');
SELECT erp.receive_po(pg_temp.id('po2'));
-- freight 60.00 by weight: AVG 10 x 2 = 20, FIFO 20, B 10 x 1 = 10 of 50 -> 24.00, 24.00, 12.00
SELECT ok(erp.add_landed_cost(pg_temp.id('po3'), 'freight', 60.00, 'weight') > 0, 'a landed cost before receipt');
SELECT is(array_agg(l.amount ORDER BY l.amount, i.sku), ARRAY[12.00, 24.00, 24.00]::numeric[],
    'freight 60.00 spreads by weight: 24.00, 24.00 and 12.00')
  FROM erp.landed_cost_line l JOIN erp.item i ON i.item_id = l.item_id WHERE i.sku LIKE 'TAP60-%';
SELECT erp.receive_po(pg_temp.id('po3'));
INSERT INTO tap60_id SELECT 'o2', pg_temp.ship_order('tap60-o2',
    '[{"sku": "TAP60-AVG", "qty": 5, "unit_price": 25.00}, {"sku": "TAP60-FIFO", "qty": 5, "unit_price": 25.00}]');
INSERT INTO tap60_id SELECT 'r1', erp.authorize_return(pg_temp.id('o2'),
    '[{"sku": "TAP60-AVG", "qty": 1, "reason": "changed_mind"}, {"sku": "TAP60-FIFO", "qty": 1, "reason": "changed_mind"}]');
SELECT erp.receive_return(pg_temp.id('r1'));
SELECT is(string_agg(erp.inspect_return(l.rma_line_id, 'new')::text, ',' ORDER BY l.rma_line_id), 'restock,restock',
    'both returned units are restocked')
  FROM erp.rma_line l WHERE l.rma_id = pg_temp.id('r1');
SELECT ok(erp.adjust('TAP60-AVG', 'TAP60-DC', -2, 'shrinkage') > 0 AND erp.adjust('TAP60-FIFO', 'TAP60-DC', -2, 'shrinkage') > 0,
    'two units of each are written off');
INSERT INTO tap60_id SELECT 't1', erp.transfer('TAP60-AVG', 'TAP60-DC', 'TAP60-ST', 5);
INSERT INTO tap60_id SELECT 't2', erp.transfer('TAP60-FIFO', 'TAP60-DC', 'TAP60-ST', 5);
SELECT erp.receive_transfer(pg_temp.id('t1'));

-- average, by hand:
--   receipt 10 x 10.00                        DC 10 / 100.00
--   ship 4: 100.00 x 4/10 = 40.00             DC  6 /  60.00
--   receipt 10 x 12.00                        DC 16 / 180.00
--   receipt 10 x 14.00 + landed 24.00         DC 26 / 344.00
--   ship 5: 344.00 x 5/26 = 66.153.. = 66.15  DC 21 / 277.85
--   return 1 at the order's cost 66.15/5 = 13.23 DC 22 / 291.08
--   write-off 2: 291.08 x 2/22 = 26.461.. = 26.46 DC 20 / 264.62
--   transfer 5: 264.62 x 5/20 = 66.155 = 66.16  DC 15 / 198.46, ST 5 / 66.16
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP60-AVG')$$, ARRAY[
    'TAP60-DC po:N receipt 10 10.000000 100.00',
    'TAP60-DC order:N cogs -4 10.000000 -40.00',
    'TAP60-DC po:N receipt 10 12.000000 120.00',
    'TAP60-DC po:N receipt 10 14.000000 140.00',
    'TAP60-DC po:N landed_cost 0 2.400000 24.00',
    'TAP60-DC order:N cogs -5 13.230000 -66.15',
    'TAP60-DC rma:N return 1 13.230000 13.23',
    'TAP60-DC adjustment:N write_off -2 13.230000 -26.46',
    'TAP60-DC transfer:N transfer -5 13.232000 -66.16',
    'TAP60-ST transfer:N transfer 5 13.232000 66.16'],
    'average: every cost entry of the scenario, to the cent');
SELECT results_eq($$SELECT * FROM pg_temp.value('TAP60-AVG')$$, ARRAY[
    'TAP60-DC 15 13.230667 198.46', 'TAP60-ST 5 13.232000 66.16'],
    'average: the value on hand per node, unit cost = value / qty');

-- fifo, by hand (layers L1..L4 at DC, oldest first):
--   L1 10 / 100.00; ship 4 from L1 = 40.00 -> L1 6 / 60.00
--   L2 10 / 120.00; L3 10 x 14.00 + 24.00 = 10 / 164.00
--   ship 5 from L1: 60.00 x 5/6 = 50.00 -> L1 1 / 10.00
--   return 1 at the order's cost 50.00/5 = 10.00 -> L4 1 / 10.00
--   write-off 2: L1 1 / 10.00 + L2 1 of 10 = 12.00 -> 22.00; L2 9 / 108.00
--   transfer 5 from L2: 108.00 x 5/9 = 60.00 -> L2 4 / 48.00; ST 5 / 60.00
--   DC: 48.00 + 164.00 + 10.00 = 15 / 222.00
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP60-FIFO')$$, ARRAY[
    'TAP60-DC po:N receipt 10 10.000000 100.00',
    'TAP60-DC order:N cogs -4 10.000000 -40.00',
    'TAP60-DC po:N receipt 10 12.000000 120.00',
    'TAP60-DC po:N receipt 10 14.000000 140.00',
    'TAP60-DC po:N landed_cost 0 2.400000 24.00',
    'TAP60-DC order:N cogs -5 10.000000 -50.00',
    'TAP60-DC rma:N return 1 10.000000 10.00',
    'TAP60-DC adjustment:N write_off -2 11.000000 -22.00',
    'TAP60-DC transfer:N transfer -5 12.000000 -60.00',
    'TAP60-ST transfer:N transfer 5 12.000000 60.00'],
    'fifo: every cost entry of the scenario, to the cent');
SELECT results_eq($$SELECT * FROM pg_temp.value('TAP60-FIFO')$$, ARRAY[
    'TAP60-DC 15 14.800000 222.00', 'TAP60-ST 5 12.000000 60.00'],
    'fifo: the value on hand per node');
SELECT results_eq($$SELECT l.qty_left, l.value_left FROM erp.cost_layer l JOIN erp.item i ON i.item_id = l.item_id
                     JOIN erp.node n ON n.node_id = l.node_id
                    WHERE i.sku = 'TAP60-FIFO' ORDER BY n.code, l.cost_layer_id$$,
    $$VALUES (0::bigint, 0.00::numeric), (4, 48.00), (10, 164.00), (1, 10.00), (5, 60.00)$$,
    'fifo: the layers left: L1 empty, L2 4 / 48.00, L3 10 / 164.00, L4 (the return) 1 / 10.00, ST 5 / 60.00');
SELECT is((SELECT concat_ws(' ', qty, value) FROM erp.inventory_value WHERE sku = 'TAP60-B'), '10 22.00',
    'the third line of the purchase order carries its 12.00 of freight: 10 x 1.00 + 12.00');

-- margin: revenue 9 x 25.00 per item; refund of the new return 25.00 (no fee)
--   average: cogs 40.00 + 66.15 - 13.23 back = 92.92; fifo: 40.00 + 50.00 - 10.00 = 80.00
--   gross margin = 450.00 - 50.00 - 172.92 - 0 = 227.08; pct = 227.08 / 400.00 = 56.77
SELECT results_eq($$SELECT channel, category, revenue, cogs, refunds, restocking_fees, return_cost, gross_margin, gross_margin_pct
                      FROM erp.kpi_margin WHERE category = 'tap60toys'$$,
    $$VALUES ('TAP60-WEB', 'tap60toys', 450.00::numeric(14,2), 172.92::numeric(14,2), 50.00::numeric(14,2),
              0.00::numeric(14,2), 0.00::numeric(14,2), 227.08::numeric(14,2), 56.77::numeric)$$,
    'kpi_margin: revenue, cogs net of the restocked returns, refunds, margin and margin % to the cent');
SELECT results_eq($$SELECT reason, units_returned, refunds, cost_restocked, return_cost FROM erp.kpi_return_cost WHERE category = 'tap60toys'$$,
    $$VALUES ('changed_mind', 2::bigint, 50.00::numeric(14,2), 23.23::numeric(14,2), 0.00::numeric(14,2))$$,
    'kpi_return_cost: two units back, 50.00 refunded, 13.23 + 10.00 of cost back in stock');
SELECT is_empty($$SELECT * FROM erp.verify_costs()$$, 'the cost entries add up to every balance and layer');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'and the stock ledger to every balance');
SELECT results_eq($$SELECT node, qty, value FROM erp.inventory_value_at(now()) WHERE sku = 'TAP60-AVG' ORDER BY node$$,
    $$VALUES ('TAP60-DC', 15::bigint, 198.46::numeric), ('TAP60-ST', 5::bigint, 66.16::numeric)$$,
    'inventory_value_at(now) is the value on hand');
SELECT is_empty($$SELECT * FROM erp.inventory_value_at(now() - interval '1 second') WHERE sku LIKE 'TAP60-%'$$,
    'inventory_value_at a second before this transaction: nothing of it yet');
SELECT results_eq($$SELECT age_bucket, qty FROM erp.inventory_aging WHERE sku = 'TAP60-FIFO' AND node = 'TAP60-DC'$$,
    $$VALUES ('0-30', 15::bigint)$$, 'aging: all received today');

-- landed cost after part of the purchase order was sold --------------------------------
-- average: 10 x 5.00 received, 4 sold (20.00), then duty 15.00: the 6 on hand keep
-- 15.00 x 6/10 = 9.00 (39.00 = 6 x 6.50), the 4 sold take 6.00 more COGS (26.00 = 4 x 6.50)
INSERT INTO tap60_id SELECT 'po4', erp.create_po('TAP60-SUP', 'TAP60-DC', '[{"sku": "TAP60-LA", "qty": 10, "unit_cost": 5.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po4'));
INSERT INTO tap60_id SELECT 'o3', pg_temp.ship_order('tap60-o3', '[{"sku": "TAP60-LA", "qty": 4, "unit_price": 9.00}]');
SELECT ok(erp.add_landed_cost(pg_temp.id('po4'), 'duty', 15.00, 'qty') > 0, 'duty after part was sold');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP60-LA')$$, ARRAY[
    'TAP60-DC po:N receipt 10 5.000000 50.00',
    'TAP60-DC order:N cogs -4 5.000000 -20.00',
    'TAP60-DC po:N landed_cost 0 1.500000 15.00',
    'TAP60-DC order:N cogs 0 0.000000 -6.00'],
    'average: the landed cost revalues the 6 on hand (9.00) and the 4 sold through COGS (6.00)');
SELECT is((SELECT concat_ws(' ', qty, unit_cost, value) FROM erp.inventory_value WHERE sku = 'TAP60-LA'), '6 6.500000 39.00',
    'the remaining units now cost 6.50');
SELECT is((SELECT -sum(value) FROM erp.cost_entry e JOIN erp.item i USING (item_id) WHERE i.sku = 'TAP60-LA' AND kind = 'cogs'),
    26.00, 'the units sold cost 4 x 6.50 = 26.00');
-- fifo: 6 of 10 x 5.00 received, 2 sold (10.00), landed 20.00: the received 6 take
-- 20.00 x 6/10 = 12.00 (the 4 left 8.00, the 2 sold 4.00); the last 4 arrive with 20.00 - 12.00 = 8.00
INSERT INTO tap60_id SELECT 'po5', erp.create_po('TAP60-SUP', 'TAP60-DC', '[{"sku": "TAP60-LF", "qty": 10, "unit_cost": 5.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po5'), '[{"sku": "TAP60-LF", "qty": 6}]');
INSERT INTO tap60_id SELECT 'o4', pg_temp.ship_order('tap60-o4', '[{"sku": "TAP60-LF", "qty": 2, "unit_price": 9.00}]');
SELECT ok(erp.add_landed_cost(pg_temp.id('po5'), 'insurance', 20.00, 'value') > 0, 'insurance after part was received and sold');
SELECT erp.receive_po(pg_temp.id('po5'));
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP60-LF')$$, ARRAY[
    'TAP60-DC po:N receipt 6 5.000000 30.00',
    'TAP60-DC order:N cogs -2 5.000000 -10.00',
    'TAP60-DC po:N landed_cost 0 2.000000 12.00',
    'TAP60-DC order:N cogs 0 0.000000 -4.00',
    'TAP60-DC po:N receipt 4 5.000000 20.00',
    'TAP60-DC po:N landed_cost 0 2.000000 8.00'],
    'fifo: 12.00 on the received units (8.00 kept, 4.00 to COGS), 8.00 with the last four');
SELECT results_eq($$SELECT l.qty_left, l.value_left FROM erp.cost_layer l JOIN erp.item i ON i.item_id = l.item_id
                    WHERE i.sku = 'TAP60-LF' ORDER BY l.cost_layer_id$$,
    $$VALUES (4::bigint, 28.00::numeric), (4, 28.00)$$, 'both layers now cost 7.00 a unit');
SELECT is_empty($$SELECT * FROM erp.verify_costs()$$, 'the balances still add up after the landed costs');

-- refusals ----------------------------------------------------------------------
CREATE TEMP TABLE tap60_snap AS SELECT (SELECT count(*) FROM erp.cost_entry) AS entries,
    (SELECT count(*) FROM erp.landed_cost) AS landed, (SELECT sum(value) FROM erp.cost_balance) AS value;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM erp.cost_entry) = s.entries AND (SELECT count(*) FROM erp.landed_cost) = s.landed
       AND (SELECT sum(value) FROM erp.cost_balance) = s.value FROM tap60_snap s
$$;
SELECT throws_ok($$SELECT erp.add_landed_cost(-1, 'freight', 10.00)$$, 'IE003', NULL, 'an unknown purchase order: IE003');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'bribe', 10.00)$$, pg_temp.id('po4')), 'IE003',
    'unknown landed cost kind "bribe"', 'an unknown kind: IE003');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 10.00, 'colour')$$, pg_temp.id('po4')), 'IE003',
    'unknown landed cost basis "colour"', 'an unknown basis: IE003');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 0)$$, pg_temp.id('po4')), 'IE004', NULL, 'amount 0: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 1.005)$$, pg_temp.id('po4')), 'IE004', NULL, 'amount not in cents: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 'NaN')$$, pg_temp.id('po4')), 'IE004', NULL, 'amount NaN: IE004');
SELECT throws_ok(format($$SELECT erp.add_landed_cost(%s, 'duty', 10.00, 'volume')$$, pg_temp.id('po4')), 'IE004',
    'sku "TAP60-LA" of purchase order ' || pg_temp.id('po4') || ' has no volume to spread a landed cost by',
    'by volume when the item has none: IE004');
SELECT throws_ok($$INSERT INTO erp.cost_entry (item_id, node_id, kind, qty, unit_cost, value)
                   SELECT item_id, 1, 'receipt', 1, 1, 1 FROM erp.item WHERE sku = 'TAP60-AVG'$$, 'IE005', NULL,
    'a cost entry inserted by hand: IE005');
SELECT throws_ok($$UPDATE erp.cost_balance SET value = 0$$, 'IE005', NULL, 'a cost balance edited by hand: IE005');
SELECT throws_ok($$DELETE FROM erp.cost_layer$$, 'IE005', NULL, 'cost layers deleted by hand: IE005');
SELECT throws_ok($$UPDATE erp.item SET cost_method = 'fifo' WHERE sku = 'TAP60-AVG'$$, 'IE010', NULL,
    'changing the cost method of an item with costed stock: IE010');
SELECT ok(pg_temp.unchanged(), 'after every refusal the cost entries, landed costs and balances are as they were');
SELECT is((SELECT cost_method FROM erp.item WHERE sku = 'TAP60-AVG'), 'average', 'and the method too');
INSERT INTO erp.item (sku) VALUES ('TAP60-NEW');
SELECT lives_ok($$UPDATE erp.item SET cost_method = 'fifo' WHERE sku = 'TAP60-NEW'$$,
    'an item no node holds changes its cost method freely');

SELECT * FROM finish();
ROLLBACK;
