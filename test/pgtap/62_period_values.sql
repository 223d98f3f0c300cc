-- 62_period_values.sql: erp.close_period snapshots values too (issue 14, SPEC 14).
-- A day of business twenty days ago (back-dated below, as sql/maint_growth.sql does)
-- and some today; the period up to ten days ago is closed: its costs per item and
-- node (erp.period_cost) and the value of each balance row (erp.period_balance.value)
-- are checked to the cent, by hand; then the ledger AND the cost entries before the
-- cut are archived, and erp.verify(), erp.verify_costs(), erp.inventory_value_at()
-- and the margin view answer exactly as before.  A tampered snapshot is still found
-- (the check is not blind); a second close of the same day is refused (IE010) and
-- changes nothing.
--
-- Codes start with TAP62-; everything is rolled back at the end.
BEGIN;
SELECT plan(25);

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost, cost_method) VALUES
    ('TAP62-AVG', 'average item', 'tap62', 20.00, 9.00, 'average'),
    ('TAP62-FIFO', 'fifo item', 'tap62', 20.00, 9.00, 'fifo');
INSERT INTO erp.node (code, kind) VALUES ('TAP62-DC', 'warehouse'), ('TAP62-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP62-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP62-WEB' AND n.code = 'TAP62-DC';
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('TAP62-SUP', 5);

CREATE TEMP TABLE tap62_id (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap62_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP62-WEB', p_ref, p_lines);
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
CREATE FUNCTION pg_temp.items() RETURNS bigint[] LANGUAGE sql STABLE AS $$
    SELECT array_agg(item_id) FROM erp.item WHERE sku LIKE 'TAP62-%'
$$;

-- Twenty days ago ------------------------------------------------------------------------
-- average: 7 x 10.00 + 3 x 11.11 = 10 / 103.33; ship 3: 103.33 x 3/10 = 30.999 = 31.00
--   -> DC 7 / 72.33; transfer 2: 72.33 x 2/7 = 20.6657 = 20.67 -> DC 5 / 51.66, ST 2 / 20.67;
--   2 allocated to an open order (reserved, still on hand at DC)
-- fifo: layers 7 / 70.00 and 3 / 33.33; ship 3 from the first: 30.00 -> DC 7 / 73.33
INSERT INTO tap62_id SELECT 'po1', erp.create_po('TAP62-SUP', 'TAP62-DC',
    '[{"sku": "TAP62-AVG", "qty": 7, "unit_cost": 10.00}, {"sku": "TAP62-FIFO", "qty": 7, "unit_cost": 10.00}]', now() + interval '1 day');
INSERT INTO tap62_id SELECT 'po2', erp.create_po('TAP62-SUP', 'TAP62-DC',
    '[{"sku": "TAP62-AVG", "qty": 3, "unit_cost": 11.11}, {"sku": "TAP62-FIFO", "qty": 3, "unit_cost": 11.11}]', now() + interval '1 day');
-- received today, ordered then: 5 units incoming at the cut (not valued)
INSERT INTO tap62_id SELECT 'po3', erp.create_po('TAP62-SUP', 'TAP62-DC',
    '[{"sku": "TAP62-AVG", "qty": 5, "unit_cost": 12.00}]', now() + interval '1 day');
SELECT erp.receive_po(pg_temp.id('po1'));
SELECT erp.receive_po(pg_temp.id('po2'));
INSERT INTO tap62_id SELECT 'o1', pg_temp.ship_order('tap62-o1',
    '[{"sku": "TAP62-AVG", "qty": 3, "unit_price": 20.00}, {"sku": "TAP62-FIFO", "qty": 3, "unit_price": 20.00}]');
INSERT INTO tap62_id SELECT 't1', erp.transfer('TAP62-AVG', 'TAP62-DC', 'TAP62-ST', 2);
SELECT erp.receive_transfer(pg_temp.id('t1'));
INSERT INTO tap62_id SELECT 'held', erp.capture_order('TAP62-WEB', 'tap62-held', '[{"sku": "TAP62-AVG", "qty": 2, "unit_price": 20.00}]');
SELECT is((SELECT sum(qty)::bigint FROM erp.allocate(pg_temp.id('held'))), 2::bigint, 'two units are held for an open order');

SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '20 days' WHERE item_id = ANY (pg_temp.items());
UPDATE erp.cost_entry SET at = at - interval '20 days' WHERE item_id = ANY (pg_temp.items());
SET LOCAL session_replication_role = origin;

-- Today ----------------------------------------------------------------------------------
-- average: 5 x 12.00 -> DC 10 / 111.66; ship 1: 111.66 / 10 = 11.166 = 11.17 -> DC 9 / 100.49
SELECT erp.receive_po(pg_temp.id('po3'));
INSERT INTO tap62_id SELECT 'o2', pg_temp.ship_order('tap62-o2', '[{"sku": "TAP62-AVG", "qty": 1, "unit_price": 20.00}]');

CREATE TEMP TABLE tap62_before AS
SELECT 'now' AS at, v.* FROM erp.inventory_value_at(now()) v WHERE v.sku LIKE 'TAP62-%'
UNION ALL
SELECT 'then', v.* FROM erp.inventory_value_at(now() - interval '15 days') v WHERE v.sku LIKE 'TAP62-%';
CREATE TEMP TABLE tap62_margin AS SELECT * FROM erp.kpi_margin WHERE category = 'tap62';
SELECT results_eq($$SELECT sku, node, qty, value FROM tap62_before WHERE at = 'then' ORDER BY 1, 2$$,
    $$VALUES ('TAP62-AVG', 'TAP62-DC', 5::bigint, 51.66::numeric), ('TAP62-AVG', 'TAP62-ST', 2, 20.67),
             ('TAP62-FIFO', 'TAP62-DC', 7, 73.33)$$,
    'fifteen days ago, from the cost entries: average DC 5 / 51.66 and ST 2 / 20.67, fifo DC 7 / 73.33');
SELECT results_eq($$SELECT sku, node, qty, value FROM tap62_before WHERE at = 'now' ORDER BY 1, 2$$,
    $$VALUES ('TAP62-AVG', 'TAP62-DC', 9::bigint, 100.49::numeric), ('TAP62-AVG', 'TAP62-ST', 2, 20.67),
             ('TAP62-FIFO', 'TAP62-DC', 7, 73.33)$$,
    'now: the average item at DC 9 / 100.49 after today''s receipt and sale');

-- Closing the period up to ten days ago --------------------------------------------------
SELECT ok(erp.close_period(current_date - 10) >= 5, 'the period up to ten days ago is closed');
SELECT ok((SELECT last_cost_entry_id FROM erp.period_close WHERE upto = current_date - 10) >=
          (SELECT max(cost_entry_id) FROM erp.cost_entry WHERE item_id = ANY (pg_temp.items()) AND at < now() - interval '10 days'),
    'the close records the cost entry cut: every back-dated entry is at or below it');
SELECT results_eq($$SELECT i.sku, n.code, p.qty, p.value FROM erp.period_cost p JOIN erp.item i USING (item_id)
                      JOIN erp.node n USING (node_id) WHERE p.upto = current_date - 10 AND i.sku LIKE 'TAP62-%' ORDER BY 1, 2$$,
    $$VALUES ('TAP62-AVG', 'TAP62-DC', 5::bigint, 51.66::numeric), ('TAP62-AVG', 'TAP62-ST', 2, 20.67),
             ('TAP62-FIFO', 'TAP62-DC', 7, 73.33)$$,
    'erp.period_cost: the costs at the cut per item and node, to the cent');
-- DC average 51.66 over available 3 and reserved 2: 51.66 x 3/5 = 30.996 = 31.00 (the largest
-- row takes the residue: 51.66 - 31.00 - 20.66 = 0), 51.66 x 2/5 = 20.664 = 20.66; incoming 5: NULL
SELECT results_eq($$SELECT i.sku, n.code, b.state::text, b.qty, b.value FROM erp.period_balance b JOIN erp.item i USING (item_id)
                      JOIN erp.node n USING (node_id) WHERE b.upto = current_date - 10 AND i.sku LIKE 'TAP62-%' ORDER BY 1, 2, 3$$,
    $$VALUES ('TAP62-AVG', 'TAP62-DC', 'available', 3::bigint, 31.00::numeric), ('TAP62-AVG', 'TAP62-DC', 'incoming', 5, NULL),
             ('TAP62-AVG', 'TAP62-DC', 'reserved', 2, 20.66), ('TAP62-AVG', 'TAP62-ST', 'available', 2, 20.67),
             ('TAP62-FIFO', 'TAP62-DC', 'available', 7, 73.33)$$,
    'erp.period_balance.value: each node''s cost spread over its valued rows by units; incoming is not valued');
SELECT is((SELECT sum(b.value) FROM erp.period_balance b WHERE b.upto = current_date - 10 AND b.item_id = ANY (pg_temp.items())),
    (SELECT sum(p.value) FROM erp.period_cost p WHERE p.upto = current_date - 10 AND p.item_id = ANY (pg_temp.items())),
    'the balance rows add up to the costs exactly: 145.66');

-- refused: the same day again (IE010), nothing changed
CREATE TEMP TABLE tap62_snap AS SELECT (SELECT count(*) FROM erp.period_cost) AS costs, (SELECT count(*) FROM erp.period_close) AS closes;
SELECT throws_ok($$SELECT erp.close_period(current_date - 10)$$, 'IE010', NULL, 'closing the same day again: IE010');
SELECT ok((SELECT costs = (SELECT count(*) FROM erp.period_cost) AND closes = (SELECT count(*) FROM erp.period_close) FROM tap62_snap),
    'and no cost snapshot or period was added');

-- Archiving the ledger and the cost entries before the cut --------------------------------
SELECT ok(erp.archive_ledger(current_date - 10) > 0, 'the ledger before the cut is archived');
SELECT is((SELECT count(*) FROM erp.cost_entry WHERE item_id = ANY (pg_temp.items()) AND at < now() - interval '10 days'), 0::bigint,
    'no cost entry of the closed period is left in erp.cost_entry');
SELECT is((SELECT count(*) FROM erp.cost_entry_archive WHERE item_id = ANY (pg_temp.items())), 8::bigint,
    'its 8 entries are in erp.cost_entry_archive');
SELECT results_eq($$SELECT kind::text, count(*)::bigint FROM erp.cost_entry_archive WHERE item_id = ANY (pg_temp.items()) GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('cogs', 2::bigint), ('receipt', 4), ('transfer', 2)$$,
    'archived: 4 receipts, 2 shipments, a transfer out and in');
SELECT is((SELECT count(*) FROM erp.cost_entry WHERE item_id = ANY (pg_temp.items())), 2::bigint,
    'today''s receipt and shipment stay in erp.cost_entry');
SELECT is_empty($$SELECT * FROM erp.verify() WHERE item_id = ANY (pg_temp.items())$$,
    'erp.verify() (with the cost checks) is empty after the archive: it starts from the closed period');
SELECT is_empty($$SELECT * FROM erp.verify_costs() WHERE item_id = ANY (pg_temp.items())$$,
    'erp.verify_costs() is empty: the period''s costs plus the entries after it are the balances');
SELECT results_eq($$SELECT v.* FROM erp.inventory_value_at(now()) v WHERE v.sku LIKE 'TAP62-%' ORDER BY 1, 2$$,
    $$SELECT sku, node, qty, unit_cost, value FROM tap62_before WHERE at = 'now' ORDER BY 1, 2$$,
    'erp.inventory_value_at(now()) answers as before the archive');
SELECT results_eq($$SELECT v.* FROM erp.inventory_value_at(now() - interval '15 days') v WHERE v.sku LIKE 'TAP62-%' ORDER BY 1, 2$$,
    $$SELECT sku, node, qty, unit_cost, value FROM tap62_before WHERE at = 'then' ORDER BY 1, 2$$,
    'and fifteen days ago too (it reads the archive)');
SELECT results_eq($$SELECT * FROM erp.kpi_margin WHERE category = 'tap62'$$, $$SELECT * FROM tap62_margin$$,
    'the margin view is unchanged: cogs 31.00 + 30.00 + 11.17 read from the archive and the ledger');
SELECT is((SELECT cogs FROM erp.kpi_margin WHERE category = 'tap62'), 72.17::numeric(14,2), 'cogs 72.17 to the cent');
-- markdown candidates count the sales of the last 90 days from the archive too: average sold
-- 3 (archived) + 1, fifo 3 (archived); 11 x 90 / 4 = 247.5 and 7 x 90 / 3 = 210 days of supply
SELECT results_eq($$SELECT sku, sold_90d, days_of_supply, reasons FROM erp.markdown_candidates WHERE sku LIKE 'TAP62-%' ORDER BY sku$$,
    $$VALUES ('TAP62-AVG', 4::bigint, 247.5::numeric, 'overstocked'), ('TAP62-FIFO', 3, 210.0, 'overstocked')$$,
    'markdown candidates: the archived sales still count (not "slow")');

-- a partner of the store reads the closed costs and archived entries of its node only
CREATE ROLE tap62_partner;
GRANT erp_operator, erp_reader TO tap62_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap62_partner', node_id FROM erp.node WHERE code = 'TAP62-ST';
SET ROLE tap62_partner;
SELECT results_eq($$SELECT n.code, p.value FROM erp.period_cost p JOIN erp.node n USING (node_id)
                     WHERE p.item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP62-%')$$,
    $$VALUES ('TAP62-ST', 20.67::numeric)$$, 'a partner reads the closed costs of its own node only');
SELECT is((SELECT count(*) FROM erp.cost_entry_archive e JOIN erp.node n USING (node_id)
            WHERE e.item_id IN (SELECT item_id FROM erp.item WHERE sku LIKE 'TAP62-%') AND n.code <> 'TAP62-ST'), 0::bigint,
    'and no archived cost entry of another node');
RESET ROLE;

-- the check is not blind: a snapshot one cent off is a problem
SET LOCAL session_replication_role = replica;
UPDATE erp.period_cost SET value = value + 0.01
 WHERE upto = current_date - 10 AND item_id = (SELECT item_id FROM erp.item WHERE sku = 'TAP62-FIFO');
SET LOCAL session_replication_role = origin;
SELECT results_eq($$SELECT problem, expected, actual FROM erp.verify_costs() WHERE item_id = ANY (pg_temp.items())$$,
    $$VALUES ('cost balance differs from its cost entries (cents)', 7334::bigint, 7333::bigint)$$,
    'a tampered period cost is found by erp.verify_costs()');

SELECT * FROM finish();
ROLLBACK;
