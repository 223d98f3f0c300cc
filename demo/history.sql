-- demo/history.sql: the twelve weeks before the peak day, so that the planning
-- views (forecasts and their accuracy, replenishment from the forecast, return
-- forecast, anomalies, the worklist) read real history.  Run after setup.sql,
-- before the first trading hour.
--
--   1. demand: 84 days of daily demand per item and channel at the DC for the
--      400 items with a stock policy (a weekly pattern, a trend on every
--      seventh item, slow movers, four items with a week sold out), kept in
--      demo_demand and loaded with erp.import_demand;
--   2. forecasts as they were: refreshes 28 and 14 days ago
--      (see "back-dating" below), so that erp.kpi_forecast_accuracy has
--      snapshots to hold against what then happened;
--   3. cycle counts of 40 items, one every six days, a unit off now and then,
--      and one planted shrinkage three days ago;
--   4. web orders shipped over the last 60 days, returns at a rate and delay
--      per category, a few received and not yet inspected;
--   5. stock policies get a service level (0.95) for the forecast figures.
--
-- Back-dating (demo only).  The extension's functions stamp now(); the views
-- read dates.  To give them weeks of history in a few seconds this script moves
-- what it wrote onto past dates, as demo/clock.sql does for the day's hours:
--   - a refresh "k days ago" runs on the history up to k+1 days ago imported
--     k days later (so it ends yesterday), and its snapshot rows are then moved
--     k days back (taken_at and day); the true history is imported after;
--   - counts and their adjustments get the count's date (counted_at, created_at);
--   - history orders, shipments and returns get their days (created_at,
--     shipped_at, authorized_at, received_at, inspected_at);
--   - the events all this wrote go to an hour before the day opens.
-- The ledger (erp.stock_move) keeps its real times: it is append-only.  So the
-- stockout week of the four "gap" items is days without demand in the import,
-- not days the ledger marks as stockout days: the forecast reads it as low
-- demand, which is what a legacy export without stock levels would give.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET application_name = 'demo-history';
SELECT setseed(0.17);
CREATE TEMP TABLE hist_mark AS SELECT clock_timestamp() AS mark;

-- Poisson draws (Knuth's product of uniforms; a normal approximation above 30)
CREATE FUNCTION pg_temp.poisson(lambda float8) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    limit_p float8 := exp(-lambda);
    p float8 := 1;
    k int := 0;
BEGIN
    IF lambda <= 0 THEN
        RETURN 0;
    ELSIF lambda > 30 THEN
        RETURN greatest(0, round(lambda + sqrt(lambda) * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())));
    END IF;
    LOOP
        p := p * random();
        EXIT WHEN p <= limit_p;
        k := k + 1;
    END LOOP;
    RETURN k;
END $$;

-- 1. demand ------------------------------------------------------------------
-- what each policy item sells on an ordinary day: its share of 12,000 units by
-- the popularity curve the peak day draws its order lines from (demo/hour.sql:
-- P(rank <= r) = (r / skus)^(1/2.2)), so that the peak day is about three
-- ordinary days: the best seller ~360 a day, the 10th ~47, the 100th ~13, the
-- 300th ~7; ranks above 300 are slow movers (one unit every four days or so)
CREATE TABLE demo_profile AS
SELECT i.item_id, i.sku, i.category, d.rank,
       CASE WHEN d.rank > 300 THEN 'slow'
            WHEN d.rank IN (5, 17, 42, 77) THEN 'gap'
            WHEN d.rank % 7 = 3 THEN 'trend'
            ELSE 'steady' END AS pattern,
       CASE WHEN d.rank > 300 THEN 0.25
            ELSE 12000 * (power(d.rank / n.skus, 1 / 2.2) - power((d.rank - 1) / n.skus, 1 / 2.2)) END AS level
  FROM erp.stock_policy p
  JOIN erp.item i ON i.item_id = p.item_id
  JOIN demo_sku d ON d.sku = i.sku
 CROSS JOIN (SELECT count(*)::float8 AS skus FROM demo_sku) n
 WHERE p.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER');

-- channels' shares; a week that peaks on Saturday
CREATE TEMP TABLE share (category_is_apparel boolean, channel text, share float8);
INSERT INTO share VALUES (true, 'WEB', 0.45), (true, 'AMAZON', 0.30), (true, 'ZALANDO', 0.25),
                         (false, 'WEB', 0.60), (false, 'AMAZON', 0.40);
CREATE TEMP TABLE week (isodow int PRIMARY KEY, factor float8);
INSERT INTO week VALUES (1, 0.85), (2, 0.90), (3, 0.95), (4, 1.00), (5, 1.10), (6, 1.30), (7, 0.90);

CREATE TABLE demo_demand AS
SELECT p.item_id, p.sku, s.channel, g.day, pg_temp.poisson(
           p.level * s.share
           * CASE WHEN p.pattern = 'slow' THEN 1 ELSE w.factor END
           * CASE WHEN p.pattern = 'trend' THEN 0.6 + 0.8 * g.idx / 83.0 ELSE 1 END
           * CASE WHEN p.pattern = 'gap' AND g.day BETWEEN CURRENT_DATE - 19 AND CURRENT_DATE - 13 THEN 0 ELSE 1 END
       ) AS qty
  FROM demo_profile p
  JOIN share s ON s.category_is_apparel = (p.category = 'apparel')
 CROSS JOIN LATERAL (SELECT (CURRENT_DATE - 84 + k) AS day, k AS idx FROM generate_series(0, 83) k) g
  JOIN week w ON w.isodow = extract(isodow FROM g.day)
 ORDER BY p.item_id, s.channel, g.day;

-- the history as it stood k days ago, moved k days later so that it ends yesterday
CREATE FUNCTION pg_temp.import_as_of(k int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM erp.demand_import;   -- demo only: the previous (shifted) import
    RETURN erp.import_demand((SELECT jsonb_agg(jsonb_build_object('sku', sku, 'channel', channel, 'node', 'DC-BER',
                                                                  'day', day + k, 'qty', qty))
                                FROM demo_demand WHERE day < CURRENT_DATE - k AND qty > 0));
END $$;
-- 2. two refreshes as they were, 28 and 14 days ago (a fortnightly job: each
-- forecasts 28 days, so the last 28 days are covered; two rather than four keep
-- the demo short); each one's snapshot moved back k days
SELECT pg_temp.import_as_of(28) AS rows_imported_as_of_28_days_ago;
SELECT erp.refresh_forecasts() AS series_refreshed_28_days_ago;
UPDATE erp.forecast_snapshot SET day = day - 28, taken_at = taken_at - interval '28 days' WHERE taken_at > now() - interval '1 hour';
SELECT pg_temp.import_as_of(14);
SELECT erp.refresh_forecasts() AS series_refreshed_14_days_ago;
UPDATE erp.forecast_snapshot SET day = day - 14, taken_at = taken_at - interval '14 days' WHERE taken_at > now() - interval '1 hour';
-- and the true history (today's refresh runs after the peak day, demo/planning.sql)
SELECT pg_temp.import_as_of(0) AS rows_imported;

-- 5. the forecast figures in erp.replenishment need a service level
UPDATE erp.stock_policy SET service_level = 0.95;

-- 3. counts --------------------------------------------------------------------
-- 40 items at the DC, cheap and dear, counted every six days for eight weeks:
-- mostly right, a unit off now and then; the approver clears the variances above
-- the automatic limit; counts and their adjustments get their dates
CREATE TEMP TABLE count_items AS
SELECT a.sku FROM erp.availability a JOIN erp.item i ON i.item_id = a.item_id
 WHERE a.node = 'DC-BER' AND NOT i.lot_tracked AND i.sku NOT LIKE 'KIT-%' AND a.available >= 30
 ORDER BY hashtext(a.sku) LIMIT 40;
CREATE TEMP TABLE hist_count (round int, cycle_count_id bigint);
DO $$
DECLARE
    r int;
    waiting bigint[];
BEGIN
    FOR r IN 1..9 LOOP
        INSERT INTO hist_count
        SELECT r, erp.count(a.sku, a.node, greatest(a.available + CASE WHEN random() < 0.75 THEN 0
                                                                        WHEN random() < 0.5 THEN -1 ELSE 1 END, 0))
          FROM count_items c JOIN erp.availability a ON a.sku = c.sku AND a.node = 'DC-BER';
        SELECT array_agg(a.adjustment_id) INTO waiting
          FROM hist_count h JOIN erp.cycle_count c ON c.cycle_count_id = h.cycle_count_id
          JOIN erp.adjustment a ON a.adjustment_id = c.adjustment_id
         WHERE h.round = r AND a.status = 'pending_approval';
        IF waiting IS NOT NULL THEN
            SET ROLE demo_approver;
            PERFORM erp.approve_adjustment(x) FROM unnest(waiting) x;
            RESET ROLE;
        END IF;
    END LOOP;
END $$;
-- the planted shrinkage: 14 units of one item gone, found by a count three days ago
INSERT INTO hist_count
SELECT 10, erp.count(a.sku, a.node, a.available - 14)
  FROM count_items c JOIN erp.availability a ON a.sku = c.sku AND a.node = 'DC-BER'
  JOIN erp.item i ON i.sku = c.sku
 WHERE i.unit_cost <= 40
 ORDER BY c.sku LIMIT 1;
-- round r happened (10 - r) * 6 days ago, the planted one 3 days ago (demo-only back-dating)
CREATE TEMP TABLE count_day AS
SELECT c.cycle_count_id, c.adjustment_id,
       now() - CASE WHEN h.round = 10 THEN interval '3 days' ELSE (10 - h.round) * interval '6 days' END
             - interval '5 hours' AS at
  FROM hist_count h JOIN erp.cycle_count c ON c.cycle_count_id = h.cycle_count_id;
UPDATE erp.cycle_count c SET counted_at = d.at FROM count_day d WHERE c.cycle_count_id = d.cycle_count_id;
UPDATE erp.adjustment a SET created_at = d.at, decided_at = CASE WHEN a.decided_at IS NOT NULL THEN d.at END
  FROM count_day d WHERE a.adjustment_id = d.adjustment_id;

-- 4. orders shipped and returned -------------------------------------------------
-- 2,000 single-line web orders over the 58 days before yesterday; each category returns at
-- its rate after its delay (apparel often and soon, electronics rarely and late)
CREATE TEMP TABLE category_returns (category text PRIMARY KEY, rate float8, delay_min int, delay_max int);
INSERT INTO category_returns VALUES ('apparel', 0.28, 5, 12), ('health_beauty', 0.04, 3, 6),
                                    ('home', 0.08, 7, 14), ('electronics', 0.10, 10, 20);
CREATE TEMP TABLE hist_order AS
SELECT erp.capture_order('WEB', 'HIST-' || g, jsonb_build_array(jsonb_build_object('sku', d.sku, 'qty', 1)),
                         jsonb_build_object('lat', 52.5, 'lon', 13.4)) AS order_id,
       d.sku, d.category, CURRENT_DATE - 2 - (random() * 58)::int AS ship_day
  FROM generate_series(1, 2000) g
 CROSS JOIN LATERAL (SELECT 1 + floor(power(random(), 2.2) * 1960)::int + g * 0 AS rank) pick
  JOIN demo_sku d ON d.rank = pick.rank
 WHERE d.sku NOT LIKE 'KIT-%';
SELECT count(*) FROM hist_order o, LATERAL erp.allocate(o.order_id);
SELECT count(erp.pick(o.order_id, r.sku, r.qty))
  FROM hist_order o JOIN (SELECT rv.order_id, i.sku, rv.qty FROM erp.reservation rv JOIN erp.item i USING (item_id)) r
    ON r.order_id = o.order_id;
DELETE FROM hist_order o WHERE (SELECT status FROM erp.sales_order s WHERE s.order_id = o.order_id) <> 'picking';
SELECT count(erp.pack(order_id)) FROM hist_order;
SELECT count(erp.ship(order_id, 'DHL', 'TRK-H' || order_id)) FROM hist_order;
-- which come back, and when
CREATE TEMP TABLE hist_return AS
SELECT o.order_id, o.sku, o.ship_day,
       o.ship_day + c.delay_min + floor(random() * (c.delay_max - c.delay_min + 1))::int AS back_day
  FROM hist_order o JOIN category_returns c ON c.category = o.category
 WHERE random() < c.rate + 0 * o.order_id;   -- a draw per order, not per category
ALTER TABLE hist_return ADD COLUMN rma_id bigint;
UPDATE hist_return h SET rma_id = erp.authorize_return(h.order_id,
           jsonb_build_array(jsonb_build_object('sku', h.sku, 'qty', 1,
               'reason', (ARRAY['too_small', 'too_large', 'changed_mind', 'not_as_described', 'defective'])[1 + floor(random() * 5)::int])));
-- parcels that have arrived by now; all but a few of those older than two days inspected
SELECT count(erp.receive_return(rma_id)) FROM hist_return WHERE back_day < CURRENT_DATE;
SELECT count(erp.inspect_return(l.rma_line_id, (ARRAY['new', 'new', 'opened', 'used', 'damaged'])[1 + floor(random() * 5)::int]::erp.item_condition))
  FROM hist_return h JOIN erp.rma_line l ON l.rma_id = h.rma_id
 WHERE h.back_day < CURRENT_DATE AND NOT (h.back_day BETWEEN CURRENT_DATE - 6 AND CURRENT_DATE - 3 AND h.order_id % 3 = 0);
-- the approver has cleared the refunds of these weeks
SELECT COALESCE(array_agg(l.rma_line_id), '{}') AS waiting_refunds
  FROM hist_return h JOIN erp.rma_line l ON l.rma_id = h.rma_id WHERE l.refund_status = 'awaiting_approval' \gset
SET ROLE demo_approver;
SELECT count(erp.approve_refund(x)) FROM unnest(:'waiting_refunds'::bigint[]) x;
RESET ROLE;
-- their days (demo-only back-dating): ordered and shipped on the ship day (two
-- days ago at the latest), authorised two days before the parcel arrived (at the
-- latest two days ago), inspected the same afternoon; nothing lands in the future
-- or in the peak day (demo/clock.sql moves what is newer than each hour's start)
UPDATE erp.sales_order s SET created_at = o.ship_day + time '09:00' + (o.order_id % 480) * interval '1 minute',
                             updated_at = o.ship_day + time '17:00'
  FROM hist_order o WHERE s.order_id = o.order_id;
UPDATE erp.shipment sh SET shipped_at = o.ship_day + time '17:00'
  FROM erp.shipment_line sl JOIN hist_order o ON o.order_id = sl.order_id
 WHERE sh.shipment_id = sl.shipment_id;
UPDATE erp.rma r SET authorized_at = least(greatest(h.back_day - 2, h.ship_day), CURRENT_DATE - 2) + time '18:00',
                     expires_at = least(greatest(h.back_day - 2, h.ship_day), CURRENT_DATE - 2) + time '18:00' + interval '30 days'
  FROM hist_return h WHERE r.rma_id = h.rma_id;
UPDATE erp.rma_line l SET received_at = h.back_day + time '10:00',
                          inspected_at = CASE WHEN l.inspected_at IS NOT NULL THEN h.back_day + time '16:00' END,
                          available_at = CASE WHEN l.available_at IS NOT NULL THEN h.back_day + time '16:00' END,
                          refunded_at = CASE WHEN l.refunded_at IS NOT NULL THEN h.back_day + time '16:00' END
  FROM hist_return h WHERE l.rma_id = h.rma_id AND h.back_day < CURRENT_DATE;
-- the events these wrote (orders, shipments, counts, returns) go before the day
-- opens, so that "events of the day" are the day's (demo-only back-dating)
UPDATE erp.event SET at = (SELECT t0 FROM demo_clock) - interval '1 hour' WHERE at >= (SELECT mark FROM hist_mark);
ANALYZE;
