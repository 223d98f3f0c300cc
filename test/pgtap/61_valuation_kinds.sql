-- 61_valuation_kinds.sql: the cost of the moves 60_valuation.sql does not make
-- (SPEC 10, issue 14): fifo layers of a lot-tracked item consumed lot first (a
-- shipment of the soonest-expiring lot takes that lot's cost, not the oldest
-- layer's); an unplanned receipt and a count gain at the node's current
-- average; a return routed to the vendor (vendor_credit) and one disposed of
-- (write_off, the return's cost in erp.kpi_return_cost); every entry
-- hand-computed.
--
-- Codes start with TAP61-; everything is rolled back at the end.
BEGIN;
SELECT plan(12);

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost, lot_tracked, cost_method) VALUES
    ('TAP61-LOT', 'lot item', 'tap61food', 30.00, 9.00, true, 'fifo'),
    ('TAP61-AVG', 'average item', 'tap61tools', 50.00, 9.00, false, 'average');
INSERT INTO erp.node (code, kind) VALUES ('TAP61-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP61-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP61-WEB' AND n.code = 'TAP61-DC';
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP61-SUP', 5);

CREATE TEMP TABLE tap61_id (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap61_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP61-WEB', p_ref, p_lines);
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
CREATE FUNCTION pg_temp.entries(p_sku text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT concat_ws(' ', regexp_replace(e.ref, '[0-9]+', 'N'), e.kind, l.lot_code, e.qty, e.unit_cost, e.value)
      FROM erp.cost_entry e JOIN erp.item i ON i.item_id = e.item_id
      LEFT JOIN erp.lot l ON l.item_id = e.item_id AND l.lot_id = e.lot_id
     WHERE i.sku = p_sku ORDER BY e.cost_entry_id
$$;

-- fifo with lots: lot L-LATE (expires 2031) 5 at 10.00 first, lot L-SOON (expires 2030) 5 at 20.00
-- second.  The order is allocated first-expiry-first-out, from L-SOON: 2 x 20.00 = 40.00, although
-- the oldest layer is L-LATE's.  Shrinkage of 1 of L-LATE: 10.00.
INSERT INTO tap61_id SELECT 'po1', erp.create_po('TAP61-SUP', 'TAP61-DC', '[{"sku": "TAP61-LOT", "qty": 5, "unit_cost": 10.00}]', now() + interval '1 day');
INSERT INTO tap61_id SELECT 'po2', erp.create_po('TAP61-SUP', 'TAP61-DC', '[{"sku": "TAP61-LOT", "qty": 5, "unit_cost": 20.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po1'), '[{"sku": "TAP61-LOT", "qty": 5, "lot": "L-LATE", "expires_on": "2031-01-01"}]');
SELECT erp.receive_po(pg_temp.id('po2'), '[{"sku": "TAP61-LOT", "qty": 5, "lot": "L-SOON", "expires_on": "2030-01-01"}]');
INSERT INTO tap61_id SELECT 'o1', pg_temp.ship_order('tap61-o1', '[{"sku": "TAP61-LOT", "qty": 2, "unit_price": 30.00}]');
SELECT ok(erp.adjust('TAP61-LOT', 'TAP61-DC', -1, 'shrinkage', 'L-LATE') > 0, 'one unit of L-LATE is written off');
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP61-LOT')$$, ARRAY[
    'po:N receipt L-LATE 5 10.000000 50.00',
    'po:N receipt L-SOON 5 20.000000 100.00',
    'order:N cogs L-SOON -2 20.000000 -40.00',
    'adjustment:N write_off L-LATE -1 10.000000 -10.00'],
    'fifo with lots: each lot''s units leave at their own layer''s cost');
SELECT results_eq($$SELECT l.lot_code, c.qty_left, c.value_left FROM erp.cost_layer c JOIN erp.lot l ON l.item_id = c.item_id AND l.lot_id = c.lot_id
                    JOIN erp.item i ON i.item_id = c.item_id WHERE i.sku = 'TAP61-LOT' ORDER BY c.cost_layer_id$$,
    $$VALUES ('L-LATE', 4::bigint, 40.00::numeric), ('L-SOON', 3, 60.00)$$, 'the layers left: 4 / 40.00 and 3 / 60.00');

-- average: 10 at 12.50 (125.00); an unplanned receipt of 2 at the current average 12.50 = 25.00;
-- a count finds 13 (one more): +1 at 150.00 / 12 = 12.50 (its adjustment's move: ref adjustment:N)
INSERT INTO tap61_id SELECT 'po3', erp.create_po('TAP61-SUP', 'TAP61-DC', '[{"sku": "TAP61-AVG", "qty": 10, "unit_cost": 12.50}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po3'));
SELECT ok(erp.receive('TAP61-AVG', 'TAP61-DC', 2, ref => 'tap61:found') > 0, 'two units are received without a purchase order');
SELECT ok(erp.count('TAP61-AVG', 'TAP61-DC', 13) > 0, 'a count finds 13');
-- two orders of 2 each: 162.50 x 2/13 = 25.00 each; returns of 1 from each
INSERT INTO tap61_id SELECT 'o2', pg_temp.ship_order('tap61-o2', '[{"sku": "TAP61-AVG", "qty": 2, "unit_price": 50.00}]');
INSERT INTO tap61_id SELECT 'o3', pg_temp.ship_order('tap61-o3', '[{"sku": "TAP61-AVG", "qty": 2, "unit_price": 50.00}]');
INSERT INTO tap61_id SELECT 'r1', erp.authorize_return(pg_temp.id('o2'), '[{"sku": "TAP61-AVG", "qty": 1, "reason": "defective"}]');
INSERT INTO tap61_id SELECT 'r2', erp.authorize_return(pg_temp.id('o3'), '[{"sku": "TAP61-AVG", "qty": 1, "reason": "not_as_described"}]');
SELECT erp.receive_return(pg_temp.id('r1'));
SELECT erp.receive_return(pg_temp.id('r2'));
SELECT is(erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = pg_temp.id('r1')), 'defective')::text, 'vendor_return',
    'the defective unit goes back to the vendor');
SELECT erp.return_to_vendor((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = pg_temp.id('r1')));
SELECT is(erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = pg_temp.id('r2')), 'damaged')::text, 'dispose',
    'the damaged unit is disposed of');
-- by hand: 10 / 125.00; +2 25.00 -> 12 / 150.00; +1 12.50 -> 13 / 162.50; -2 25.00 -> 11 / 137.50;
-- -2 25.00 -> 9 / 112.50; returns +1 12.50 twice -> 11 / 137.50; vendor credit -1 at 137.50/11 = 12.50;
-- disposal -1 at 125.00/10 = 12.50 -> 9 / 112.50
SELECT results_eq($$SELECT * FROM pg_temp.entries('TAP61-AVG')$$, ARRAY[
    'po:N receipt 10 12.500000 125.00',
    'tapN:found receipt 2 12.500000 25.00',
    'adjustment:N write_off 1 12.500000 12.50',
    'order:N cogs -2 12.500000 -25.00',
    'order:N cogs -2 12.500000 -25.00',
    'rma:N return 1 12.500000 12.50',
    'rma:N return 1 12.500000 12.50',
    'rma:N vendor_credit -1 12.500000 -12.50',
    'rma:N write_off -1 12.500000 -12.50'],
    'average: unplanned receipt and count gain at the current average, returns, vendor credit and disposal');
SELECT is((SELECT concat_ws(' ', qty, unit_cost, value) FROM erp.inventory_value WHERE sku = 'TAP61-AVG'), '9 12.500000 112.50',
    'nine units worth 112.50 remain');
SELECT results_eq($$SELECT reason, units_returned, cost_restocked, return_cost FROM erp.kpi_return_cost WHERE category = 'tap61tools' ORDER BY reason$$,
    $$VALUES ('defective', 1::bigint, 12.50::numeric(14,2), 12.50::numeric(14,2)),
             ('not_as_described', 1::bigint, 12.50::numeric(14,2), 12.50::numeric(14,2))$$,
    'kpi_return_cost: each returned unit came back at 12.50 and left again at 12.50 (vendor credit, disposal)');
SELECT results_eq($$SELECT revenue, cogs, return_cost FROM erp.kpi_margin WHERE category = 'tap61tools'$$,
    $$VALUES (200.00::numeric(14,2), 25.00::numeric(14,2), 25.00::numeric(14,2))$$,
    'kpi_margin: revenue 4 x 50.00, cogs 4 x 12.50 - 2 x 12.50 back = 25.00, return cost 25.00');
SELECT is_empty($$SELECT * FROM erp.verify_costs()$$, 'the cost entries add up to every balance and layer');

SELECT * FROM finish();
ROLLBACK;
