-- 19_forecast: demand history, the forecasting engine (src/forecast*.c), forecast
-- snapshots and their accuracy, and replenishment from the forecast
-- (doc/planning.md).

-- Demand a legacy system recorded before the extension (erp.import_demand).
CREATE TABLE erp.demand_import (
    demand_import_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             bigint NOT NULL REFERENCES erp.item,
    channel_id          bigint REFERENCES erp.channel,
    node_id             bigint REFERENCES erp.node,
    day                 date NOT NULL,
    qty                 bigint NOT NULL CHECK (qty >= 0),
    imported_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT demand_import_key UNIQUE NULLS NOT DISTINCT (item_id, channel_id, node_id, day)
);
COMMENT ON TABLE erp.demand_import IS 'Daily demand loaded by erp.import_demand from a system that ran before the extension; one row per item, channel, node and day (a later import of the same day replaces it)';
COMMENT ON COLUMN erp.demand_import.channel_id IS 'Channel the demand came from; NULL when the legacy system did not say';
COMMENT ON COLUMN erp.demand_import.node_id IS 'Node that served it; NULL when the legacy system did not say';
COMMENT ON COLUMN erp.demand_import.qty IS 'Units asked for that day';
-- a partner (erp.node_access) sees the rows of its nodes only, as in 85_access.sql
ALTER TABLE erp.demand_import ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.demand_import
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- Days on which an item ran out at a node: the available units of the node
-- (all bins and lots) are replayed move by move from the ledger; a day is a
-- stockout day when it opened with none available, or when available reached
-- 0 during it.  Days without moves keep the state of the day before.  A partner
-- (erp.node_access) replays its own nodes only: it sees every move of those,
-- but of another node only the moves to or from its own (a transfer's), and a
-- replay of those alone ran the other node's balance below 0.
CREATE VIEW erp.stockout_day WITH (security_invoker = true) AS
SELECT x.item_id, x.node_id, d.day
  FROM (SELECT y.item_id, y.node_id, y.day, y.low, y.close,
               pg_catalog.lag(y.close) OVER w AS prev_close,
               pg_catalog.lead(y.day) OVER w AS next_day
          FROM (SELECT r.item_id, r.node_id, r.day, pg_catalog.min(r.bal) AS low,
                       (pg_catalog.array_agg(r.bal ORDER BY r.at DESC, r.move_id DESC))[1] AS close
                  FROM (SELECT m.item_id, m.node_id, m.at, m.move_id, CAST(m.at AS date) AS day,
                               pg_catalog.sum(m.delta) OVER (PARTITION BY m.item_id, m.node_id
                                                             ORDER BY m.at, m.move_id
                                                             ROWS UNBOUNDED PRECEDING) AS bal
                          FROM (SELECT s.item_id, v.node_id, s.at, s.move_id, pg_catalog.sum(v.delta) AS delta
                                  FROM erp.stock_move s
                                 CROSS JOIN LATERAL (VALUES
                                       (s.to_node_id, CASE WHEN s.to_state = 'available' THEN s.qty END),
                                       (s.from_node_id, CASE WHEN s.from_state = 'available' THEN -s.qty END))
                                       AS v(node_id, delta)
                                 WHERE v.delta IS NOT NULL
                                   AND ((SELECT erp.visible_nodes()) IS NULL
                                        OR v.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                                 GROUP BY s.item_id, v.node_id, s.at, s.move_id) m) r
                 GROUP BY r.item_id, r.node_id, r.day) y
        WINDOW w AS (PARTITION BY y.item_id, y.node_id ORDER BY y.day)) x
 CROSS JOIN LATERAL (
       -- the day itself, when it opened with nothing available or reached 0 ...
       SELECT x.day
        WHERE x.low <= 0 OR COALESCE(x.prev_close, 0) <= 0
       UNION ALL
       -- ... and the days without moves after it, when it closed with nothing
       SELECT CAST(g AS date)
         FROM pg_catalog.generate_series(CAST(x.day + 1 AS timestamp),
                                         CAST(COALESCE(x.next_day, CURRENT_DATE + 1) - 1 AS timestamp),
                                         interval '1 day') AS g
        WHERE x.close <= 0) AS d(day);
COMMENT ON VIEW erp.stockout_day IS
    'Days on which an item was out of stock at a node: the day opened with no available units there (all bins and lots), or available reached 0 during it; days without moves after a day that closed with none count too, up to today. Demand on these days is censored (erp.demand_history). A partner sees the days of its own nodes only';

-- What customers asked for, per item, channel, node and day.  A line is demand
-- at each node that holds or shipped units of it, for those units (a line split
-- across nodes is demand at each); its units nobody holds or shipped
-- (backordered, short, cancelled) at the channel's best-ranked node, where
-- erp.replenishment counts a backorder; a line without a held or shipped unit
-- of its item (nothing allocated, or a kit, which holds its components) all
-- there.  A partner sees its own nodes' rows only.
CREATE VIEW erp.demand_history WITH (security_invoker = true) AS
WITH asked AS NOT MATERIALIZED (
    SELECT ol.item_id, o.channel_id, p.node_id, CAST(o.created_at AS date) AS day, p.qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
     CROSS JOIN LATERAL (
           WITH held AS (
               SELECT g.node_id, pg_catalog.sum(g.qty) AS qty
                 FROM (SELECT v.node_id, v.qty FROM erp.reservation v
                        WHERE v.item_id = ol.item_id AND v.order_id = ol.order_id AND v.line_no = ol.line_no
                          AND v.qty > 0
                       UNION ALL
                       SELECT sl.node_id, sl.qty FROM erp.shipment_line sl
                        WHERE sl.order_id = ol.order_id AND sl.item_id = ol.item_id AND sl.line_no = ol.line_no) g
                GROUP BY g.node_id)
           SELECT h.node_id, h.qty FROM held h
           UNION ALL
           SELECT (SELECT cn.node_id FROM erp.channel_node cn
                    WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1),
                  CASE WHEN EXISTS (SELECT 1 FROM held) THEN ol.qty - ol.qty_allocated ELSE ol.qty END
            WHERE ol.qty > ol.qty_allocated OR NOT EXISTS (SELECT 1 FROM held)) AS p(node_id, qty)
    UNION ALL
    SELECT di.item_id, di.channel_id, di.node_id, di.day, di.qty
      FROM erp.demand_import di
)
SELECT i.sku, c.code AS channel, n.code AS node, h.day, h.qty, h.censored,
       h.item_id, h.channel_id, h.node_id
  FROM (SELECT a.item_id, a.channel_id, a.node_id, a.day,
               CAST(pg_catalog.sum(a.qty) AS bigint) AS qty, pg_catalog.bool_or(a.censored) AS censored
          FROM (SELECT q.item_id, q.channel_id, q.node_id, q.day, q.qty, false AS censored
                  FROM asked q
                UNION ALL
                -- the series' stockout days at its node, from its first day on
                SELECT s.item_id, s.channel_id, s.node_id, z.day, 0, true
                  FROM (SELECT q.item_id, q.channel_id, q.node_id, pg_catalog.min(q.day) AS first_day
                          FROM asked q GROUP BY q.item_id, q.channel_id, q.node_id) s
                  JOIN erp.stockout_day z ON z.item_id = s.item_id AND z.node_id = s.node_id
                                         AND z.day >= s.first_day) a
         GROUP BY a.item_id, a.channel_id, a.node_id, a.day) h
  JOIN erp.item i ON i.item_id = h.item_id
  LEFT JOIN erp.channel c ON c.channel_id = h.channel_id
  LEFT JOIN erp.node n ON n.node_id = h.node_id
 -- a partner may see an order of another node (a channel both serve): not its demand
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR h.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.demand_history IS
    'Units asked for per item, channel, node and day: order lines as captured (qty, whatever was later allocated, shipped or cancelled; dated by the order''s capture; at each node that holds or shipped units of the line, for those units, and the units nobody holds or shipped, or a whole line without any, at the channel''s best-ranked node) plus erp.import_demand rows; a row per day with demand, and per stockout day of the node (erp.stockout_day) since the series'' first day. Days missing are days without demand. A partner sees its own nodes'' rows only';
COMMENT ON COLUMN erp.demand_history.qty IS 'Units asked for that day (0 on a stockout day without orders)';
COMMENT ON COLUMN erp.demand_history.censored IS 'The item was out of stock at the node that day: what was asked is a lower bound of demand, and the forecast does not learn from the day';
COMMENT ON COLUMN erp.demand_history.channel IS 'Channel code; NULL for imported demand without a channel';
COMMENT ON COLUMN erp.demand_history.node IS 'Node code; NULL for imported demand without a node';

-- What erp.refresh_forecasts stored: the forecast as it was, to be compared with
-- what then happened.
CREATE TABLE erp.forecast_snapshot (
    forecast_snapshot_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at                timestamptz NOT NULL DEFAULT pg_catalog.now(),
    item_id                 bigint NOT NULL,
    channel_id              bigint,
    node_id                 bigint,
    day                     date NOT NULL,
    qty                     numeric NOT NULL CHECK (qty >= 0),
    lo                      numeric NOT NULL,
    hi                      numeric NOT NULL,
    sigma                   numeric NOT NULL CHECK (sigma >= 0),
    model                   text NOT NULL,
    CONSTRAINT forecast_snapshot_qty_not_nan CHECK (qty <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_lo_not_nan CHECK (lo <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_hi_not_nan CHECK (hi <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_sigma_not_nan CHECK (sigma <> 'NaN'::numeric)
);
CREATE INDEX forecast_snapshot_series_idx ON erp.forecast_snapshot (item_id, node_id, taken_at);
CREATE INDEX forecast_snapshot_day_idx ON erp.forecast_snapshot (day);
-- a partner (erp.node_access) sees the rows of its nodes only, as in 85_access.sql
ALTER TABLE erp.forecast_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.forecast_snapshot
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
COMMENT ON TABLE erp.forecast_snapshot IS 'Daily forecasts of every active series as erp.refresh_forecasts computed them (one row per series and day of the horizon); erp.kpi_forecast_accuracy compares them with what then happened. No foreign keys: only erp.refresh_forecasts writes it, from series of existing items, channels and nodes (which are retired, never deleted), and checking three keys per row made its inserts nine times slower';
COMMENT ON COLUMN erp.forecast_snapshot.taken_at IS 'When the refresh ran (its transaction''s start): the rows of one refresh share it, and so do those of two refreshes in one transaction (readers take the later one''s row, the higher forecast_snapshot_id, of a series and day)';
COMMENT ON COLUMN erp.forecast_snapshot.qty IS 'Expected units that day';
COMMENT ON COLUMN erp.forecast_snapshot.lo IS 'Lower end of the 95% prediction interval (never below 0)';
COMMENT ON COLUMN erp.forecast_snapshot.hi IS 'Upper end of the 95% prediction interval';
COMMENT ON COLUMN erp.forecast_snapshot.sigma IS 'Standard deviation of the series'' one-step forecast errors (units per day)';
COMMENT ON COLUMN erp.forecast_snapshot.model IS 'Model chosen for the series: ses, damped_trend, weekly_seasonal, croston_sba or none (no history)';

CREATE FUNCTION erp.forecast(sku text, channel text DEFAULT NULL, node text DEFAULT NULL, horizon_days integer DEFAULT 28)
    RETURNS TABLE(day date, qty numeric, lo numeric, hi numeric, model text)
    AS 'MODULE_PATHNAME', 'ierp_forecast'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.forecast(text, text, text, integer) IS
    'Daily demand forecast of an item (over every channel and node unless channel or node is given) for horizon_days (1 to 366, IE004) from today, with a 95% prediction interval and the model chosen by holdout error (doc/planning.md); history = erp.demand_history up to yesterday, stockout days left out; unknown sku, channel or node: IE003';

CREATE FUNCTION erp.forecast_series(qty double precision[], censored boolean[] DEFAULT NULL, horizon_days integer DEFAULT 28)
    RETURNS TABLE(step integer, qty numeric, lo numeric, hi numeric, model text)
    AS 'MODULE_PATHNAME', 'ierp_forecast_series'
    LANGUAGE C IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.forecast_series(double precision[], boolean[], integer) IS
    'The forecasting engine on a given daily series (oldest first; censored[i] true = leave day i out): steps 1..horizon_days (1 to 366, IE004) after its last day, as erp.forecast computes them; for what-if checks and validation';

CREATE FUNCTION erp.refresh_forecasts(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_forecast_refresh'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.refresh_forecasts(text) IS
    'Forecasts every active series (item, channel, node of erp.demand_history whose item is active, with demand in the last 91 days) 28 days ahead from today and stores the rows in erp.forecast_snapshot; returns how many series; a retry with the same idempotency_key returns the first count and stores nothing; erp_admin only';

CREATE FUNCTION erp.import_demand(lines jsonb, idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_forecast_import_demand'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.import_demand(jsonb, text) IS
    'Loads daily demand of a legacy system: lines = [{"sku", "channel" (optional), "node" (optional), "day", "qty"}], at most 100,000 (IE004); a day already imported for the same item, channel and node is replaced; unknown sku, channel or node: IE003; qty below 0 or day in the future: IE004; returns how many rows; erp_admin only';

CREATE FUNCTION erp.normal_quantile(p double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'ierp_normal_quantile'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.normal_quantile(double precision) IS
    'The standard normal quantile z with P(Z <= z) = p, for 0 < p < 1 (IE004 otherwise): the safety factor of a service level (0.95 -> 1.645)';

-- Accuracy: each series' forecast of a day, from the last refresh taken on or
-- before that day, against the demand of that day.
CREATE VIEW erp.kpi_forecast_accuracy WITH (security_invoker = true) AS
SELECT c.code AS channel, i.category,
       pg_catalog.count(*) AS series_days,
       CAST(pg_catalog.sum(p.actual) AS bigint) AS actual_units,
       pg_catalog.round(pg_catalog.sum(p.qty), 1) AS forecast_units,
       pg_catalog.round(100 * pg_catalog.sum(pg_catalog.abs(p.qty - p.actual)) / NULLIF(pg_catalog.sum(p.actual), 0), 1) AS wape,
       pg_catalog.round(100 * pg_catalog.sum(p.qty - p.actual) / NULLIF(pg_catalog.sum(p.actual), 0), 1) AS bias_pct
  FROM (SELECT f.item_id, f.channel_id, f.qty, COALESCE(h.qty, 0) AS actual
          FROM (SELECT DISTINCT ON (s.item_id, s.channel_id, s.node_id, s.day)
                       s.item_id, s.channel_id, s.node_id, s.day, s.qty
                  FROM erp.forecast_snapshot s
                 WHERE s.day < CURRENT_DATE AND s.day >= CURRENT_DATE - 28
                   AND CAST(s.taken_at AS date) <= s.day
                 ORDER BY s.item_id, s.channel_id, s.node_id, s.day, s.taken_at DESC, s.forecast_snapshot_id DESC) f
          LEFT JOIN erp.demand_history h
            ON h.item_id = f.item_id AND h.channel_id IS NOT DISTINCT FROM f.channel_id
           AND h.node_id IS NOT DISTINCT FROM f.node_id AND h.day = f.day
         WHERE NOT COALESCE(h.censored, false)) p
  JOIN erp.item i ON i.item_id = p.item_id
  LEFT JOIN erp.channel c ON c.channel_id = p.channel_id
 GROUP BY c.code, i.category;
COMMENT ON VIEW erp.kpi_forecast_accuracy IS
    'Forecast accuracy per channel and item category over the last 28 days (yesterday back): for each series and day, the forecast of the latest refresh taken on or before that day (F) against the units asked that day (A), stockout days left out; wape = 100 * sum |F - A| / sum A, bias_pct = 100 * sum (F - A) / sum A (above 0: the forecast runs hot, below: cold)';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.series_days IS 'Series-days compared';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.wape IS 'Weighted absolute percentage error: 100 * sum |F - A| / sum A; NULL when nothing was asked';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.bias_pct IS '100 * sum (F - A) / sum A: above 0 the forecast runs hot (too much stock), below 0 cold';

-- Replenishment from the forecast: a stock policy with a service level gets
-- safety stock and reorder point from forecast demand over the lead time and
-- the variability of both.
ALTER TABLE erp.stock_policy ADD COLUMN service_level numeric
    CONSTRAINT stock_policy_service_level CHECK (service_level > 0 AND service_level < 1),
    -- named as 83_value_checks.sql names them (test/pgtap/26-no-nan.sql looks for it)
    ADD CONSTRAINT stock_policy_service_level_not_nan CHECK (service_level <> 'NaN'::numeric);
COMMENT ON COLUMN erp.stock_policy.service_level IS 'Target probability of not running out during a lead time (e.g. 0.95); erp.replenishment then sizes safety stock and reorder point from the forecast (fc_ columns); NULL = the reorder_point and order_up_to given only';

CREATE VIEW erp.replenishment WITH (security_invoker = true) AS
WITH stock AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state IN ('available', 'reserved', 'picked', 'packed', 'inspection',
                                                'quarantined', 'damaged', 'refurbish', 'vendor_return')) AS on_hand,
           sum(b.qty) FILTER (WHERE b.state = 'available') AS available,
           sum(b.qty) FILTER (WHERE b.state IN ('incoming', 'in_transit', 'return_pending')) AS inbound
      FROM erp.stock_balance b GROUP BY b.item_id, b.node_id
), demand AS (
    SELECT sl.item_id, sl.node_id, sum(sl.qty) AS shipped
      FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
     WHERE s.shipped_at >= pg_catalog.now() - interval '28 days'
     GROUP BY sl.item_id, sl.node_id
), waiting AS (
    -- a backorder waits at the best-ranked node of its order's channel
    SELECT ol.item_id, first_node.node_id, sum(ol.qty_backordered) AS qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
      CROSS JOIN LATERAL (SELECT cn.node_id FROM erp.channel_node cn
                           WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1) first_node
     WHERE ol.qty_backordered > 0   -- a line keeps its backorder while its allocated part is picked
     GROUP BY ol.item_id, first_node.node_id
), delay AS (
    -- how late (or early) received purchase orders of the item came to the node, in days
    SELECT pl.item_id, po.node_id,
           pg_catalog.avg(EXTRACT(epoch FROM po.received_at - po.expected_at) / 86400) AS mean,
           COALESCE(pg_catalog.stddev_samp(EXTRACT(epoch FROM po.received_at - po.expected_at) / 86400), 0) AS sd
      FROM erp.purchase_order_line pl JOIN erp.purchase_order po ON po.purchase_order_id = pl.purchase_order_id
     WHERE po.received_at IS NOT NULL AND po.received_at >= pg_catalog.now() - interval '365 days'
     GROUP BY pl.item_id, po.node_id
), position AS (
    SELECT p.item_id, p.node_id, p.reorder_point, p.order_up_to,
           COALESCE(p.lead_time_days, s.lead_time_days, 7) AS lead_time_days,
           COALESCE(st.on_hand, 0) AS on_hand, COALESCE(st.available, 0) AS available,
           COALESCE(st.inbound, 0) AS inbound, COALESCE(w.qty, 0) AS backordered,
           COALESCE(d.shipped, 0) / 28.0 AS daily_demand,
           p.service_level,
           GREATEST(COALESCE(p.lead_time_days, s.lead_time_days, 7) + COALESCE(dl.mean, 0), 0) AS lt_mean,
           COALESCE(dl.sd, 0) AS lt_sd
      FROM erp.stock_policy p
      LEFT JOIN erp.supplier s ON s.supplier_id = p.supplier_id
      LEFT JOIN stock st ON st.item_id = p.item_id AND st.node_id = p.node_id
      LEFT JOIN demand d ON d.item_id = p.item_id AND d.node_id = p.node_id
      LEFT JOIN waiting w ON w.item_id = p.item_id AND w.node_id = p.node_id
      LEFT JOIN delay dl ON dl.item_id = p.item_id AND dl.node_id = p.node_id
), planned AS (
    -- the latest refresh's forecast of the node (all its channels) over the lead time
    -- z of the service level as a double strictly between 0 and 1: the CHECK lets in
    -- numerics a cast would round to 1 (0.99999999999999999999) or cannot make a
    -- double of (1e-400), which failed every query of the view
    SELECT x.*, fc.d, fc.var_d,
           CASE WHEN x.service_level IS NOT NULL
                THEN erp.normal_quantile(CAST(LEAST(GREATEST(x.service_level, 1e-300), 0.9999999999999999)
                                              AS double precision)) END AS z
      FROM position x
      LEFT JOIN LATERAL (
           SELECT pg_catalog.avg(f.qty) AS d, pg_catalog.avg(f.var) AS var_d
             FROM (SELECT g.day, pg_catalog.sum(g.qty) AS qty, pg_catalog.sum(g.sigma * g.sigma) AS var
                     -- two refreshes in one transaction share their taken_at (now()): each
                     -- series and day once, from the later refresh (the higher id), not summed
                     FROM (SELECT DISTINCT ON (s.channel_id, s.day) s.day, s.qty, s.sigma
                             FROM erp.forecast_snapshot s
                            WHERE s.item_id = x.item_id AND s.node_id = x.node_id AND s.day >= CURRENT_DATE
                              AND s.taken_at = (SELECT pg_catalog.max(l.taken_at) FROM erp.forecast_snapshot l
                                                 WHERE l.item_id = x.item_id AND l.node_id = x.node_id)
                            ORDER BY s.channel_id, s.day, s.forecast_snapshot_id DESC) g
                    GROUP BY g.day ORDER BY g.day
                    LIMIT GREATEST(CAST(pg_catalog.ceil(x.lt_mean) AS bigint), 1)) f) fc
        ON x.service_level IS NOT NULL
), sized AS (
    SELECT y.*, y.z * pg_catalog.sqrt(y.lt_mean * y.var_d + y.d * y.d * y.lt_sd * y.lt_sd) AS ss
      FROM planned y
)
SELECT i.sku, n.code AS node,
       x.on_hand::bigint, x.available::bigint, x.inbound::bigint, x.backordered::bigint,
       round(x.daily_demand, 2) AS avg_daily_demand, x.reorder_point, x.order_up_to,
       CASE WHEN x.available + x.inbound - x.backordered < x.reorder_point
            THEN greatest(x.order_up_to - (x.available + x.inbound - x.backordered), 0) ELSE 0 END::bigint AS suggested_qty,
       CASE WHEN x.daily_demand > 0 THEN round(x.available / x.daily_demand, 1) END AS days_of_cover,
       CASE WHEN x.available = 0 AND (x.backordered > 0 OR x.daily_demand > 0) THEN 'stockout'
            WHEN x.daily_demand > 0 AND (x.available + x.inbound) / x.daily_demand < x.lead_time_days THEN 'high'
            WHEN x.available + x.inbound - x.backordered < x.reorder_point THEN 'medium'
            ELSE 'low' END AS stockout_risk,
       x.lead_time_days, x.item_id, x.node_id,
       x.service_level,
       pg_catalog.round(x.d, 2) AS fc_daily_demand,
       pg_catalog.round(pg_catalog.sqrt(x.var_d), 2) AS fc_demand_sd,
       CASE WHEN x.d IS NOT NULL THEN pg_catalog.round(x.lt_mean, 1) END AS lead_time_mean,
       CASE WHEN x.d IS NOT NULL THEN pg_catalog.round(x.lt_sd, 1) END AS lead_time_sd,
       CAST(pg_catalog.ceil(x.ss) AS bigint) AS fc_safety_stock,
       CAST(pg_catalog.ceil(x.d * x.lt_mean + x.ss) AS bigint) AS fc_reorder_point,
       CAST(CASE WHEN x.d IS NULL THEN NULL
                 WHEN x.available + x.inbound - x.backordered < pg_catalog.ceil(x.d * x.lt_mean + x.ss)
                 THEN GREATEST(pg_catalog.ceil(x.d * x.lt_mean + x.ss) + GREATEST(x.order_up_to - x.reorder_point, 0)
                               - (x.available + x.inbound - x.backordered), 0)
                 ELSE 0 END AS bigint) AS fc_suggested_qty
  FROM sized x
  JOIN erp.item i ON i.item_id = x.item_id
  JOIN erp.node n ON n.node_id = x.node_id
 -- stock policies carry no row security of their own: partners see their nodes only
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR x.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.replenishment IS
    'Per item and node with a stock policy: position = available + inbound - backordered; suggested_qty = order_up_to - position when position < reorder_point, else 0; avg_daily_demand = units shipped from the node in the last 28 days / 28; days_of_cover = available / avg_daily_demand; stockout_risk: stockout (nothing available and demand waiting), high (available + inbound lasts less than the lead time), medium (below the reorder point), low. With the policy''s service_level, the fc_ columns size the same decision from the latest forecast (doc/planning.md): fc_safety_stock = z * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2), fc_reorder_point = d * LT + fc_safety_stock, fc_suggested_qty = fc_reorder_point + (order_up_to - reorder_point) - position when position < fc_reorder_point, else 0';
COMMENT ON COLUMN erp.replenishment.backordered IS 'Units backordered by orders whose channel''s best-ranked node is this node';
COMMENT ON COLUMN erp.replenishment.suggested_qty IS 'Units to order to bring the position back to order_up_to';

COMMENT ON COLUMN erp.replenishment.service_level IS 'The policy''s target probability of not running out during a lead time; NULL = the old rule only (fc_ columns NULL)';
COMMENT ON COLUMN erp.replenishment.fc_daily_demand IS 'd: mean daily demand at the node (all channels) over the lead time, from the latest erp.refresh_forecasts';
COMMENT ON COLUMN erp.replenishment.fc_demand_sd IS 'sigma_d: standard deviation of daily demand around the forecast (one-step errors of the node''s series, variances summed over channels)';
COMMENT ON COLUMN erp.replenishment.lead_time_mean IS 'LT in days: the policy''s (or supplier''s) lead time plus the mean delay of the item''s purchase orders received at the node in the last 365 days (received_at - expected_at)';
COMMENT ON COLUMN erp.replenishment.lead_time_sd IS 'sigma_LT in days: standard deviation of those delays (0 with fewer than two)';
COMMENT ON COLUMN erp.replenishment.fc_safety_stock IS 'z(service_level) * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2), rounded up';
COMMENT ON COLUMN erp.replenishment.fc_reorder_point IS 'd * LT + fc_safety_stock, rounded up';
COMMENT ON COLUMN erp.replenishment.fc_suggested_qty IS 'Units to order by the forecast rule: up to fc_reorder_point plus the policy''s order quantity (order_up_to - reorder_point) when the position is below fc_reorder_point';
