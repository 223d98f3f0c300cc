-- 52_worklist.sql: erp.worklist (issue 15, deliverable 7; doc/planning-signals.md).
-- One of each kind, planted with known values and ages; the list ranks them by
-- score = value x (1 + days waiting / 7), says why, and shows a partner its nodes only.
BEGIN;
SELECT plan(10);

INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES ('W52-A', 20, 50, true);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('W52-B', 5, 10), ('W52-C', 10, 40);
INSERT INTO erp.node (code) VALUES ('W52-N1'), ('W52-N2');
INSERT INTO erp.channel (code) VALUES ('W52-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'W52-WEB' AND n.code IN ('W52-N1', 'W52-N2');
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('W52-SUP', 5);
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 10) ON CONFLICT (kind) DO UPDATE SET max_auto_value = 10;
CREATE ROLE w52_partner;
CREATE ROLE w52_clerk;
GRANT erp_operator, erp_reader TO w52_partner, w52_clerk;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'w52_partner', node_id FROM erp.node WHERE code = 'W52-N2';
SELECT erp.receive('W52-B', 'W52-N2', 10), erp.receive('W52-C', 'W52-N2', 10);
CREATE TEMP TABLE w52 (name text PRIMARY KEY, id bigint);
GRANT ALL ON w52 TO PUBLIC;
CREATE FUNCTION pg_temp.id(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM w52 WHERE name = n $$;

-- Ages are set in hours: the worklist counts days waiting as elapsed time (seconds / 86400),
-- and a calendar interval '7 days' is 167 or 169 hours across a DST change of the session's
-- zone (a cluster initdb'd on a machine in Los Angeles or Berlin, the week after the change).
-- a backorder: 3 units of W52-A (revenue 150), captured 7 days ago: 150 x 2 = 300
INSERT INTO w52 VALUES ('bo', erp.capture_order('W52-WEB', 'w52-bo', '[{"sku": "W52-A", "qty": 3}]'));
SELECT count(*) FROM erp.allocate(pg_temp.id('bo'));
UPDATE erp.sales_order SET created_at = now() - interval '168 hours' WHERE order_id = pg_temp.id('bo');
-- a purchase order of 2 of them, due 2 days ago: late with an order waiting (150 x (1 + 2/7) = 192.86),
-- and not enough to take the backorder out of risk
INSERT INTO w52 VALUES ('po', erp.create_po('W52-SUP', 'W52-N1', '[{"sku": "W52-A", "qty": 2}]', now() + interval '1 day'));
UPDATE erp.purchase_order SET expected_at = now() - interval '48 hours' WHERE purchase_order_id = pg_temp.id('po');
-- an adjustment of -5 x 5 = 25 waiting for an approver for 14 days: 25 x 3 = 75
SET ROLE w52_clerk;
INSERT INTO w52 VALUES ('adj', erp.adjust('W52-B', 'W52-N2', -5, 'broken shelf'));
RESET ROLE;
UPDATE erp.adjustment SET created_at = now() - interval '336 hours' WHERE adjustment_id = pg_temp.id('adj');
-- a return of one W52-C (40) received 3 days ago, not inspected: 40 x (1 + 3/7) = 57.14;
-- and one received today (not stuck yet)
CREATE FUNCTION pg_temp.returned(ref text, days_ago int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint;
    r bigint;
BEGIN
    o := erp.capture_order('W52-WEB', ref, '[{"sku": "W52-C", "qty": 1}]');
    PERFORM count(*) FROM erp.allocate(o);
    PERFORM erp.pick(o, 'W52-C', 1);
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    r := erp.authorize_return(o, '[{"sku": "W52-C", "qty": 1, "reason": "too_small"}]');
    PERFORM erp.receive_return(r);
    UPDATE erp.rma_line SET received_at = now() - days_ago * interval '24 hours' WHERE rma_id = r;
    RETURN (SELECT rma_line_id FROM erp.rma_line WHERE rma_id = r);
END $$;
INSERT INTO w52 VALUES ('stuck', pg_temp.returned('w52-r1', 3)), ('fresh', pg_temp.returned('w52-r2', 0));
-- an open anomaly at N2 worth 100, found now: 100
WITH a AS (INSERT INTO erp.anomaly (kind, ref, node_id, score, value, detail)
           SELECT 'shrinkage', 'w52-planted', node_id, 9.5, 100, '{}' FROM erp.node WHERE code = 'W52-N2'
           RETURNING anomaly_id)
INSERT INTO w52 SELECT 'anomaly', anomaly_id FROM a;

CREATE TEMP VIEW wl AS
SELECT * FROM erp.worklist
 WHERE ref IN (format('order:%s:1', pg_temp.id('bo')), 'po:' || pg_temp.id('po'), 'adjustment:' || pg_temp.id('adj'),
               'rma_line:' || pg_temp.id('stuck'), 'rma_line:' || pg_temp.id('fresh'), 'anomaly:' || pg_temp.id('anomaly'));
GRANT SELECT ON wl TO PUBLIC;

SELECT results_eq(
    $$SELECT kind, node, score FROM wl$$,
    $$VALUES ('backorder', NULL, 300.00), ('late_po', 'W52-N1', 192.86), ('anomaly', 'W52-N2', 100.00),
             ('adjustment_approval', 'W52-N2', 75.00), ('return_inspection', 'W52-N2', 57.14)$$,
    'one list, most urgent first: value x (1 + days waiting / 7) ranks a week-old backorder above a late purchase order, an anomaly, an old adjustment and a stuck return');
SELECT is((SELECT count(*) FROM wl WHERE ref = 'rma_line:' || pg_temp.id('fresh')), 0::bigint,
          'a return received today is not stuck yet (over 2 days)');
SELECT ok((SELECT why FROM wl WHERE kind = 'backorder') LIKE '%waits for 3 units of W52-A (revenue 150.00)%bring 2 of the 3 units%',
          'the backorder says what waits, its revenue, and that the purchase orders due do not cover it');
SELECT ok((SELECT why FROM wl WHERE kind = 'late_po') LIKE format('purchase order %s from W52-SUP to W52-N1 was due %s; 1 orders wait%%', pg_temp.id('po'), (now() - interval '48 hours')::date),
          'the late purchase order says whence, where, since when and how many orders wait');
SELECT ok((SELECT why FROM wl WHERE kind = 'adjustment_approval') LIKE '%value 25.00) has waited 14.0 days for an approver; asked by w52_clerk',
          'the adjustment says its value, how long it waited and who asked');
SELECT ok((SELECT why FROM wl WHERE kind = 'return_inspection') LIKE '%1 units of W52-C received at W52-N2 on % are not inspected (worth 40.00)',
          'the stuck return says what, where and since when');

-- a purchase order that covers the backorder within 7 days takes it off the list
SELECT erp.create_po('W52-SUP', 'W52-N1', '[{"sku": "W52-A", "qty": 1}]', now() + interval '6 days');
SELECT is((SELECT count(*) FROM wl WHERE kind = 'backorder'), 0::bigint,
          'a backorder that purchase orders due within 7 days cover is not at risk');
-- a closed anomaly leaves it
SELECT erp.close_anomaly(pg_temp.id('anomaly'), 'recounted');
SELECT is((SELECT count(*) FROM wl WHERE kind = 'anomaly'), 0::bigint, 'a closed anomaly leaves the list');

SET ROLE w52_partner;
SELECT results_eq(
    $$SELECT kind, node FROM wl$$,
    $$VALUES ('adjustment_approval', 'W52-N2'), ('return_inspection', 'W52-N2')$$,
    'a partner of N2 sees N2''s rows only: not the business''s backorder nor N1''s purchase order');
RESET ROLE;
SELECT is((SELECT count(*) FROM wl WHERE score IS NULL OR why IS NULL), 0::bigint, 'every row has a score and a why');

SELECT * FROM finish();
ROLLBACK;
