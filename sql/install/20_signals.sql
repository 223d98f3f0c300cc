-- 20_signals: planning signals (issue 15, deliverables 5-7; doc/planning-signals.md):
-- the return forecast, anomaly detection and the worklist.  The views run as the
-- querying role (security_invoker): a partner sees its nodes only, by the row
-- level security of the tables underneath and of erp.anomaly.

-- Return forecast ---------------------------------------------------------------
-- expected(node, category, day) = rate(category)
--     x sum over delays d of share(category, d) x shipped(node, category, day - d)
-- shipped(., ., s) is what left on day s when s <= today, else the node's mean
-- daily shipments of the category over the last 28 days.
CREATE VIEW erp.return_forecast WITH (security_invoker = true) AS
WITH shipped AS (
    SELECT sl.node_id, COALESCE(i.category, '') AS category, sh.shipped_at::date AS day,
           sum(sl.qty)::numeric AS units
      FROM erp.shipment_line sl
      JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id
      JOIN erp.item i ON i.item_id = sl.item_id
     WHERE sh.shipped_at >= CURRENT_DATE - 180
     GROUP BY 1, 2, 3),
returned AS (
    SELECT COALESCE(i.category, '') AS category, l.qty_received AS units,
           GREATEST(l.received_at::date - s.shipped_day, 0) AS delay
      FROM erp.rma_line l
      JOIN erp.rma r ON r.rma_id = l.rma_id
      JOIN erp.item i ON i.item_id = l.item_id
     CROSS JOIN LATERAL (
           SELECT pg_catalog.max(sh.shipped_at)::date AS shipped_day
             FROM erp.shipment_line sl
             JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id
            WHERE sl.order_id = r.order_id AND sl.item_id = l.item_id
              AND sh.shipped_at <= l.received_at) s
     WHERE l.qty_received > 0
       AND l.received_at >= CURRENT_DATE - 90
       AND s.shipped_day IS NOT NULL),
rate AS (
    SELECT s.category,
           COALESCE((SELECT pg_catalog.sum(r.units) FROM returned r WHERE r.category = s.category), 0)
               / pg_catalog.sum(s.units) AS rate
      FROM shipped s
     WHERE s.day >= CURRENT_DATE - 90
     GROUP BY s.category),
delay AS (
    SELECT r.category, r.delay,
           pg_catalog.sum(r.units)::numeric / pg_catalog.sum(pg_catalog.sum(r.units)) OVER (PARTITION BY r.category) AS share
      FROM returned r
     GROUP BY r.category, r.delay),
pace AS (
    SELECT s.node_id, s.category,
           COALESCE(pg_catalog.sum(s.units) FILTER (WHERE s.day > CURRENT_DATE - 28), 0)
               / 28 AS per_day
      FROM shipped s
     GROUP BY s.node_id, s.category)
SELECT n.code AS node, NULLIF(p.category, '') AS category, h.day,
       pg_catalog.round(COALESCE(rt.rate, 0) * COALESCE(pg_catalog.sum(
           d.share * CASE WHEN h.day - d.delay <= CURRENT_DATE THEN COALESCE(s.units, 0)
                          ELSE p.per_day END), 0), 2) AS expected_units
  FROM pace p
  JOIN erp.node n ON n.node_id = p.node_id
  LEFT JOIN rate rt ON rt.category = p.category
 CROSS JOIN LATERAL (SELECT CURRENT_DATE + k AS day FROM pg_catalog.generate_series(1, 28) AS k) h
  LEFT JOIN delay d ON d.category = p.category
  LEFT JOIN shipped s ON s.node_id = p.node_id AND s.category = p.category AND s.day = h.day - d.delay
 GROUP BY n.code, p.node_id, p.category, h.day, rt.rate
 ORDER BY n.code, p.category, h.day;
COMMENT ON VIEW erp.return_forecast IS
    'Units expected back per node (the node that shipped them), item category and day, for the next 28 days: the category''s return rate (units received back / units shipped, last 90 days) spread over the days after each shipment by the category''s empirical delay between shipment and receipt of a return (last 90 days); past shipments as they left, future ones at the node''s mean of the last 28 days (doc/planning-signals.md)';
COMMENT ON COLUMN erp.return_forecast.category IS 'The items'' category (NULL: items without one)';
COMMENT ON COLUMN erp.return_forecast.expected_units IS 'Units expected to arrive back that day (an expectation, not whole units), rounded to 2 decimals';

-- Anomalies ---------------------------------------------------------------------
CREATE TABLE erp.anomaly (
    anomaly_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('shrinkage', 'adjustment', 'pick_exceptions', 'return_rate')),
    ref             text NOT NULL,
    item_id         bigint REFERENCES erp.item,
    node_id         bigint REFERENCES erp.node,
    score           numeric(10,2) NOT NULL,
    value           numeric(14,2) NOT NULL DEFAULT 0 CHECK (value >= 0),
    detail          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    detected_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at       timestamptz,
    closed_by       name,
    note            text,
    CONSTRAINT anomaly_kind_ref_key UNIQUE (kind, ref),
    CONSTRAINT anomaly_score_not_nan CHECK (score <> 'NaN'::numeric),
    CONSTRAINT anomaly_value_not_nan CHECK (value <> 'NaN'::numeric)
);
CREATE INDEX anomaly_open_idx ON erp.anomaly (node_id) WHERE status = 'open';
COMMENT ON TABLE erp.anomaly IS
    'Findings of erp.detect_anomalies: one row per unusual count or adjustment, day of pick exceptions at a node, or week of returns of a sku (kind, ref); open until someone closes it with erp.close_anomaly, never found twice';
COMMENT ON COLUMN erp.anomaly.kind IS 'shrinkage (an unusual loss: a count or adjustment down), adjustment (an unusual gain), pick_exceptions (a burst at a node on a day), return_rate (a jump of a sku''s weekly return rate)';
COMMENT ON COLUMN erp.anomaly.ref IS 'What was found unusual: count:<cycle_count_id>, adjustment:<adjustment_id>, pick_exceptions:<node>:<day>, return_rate:<sku>:<week>';
COMMENT ON COLUMN erp.anomaly.score IS 'The largest absolute modified z-score of its tests, 0.6745 (x - median) / MAD (above 3.5 to be found)';
COMMENT ON COLUMN erp.anomaly.value IS 'Money at stake: the count''s or adjustment''s value, the value of the orders that met the pick exceptions, the excess returns at the item''s price';
COMMENT ON COLUMN erp.anomaly.detail IS 'The observation and, per test, its series'' median, MAD, size and the score';
COMMENT ON COLUMN erp.anomaly.closed_by IS 'The login that closed it (erp.close_anomaly)';

ALTER TABLE erp.anomaly ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.anomaly
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

CREATE VIEW erp.anomalies WITH (security_invoker = true) AS
SELECT a.anomaly_id, a.kind, a.ref, n.code AS node, i.sku, a.score, a.value, a.detail, a.detected_at
  FROM erp.anomaly a
  LEFT JOIN erp.node n ON n.node_id = a.node_id
  LEFT JOIN erp.item i ON i.item_id = a.item_id
 WHERE a.status = 'open'
 ORDER BY a.score DESC, a.anomaly_id;
COMMENT ON VIEW erp.anomalies IS 'The open anomalies, highest score first (a partner sees its nodes'' only)';

CREATE FUNCTION erp.detect_anomalies()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_anomaly_detect'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.detect_anomalies() IS
    'Finds unusual counts and adjustments (per item and node, and per node by value), bursts of pick exceptions per node and day, and jumps of the weekly return rate per sku, by median and MAD (modified z-score above 3.5); records each new finding in erp.anomaly with an anomaly event; returns how many it added. A partner may not run it (IE009)';

CREATE FUNCTION erp.close_anomaly(anomaly_id bigint, note text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_anomaly_close'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.close_anomaly(bigint, text, text) IS
    'Closes an open anomaly with a note (up to 1,024 bytes): unknown anomaly IE003, a partner''s of another node or of no node IE009, closed already IE010';

-- The worklist ------------------------------------------------------------------
-- score = value x (1 + days waiting / 7): money at stake, weighed up by each
-- week it has waited; the same formula for every kind.
CREATE VIEW erp.worklist WITH (security_invoker = true) AS
SELECT w.kind, w.ref, w.node,
       pg_catalog.round(w.value * (1 + w.days / 7), 2) AS score,
       w.why, w.value, pg_catalog.round(w.days, 1) AS days_waiting
  FROM (
        -- backorders at risk: more units wait for the item than purchase orders bring within 7 days
        SELECT 'backorder'::text AS kind,
               pg_catalog.format('order:%s:%s', ol.order_id, ol.line_no) AS ref,
               NULL::text AS node,
               (ol.qty_backordered * ol.unit_price)::numeric AS value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - o.created_at) / 86400, 0) AS days,
               pg_catalog.format('order %s (%s) line %s waits for %s units of %s (revenue %s); purchase orders due within 7 days bring %s of the %s units backordered for the item',
                                 ol.order_id, o.external_ref, ol.line_no, ol.qty_backordered, i.sku,
                                 ol.qty_backordered * ol.unit_price, COALESCE(po.due, 0), bo.waiting) AS why
          FROM erp.order_line ol
          JOIN erp.sales_order o ON o.order_id = ol.order_id
          JOIN erp.item i ON i.item_id = ol.item_id
          -- per item, once: units backordered on open orders, units due within 7 days
          JOIN (SELECT b.item_id, pg_catalog.sum(b.qty_backordered) AS waiting
                  FROM erp.order_line b
                  JOIN erp.sales_order bo ON bo.order_id = b.order_id
                 WHERE b.qty_backordered > 0 AND bo.status NOT IN ('shipped', 'cancelled')
                 GROUP BY b.item_id) bo ON bo.item_id = ol.item_id
          LEFT JOIN (SELECT pl.item_id, pg_catalog.sum(pl.qty - pl.qty_received) AS due
                       FROM erp.purchase_order_line pl
                       JOIN erp.purchase_order p ON p.purchase_order_id = pl.purchase_order_id
                      WHERE p.status IN ('open', 'partially_received')
                        AND p.expected_at <= pg_catalog.now() + interval '7 days'
                      GROUP BY pl.item_id) po ON po.item_id = ol.item_id
         WHERE ol.qty_backordered > 0
           AND o.status NOT IN ('shipped', 'cancelled')
           AND COALESCE(po.due, 0) < bo.waiting
           AND (SELECT erp.visible_nodes()) IS NULL
        UNION ALL
        -- refunds and adjustments waiting for an approver
        SELECT q.kind || '_approval',
               CASE q.kind WHEN 'refund' THEN 'rma_line:' ELSE 'adjustment:' END || q.id,
               q.node, q.value,
               GREATEST(EXTRACT(epoch FROM q.age) / 86400, 0),
               pg_catalog.format('%s %s at %s (value %s) has waited %s days for an approver; asked by %s',
                                 CASE q.kind WHEN 'refund' THEN 'the refund of return line' ELSE 'adjustment' END,
                                 q.id, q.node, q.value,
                                 pg_catalog.round((EXTRACT(epoch FROM q.age) / 86400)::numeric, 1), q.requested_by)
          FROM erp.approval_queue q
        UNION ALL
        -- purchase orders past their date while orders wait for their items
        SELECT 'late_po', 'po:' || p.purchase_order_id, n.code, w.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - p.expected_at) / 86400, 0),
               pg_catalog.format('purchase order %s from %s to %s was due %s; %s orders wait for its items (backordered revenue %s)',
                                 p.purchase_order_id, s.code, n.code, p.expected_at::date, w.orders, w.value)
          FROM erp.purchase_order p
          JOIN erp.node n ON n.node_id = p.node_id
          JOIN erp.supplier s ON s.supplier_id = p.supplier_id
         CROSS JOIN LATERAL (
               SELECT pg_catalog.count(DISTINCT ol.order_id) AS orders,
                      COALESCE(pg_catalog.sum(ol.qty_backordered * ol.unit_price), 0)::numeric AS value
                 FROM erp.order_line ol
                 JOIN erp.sales_order o ON o.order_id = ol.order_id
                WHERE ol.qty_backordered > 0 AND o.status NOT IN ('shipped', 'cancelled')
                  AND ol.item_id IN (SELECT pl.item_id FROM erp.purchase_order_line pl
                                      WHERE pl.purchase_order_id = p.purchase_order_id
                                        AND pl.qty > pl.qty_received)) w
         WHERE p.status IN ('open', 'partially_received')
           AND p.expected_at < pg_catalog.now()
           AND w.orders > 0
        UNION ALL
        -- returns received more than 2 days ago and not inspected
        SELECT 'return_inspection', 'rma_line:' || l.rma_line_id, n.code,
               ((l.qty_received - l.qty_inspected) * l.unit_price)::numeric,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - l.received_at) / 86400, 0),
               pg_catalog.format('return %s: %s units of %s received at %s on %s are not inspected (worth %s)',
                                 l.rma_id, l.qty_received - l.qty_inspected, i.sku, n.code, l.received_at::date,
                                 (l.qty_received - l.qty_inspected) * l.unit_price)
          FROM erp.rma_line l
          JOIN erp.node n ON n.node_id = COALESCE(l.received_node_id, l.node_id)
          JOIN erp.item i ON i.item_id = l.item_id
         WHERE l.qty_received > l.qty_inspected
           AND l.received_at < pg_catalog.now() - interval '2 days'
           -- a partner sees a return only when the whole return is its own (erp.rma_visible,
           -- as erp.approval_queue and erp.returns_desk): the row security of erp.rma_line
           -- shows it a line by either of its nodes
           AND erp.rma_visible(l.rma_id)
        UNION ALL
        -- open anomalies
        SELECT 'anomaly', 'anomaly:' || a.anomaly_id, n.code, a.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - a.detected_at) / 86400, 0),
               pg_catalog.format('%s %s: modified z-score %s (threshold 3.5), %s at stake', a.kind, a.ref, a.score, a.value)
          FROM erp.anomaly a
          LEFT JOIN erp.node n ON n.node_id = a.node_id
         WHERE a.status = 'open'
        UNION ALL
        -- orders on hold (erp.hold_order): the business's, as backorders, since the oldest open hold
        SELECT 'order_hold', 'order:' || o.order_id, NULL::text, v.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - h.held_at) / 86400, 0),
               pg_catalog.format('order %s (%s) is on hold (%s) since %s; %s units worth %s wait for erp.release_order',
                                 o.order_id, o.external_ref, h.reasons, h.held_at, v.units, v.value)
          FROM (SELECT oh.order_id, pg_catalog.min(oh.held_at) AS held_at,
                       pg_catalog.string_agg(oh.reason, ', ' ORDER BY oh.reason) AS reasons
                  FROM erp.order_hold oh WHERE oh.released_at IS NULL GROUP BY oh.order_id) h
          JOIN erp.sales_order o ON o.order_id = h.order_id
         CROSS JOIN LATERAL (
               SELECT COALESCE(pg_catalog.sum(ol.qty - ol.qty_shipped), 0) AS units,
                      COALESCE(pg_catalog.sum((ol.qty - ol.qty_shipped) * ol.unit_price), 0)::numeric AS value
                 FROM erp.order_line ol
                WHERE ol.order_id = o.order_id AND ol.status <> 'cancelled') v
         WHERE o.status NOT IN ('shipped', 'cancelled')
           AND (SELECT erp.visible_nodes()) IS NULL
        UNION ALL
        -- parcels whose last carrier scan failed (erp.carrier_event), at the node that shipped them
        SELECT 'carrier_exception', 'shipment:' || t.shipment_id, n.code, v.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - t.at) / 86400, 0),
               pg_catalog.format('shipment %s of order %s (%s %s) failed delivery on %s: %s',
                                 t.shipment_id, t.order_id, s.carrier, s.tracking, t.at, COALESCE(t.detail::text, 'no detail'))
          FROM (SELECT DISTINCT ON (st.shipment_id) st.shipment_id, st.order_id, st.status, st.at, st.detail
                  FROM erp.shipment_tracking st
                 ORDER BY st.shipment_id, st.at DESC, st.shipment_tracking_id DESC) t
          JOIN erp.shipment s ON s.shipment_id = t.shipment_id
         CROSS JOIN LATERAL (
               SELECT pg_catalog.min(sl.node_id) AS node_id,
                      COALESCE(pg_catalog.sum(sl.qty * ol.unit_price), 0)::numeric AS value
                 FROM erp.shipment_line sl
                 JOIN erp.order_line ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
                                       AND ol.item_id = sl.item_id
                WHERE sl.shipment_id = t.shipment_id) v
          LEFT JOIN erp.node n ON n.node_id = v.node_id
         WHERE t.status = 'failed'
       ) w
 ORDER BY 4 DESC, w.kind, w.ref;
COMMENT ON VIEW erp.worklist IS
    'What needs a person now, most urgent first, across kinds: backorders at risk, refunds and adjustments waiting for an approver, late purchase orders with orders waiting, returns received over 2 days ago and not inspected, open anomalies, orders on hold, parcels whose last carrier scan failed; score = value x (1 + days waiting / 7) (doc/planning-signals.md); a partner sees its nodes'' rows only';
COMMENT ON COLUMN erp.worklist.kind IS 'backorder, refund_approval, adjustment_approval, late_po, return_inspection, anomaly, order_hold, carrier_exception';
COMMENT ON COLUMN erp.worklist.ref IS 'The object to act on: order:<id>:<line>, rma_line:<id>, adjustment:<id>, po:<id>, anomaly:<id>, order:<id> (a held order), shipment:<id>';
COMMENT ON COLUMN erp.worklist.node IS 'The node where it waits (NULL for a backorder or a held order, which are the business''s)';
COMMENT ON COLUMN erp.worklist.score IS 'value x (1 + days_waiting / 7): money at stake weighed up by each week of waiting';
COMMENT ON COLUMN erp.worklist.why IS 'Why it is on the list, in words';
COMMENT ON COLUMN erp.worklist.value IS 'Money at stake: backordered revenue, the refund or adjustment value, the revenue waiting for a late purchase order, the uninspected returns'' value, an anomaly''s value, a held order''s unshipped lines'' value, a failed parcel''s value (its plain items)';
COMMENT ON COLUMN erp.worklist.days_waiting IS 'Days since the order was captured, the approval was asked, the purchase order was due, the return was received, the anomaly was found, the order was put on hold, the carrier''s failed scan';
