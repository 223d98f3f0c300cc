-- demo/replenishment_sim.sql: replays the demo's demand history (demo_demand,
-- written by demo/history.sql) for each item with a stock policy at the DC
-- under three reorder rules, and measures stockout days and stock held.
-- `make demo` runs it (scripts/demo.sh, after the peak day); by hand, on a
-- database where demo/setup.sql and demo/history.sql ran:
--     psql -v service_level=0.95 -f demo/replenishment_sim.sql
-- It writes demo_sim (one row per rule and segment) and prints it.
--
-- The rules, as erp.replenishment states them (doc/planning.md, section 5):
--   policy     reorder when the position falls below the policy's reorder_point,
--              up to its order_up_to (suggested_qty; what create_replenishment_pos orders)
--   mean28     reorder point = the 28-day mean of demand x lead time + the policy's
--              safety stock (the old view's avg_daily_demand put to use)
--   forecast   reorder point = d x LT + z x sigma x sqrt(LT) (fc_reorder_point):
--              d the forecast's mean daily demand over the lead time, sigma the
--              standard deviation of its one-step errors, z for the service level
--   mean28+k   "the same service the old way": the 28-day mean x (lead time + k
--              days), k the fewest quarter days (to 20) at which the fill rate over
--              all items reaches the forecast rule's; its stock is what the old
--              rule needs for the new rule's service
--   forecast@p "the same stock the new way": the forecast rule at the service
--              level p (hundredths, 0.50..0.99) whose average stock is the
--              highest not above the 28-day-mean rule's
-- Every rule orders the policy's quantity: up to its reorder point plus
-- (order_up_to - reorder_point), as fc_suggested_qty does.
--
-- The replay: the last 56 days of the history, day by day.  The forecast is
-- refreshed weekly (as a nightly job would be read by a weekly buying round) by
-- erp.forecast_series on the days before; the 28-day mean is recomputed daily.
-- Each rule starts the first day at its own order-up-to level, with nothing on
-- order.  A day: what was ordered lead-time days ago arrives, demand is served
-- from stock and what cannot be served is lost (a stockout day), then the
-- position (stock + on order) is compared with the reorder point.  The lead
-- time is the supplier's, constant (the demo has no history of late deliveries,
-- so sigma_LT = 0 as in erp.replenishment without received purchase orders).
-- The four "gap" items' sold-out week is replayed as the history recorded it
-- (no demand), for every rule.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\if :{?service_level}
\else
\set service_level 0.95
\endif

CREATE TEMP TABLE sim_item AS
SELECT p.item_id, p.sku, p.rank, p.pattern, i.unit_cost,
       COALESCE(sp.lead_time_days, s.lead_time_days, 7) AS lt,
       sp.safety_stock, sp.reorder_point, sp.order_up_to,
       (SELECT array_agg(COALESCE(x.qty, 0)::float8 ORDER BY g.day)
          FROM generate_series(CURRENT_DATE - 84, CURRENT_DATE - 1, interval '1 day') g(day)
          LEFT JOIN (SELECT day, sum(qty) AS qty FROM demo_demand dd WHERE dd.item_id = p.item_id GROUP BY day) x
            ON x.day = g.day::date) AS dem
  FROM demo_profile p
  JOIN erp.item i ON i.item_id = p.item_id
  JOIN erp.stock_policy sp ON sp.item_id = p.item_id
                          AND sp.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER')
  LEFT JOIN erp.supplier s ON s.supplier_id = sp.supplier_id;

-- the weekly forecasts: week w (0..7) is made on days 1 .. 28 + 7w of the history
CREATE TEMP TABLE sim_fc AS
SELECT it.item_id, w AS week, f.d, f.sigma
  FROM sim_item it
 CROSS JOIN generate_series(0, 7) w
 CROSS JOIN LATERAL (
       SELECT avg(fs.qty) FILTER (WHERE fs.step <= greatest(it.lt, 1))::float8 AS d,
              max((fs.hi - fs.qty) / 1.96) FILTER (WHERE fs.step = 1)::float8 AS sigma
         FROM erp.forecast_series(it.dem[1:28 + 7 * w], NULL, 28) fs) f;

-- each item's eight weekly forecasts as arrays, for the replay
CREATE TEMP TABLE sim_plan AS
SELECT it.*, array_agg(f.d ORDER BY f.week) AS fc_d, array_agg(f.sigma ORDER BY f.week) AS fc_sigma
  FROM sim_item it JOIN sim_fc f ON f.item_id = it.item_id
 GROUP BY it.item_id, it.sku, it.rank, it.pattern, it.unit_cost, it.lt, it.safety_stock, it.reorder_point,
          it.order_up_to, it.dem;

CREATE TEMP TABLE sim_run (rule text, item_id bigint, stockout_days int, demanded float8, lost float8,
                           stock_days float8, days int);
-- replay(rule, z, safety_days): z for the forecast rule; safety_days for the
-- 28-day-mean rule given days of mean demand as safety stock instead of the
-- policy's fixed safety stock (to reach the forecast rule's service)
CREATE FUNCTION pg_temp.replay(rule text, z float8, safety_days float8 DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    it record;
    arrive float8[];
    t int;
    on_hand float8;
    on_order float8;
    sum28 float8;
    mean28 float8;
    rop float8;
    upto float8;
    q float8;
    served float8;
    w int;
    n_out int;
    n_dem float8;
    n_lost float8;
    n_stock float8;
BEGIN
    FOR it IN SELECT * FROM sim_plan LOOP
        arrive := array_fill(0::float8, ARRAY[84 + 60]);
        n_out := 0; n_dem := 0; n_lost := 0; n_stock := 0; on_order := 0; on_hand := NULL;
        sum28 := 0;
        FOR t IN 1..28 LOOP
            sum28 := sum28 + it.dem[t];
        END LOOP;
        FOR t IN 29..84 LOOP
            mean28 := sum28 / 28;                    -- the 28 days before day t
            IF rule = 'policy' THEN
                rop := it.reorder_point;
                upto := it.order_up_to;
            ELSIF rule = 'mean28' THEN
                rop := ceil(mean28 * (it.lt + COALESCE(safety_days, 0)))
                       + CASE WHEN safety_days IS NULL THEN it.safety_stock ELSE 0 END;
                upto := rop + greatest(it.order_up_to - it.reorder_point, 0);
            ELSE
                w := 1 + (t - 29) / 7;
                rop := ceil(it.fc_d[w] * it.lt + z * it.fc_sigma[w] * sqrt(it.lt));
                upto := rop + greatest(it.order_up_to - it.reorder_point, 0);
            END IF;
            IF on_hand IS NULL THEN
                on_hand := upto;                     -- the first day starts full
            END IF;
            on_hand := on_hand + arrive[t];
            on_order := on_order - arrive[t];
            served := least(on_hand, it.dem[t]);
            on_hand := on_hand - served;
            n_dem := n_dem + it.dem[t];
            n_lost := n_lost + (it.dem[t] - served);
            IF it.dem[t] > served THEN
                n_out := n_out + 1;
            END IF;
            n_stock := n_stock + on_hand;
            IF on_hand + on_order < rop THEN
                q := upto - (on_hand + on_order);
                arrive[t + it.lt] := arrive[t + it.lt] + q;
                on_order := on_order + q;
            END IF;
            sum28 := sum28 + it.dem[t] - it.dem[t - 28];
        END LOOP;
        INSERT INTO sim_run VALUES (rule || COALESCE('+' || safety_days, ''), it.item_id, n_out, n_dem, n_lost, n_stock, 56);
    END LOOP;
END $$;
\o /dev/null
SELECT pg_temp.replay('policy', 0), pg_temp.replay('mean28', 0),
       pg_temp.replay('forecast', erp.normal_quantile(:service_level::float8));
\o
-- the same service from the 28-day mean: the fewest quarter days of mean demand
-- as safety stock (0.25 to 20, by bisection; the fill rate grows with them) at
-- which its fill rate over all items reaches the forecast rule's
CREATE TEMP TABLE sim_try (k float8 PRIMARY KEY, fill float8);
DO $$
DECLARE
    target float8 := (SELECT 1 - sum(lost) / sum(demanded) FROM sim_run WHERE rule = 'forecast');
    lo int := 0;        -- quarters of a day: lo fails (0 is the mean28 rule without days), hi reaches
    hi int := 80;
    mid int;
    f float8;
BEGIN
    WHILE hi - lo > 1 LOOP
        mid := (lo + hi) / 2;
        PERFORM pg_temp.replay('mean28', 0, mid / 4.0);
        SELECT 1 - sum(lost) / sum(demanded) INTO f FROM sim_run WHERE rule = 'mean28+' || (mid / 4.0)::float8;
        INSERT INTO sim_try VALUES (mid / 4.0, f);
        IF f >= target THEN
            hi := mid;
        ELSE
            lo := mid;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM sim_try WHERE k = hi / 4.0) THEN
        PERFORM pg_temp.replay('mean28', 0, hi / 4.0);
    END IF;
    DELETE FROM sim_run WHERE rule LIKE 'mean28+%' AND rule <> 'mean28+' || (hi / 4.0)::float8;
END $$;

-- the same stock from the forecast: the service level (0.50 to 0.99, by
-- bisection on hundredths) whose average stock is closest to, and not above,
-- the 28-day-mean rule's
DO $$
DECLARE
    target float8 := (SELECT sum(stock_days) FROM sim_run WHERE rule = 'mean28');
    lo int := 50;       -- hundredths: lo holds no more stock than the target, hi more
    hi int := 99;
    mid int;
    st float8;
BEGIN
    WHILE hi - lo > 1 LOOP
        mid := (lo + hi) / 2;
        PERFORM pg_temp.replay('forecast@' || mid, erp.normal_quantile(mid / 100.0));
        SELECT sum(stock_days) INTO st FROM sim_run WHERE rule = 'forecast@' || mid;
        IF st <= target THEN
            lo := mid;
        ELSE
            hi := mid;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM sim_run WHERE rule = 'forecast@' || lo) THEN
        PERFORM pg_temp.replay('forecast@' || lo, erp.normal_quantile(lo / 100.0));
    END IF;
    DELETE FROM sim_run WHERE rule LIKE 'forecast@%' AND rule <> 'forecast@' || lo;
END $$;

DROP TABLE IF EXISTS demo_sim;
CREATE TABLE demo_sim AS
SELECT CASE WHEN r.rule = 'policy' THEN 'old: reorder point 40, up to 160 (the policy)'
            WHEN r.rule = 'mean28' THEN 'old: 28-day mean x lead time + safety stock'
            WHEN r.rule LIKE 'mean28+%' THEN format('old, same service: 28-day mean x (lead time + %s days)', split_part(r.rule, '+', 2))
            WHEN r.rule LIKE 'forecast@%' THEN format('new, same stock: forecast, service level 0.%s', split_part(r.rule, '@', 2))
            ELSE format('new: forecast, service level %s', :'service_level') END AS rule,
       s.segment, count(*) AS items,
       sum(r.stockout_days) AS stockout_days,
       round(100.0 * sum(r.stockout_days) / sum(r.days), 1) AS stockout_days_pct,
       round((100 * (1 - sum(r.lost) / nullif(sum(r.demanded), 0)))::numeric, 1) AS fill_rate_pct,
       round((sum(r.stock_days) / 56)::numeric) AS avg_stock_units,
       round((sum(r.stock_days * i.unit_cost) / 56)::numeric) AS avg_stock_value,
       CASE WHEN r.rule = 'policy' THEN 1 WHEN r.rule = 'mean28' THEN 2 WHEN r.rule = 'forecast' THEN 3
            WHEN r.rule LIKE 'mean28+%' THEN 4 ELSE 5 END AS rule_order
  FROM sim_run r
  JOIN sim_item i ON i.item_id = r.item_id
 CROSS JOIN LATERAL (VALUES ('1 all items'), (CASE i.pattern WHEN 'steady' THEN '2 steady' WHEN 'trend' THEN '3 trend'
                                                               WHEN 'gap' THEN '4 sold-out week' ELSE '5 slow movers' END)) s(segment)
 GROUP BY r.rule, s.segment;
UPDATE demo_sim SET segment = substr(segment, 3), rule_order = rule_order + 10 * substr(segment, 1, 1)::int;
SELECT rule, segment, items, stockout_days, stockout_days_pct, fill_rate_pct, avg_stock_units, avg_stock_value
  FROM demo_sim ORDER BY rule_order;
