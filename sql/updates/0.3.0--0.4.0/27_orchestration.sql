-- 27_orchestration: what sql/install/ now creates for order orchestration (issue 17,
-- doc/orchestration.md): erp.order_hold and erp.shipment_tracking (07_orders.sql), the
-- channels' order rules, the hold and carrier functions (25_orchestration.sql), and order
-- aging and the worklist with holds and failed parcels (12_intelligence.sql, 20_signals.sql).

-- B2B (25_orchestration.sql): an order's customer and ship-complete, at the end of the
-- table as in 07_orders.sql
ALTER TABLE erp.sales_order ADD COLUMN customer_id bigint,
                            ADD COLUMN ship_complete boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN erp.sales_order.customer_id IS 'The B2B customer (erp.customer) the order is for: ship_to {"customer": "<code>"} at capture; NULL for a consumer order';
COMMENT ON COLUMN erp.sales_order.ship_complete IS 'Ship nothing until all can go: allocation reserves nothing until one node can fill the whole order, and never splits it';

-- Order holds (issue 17, doc/orchestration.md): an order waits, unallocated, for payment
-- authorization, a fraud review, customer service or its credit.  One row per hold; an
-- order is held while any of its rows is not released.  Written only by erp.hold_order,
-- erp.release_order and a capture whose ship_to carries "hold"; never deleted.
CREATE TABLE erp.order_hold (
    order_hold_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('payment', 'fraud', 'customer_service', 'credit')),
    note            text CHECK (pg_catalog.length(note) <= 1024),
    held_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    held_by         text NOT NULL,
    released_at     timestamptz,
    released_by     text,
    CONSTRAINT order_hold_release CHECK ((released_at IS NULL) = (released_by IS NULL))
);
-- at most one open hold per order and reason; the open holds of an order are read by it
CREATE UNIQUE INDEX order_hold_open ON erp.order_hold (order_id, reason) WHERE released_at IS NULL;
CREATE TRIGGER order_hold_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_hold
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_hold IS 'Holds put on orders (payment, fraud, customer_service, credit): a held order is not allocated until every hold is released';
COMMENT ON COLUMN erp.order_hold.reason IS 'payment (authorization pending), fraud (review), customer_service, credit (over the customer''s open credit; released by erp_approver only)';
COMMENT ON COLUMN erp.order_hold.released_at IS 'When erp.release_order released it; NULL while the order is held';

-- Carrier tracking (issue 17, doc/orchestration.md): the scans a carrier reports for a
-- shipment, written by erp.carrier_event only.  (shipment, status, at) identifies a scan, so
-- a connector that sends it again changes nothing.  No foreign key to erp.shipment: on
-- Citus a table outside erp.citus_layout() may not reference its reference tables.
CREATE TABLE erp.shipment_tracking (
    shipment_tracking_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id     bigint NOT NULL,
    order_id        bigint NOT NULL,
    status          text NOT NULL CHECK (status IN ('picked_up', 'in_transit', 'delivered', 'failed', 'returned_to_sender')),
    at              timestamptz NOT NULL,
    detail          jsonb,
    rma_id          bigint,
    recorded_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_by     text NOT NULL,
    UNIQUE (shipment_id, status, at)
);
CREATE TRIGGER shipment_tracking_keep_history BEFORE DELETE OR TRUNCATE ON erp.shipment_tracking
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.shipment_tracking IS 'Carrier scans of shipments (picked_up, in_transit, delivered, failed, returned_to_sender), as erp.carrier_event recorded them';
COMMENT ON COLUMN erp.shipment_tracking.at IS 'When the carrier scanned the parcel (the carrier''s time, not ours)';
COMMENT ON COLUMN erp.shipment_tracking.rma_id IS 'The return a returned_to_sender scan opened for the parcel''s units';

-- Service levels of orders (issue 17, doc/orchestration.md): the service an order asked
-- for (ship_to {"service": ..}) and the time it must ship by, from the channel's rules and
-- the nodes' cut-offs; whether the node it was allocated to can meet it.
CREATE TABLE erp.order_service (
    order_id        bigint PRIMARY KEY,
    service         text NOT NULL CHECK (service IN ('express', 'standard', 'economy')),
    ship_by         timestamptz NOT NULL,
    node_id         bigint,
    node_ship_at    timestamptz,
    meets_ship_by   boolean
);
CREATE TRIGGER order_service_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_service
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_service IS 'The service level an order asked for and the time it must ship by (the earliest its channel''s nodes can make); the node allocation chose and whether that node ships by then';
COMMENT ON COLUMN erp.order_service.node_ship_at IS 'When the allocated node can ship the order (its next cut-off after allocation); later than ship_by: meets_ship_by is false and an event ship_by_at_risk was raised';
SELECT pg_catalog.pg_extension_config_dump('erp.order_hold', '');
SELECT pg_catalog.pg_extension_config_dump('erp.order_hold_order_hold_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.shipment_tracking', '');
SELECT pg_catalog.pg_extension_config_dump('erp.shipment_tracking_shipment_tracking_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.order_service', '');

CREATE TABLE erp.channel_order_rules (
    channel_id          bigint PRIMARY KEY,
    held_orders_reserve boolean NOT NULL DEFAULT false
);
SELECT pg_catalog.pg_extension_config_dump('erp.channel_order_rules', '');
COMMENT ON TABLE erp.channel_order_rules IS
    'How a channel''s orders are orchestrated; a channel without a row has the defaults';
COMMENT ON COLUMN erp.channel_order_rules.held_orders_reserve IS
    'true: a held order keeps its reservations and is allocated while held (stock waits for the payment); false (default): holding an order releases its reserved units, and allocation skips it until it is released';

-- a partner sees the holds of the orders it sees (as erp.order_line)
ALTER TABLE erp.order_hold ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_hold
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_hold.order_id));

CREATE FUNCTION erp.hold_order(order_id bigint, reason text, note text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_hold_order'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.hold_order(bigint, text, text) IS
    'Puts an order that is not yet picked on hold (reason payment, fraud, customer_service or credit; note up to 1024 bytes): allocation skips it, and unless its channel''s held_orders_reserve is set its reserved units are released; returns the hold id (the open hold''s when the order already waits for that reason)';

CREATE FUNCTION erp.release_order(order_id bigint, reason text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_release_order'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.release_order(bigint, text) IS
    'Releases the order''s open holds (of one reason, or all): erp.allocate_pending fills it again; a credit hold is released by members of erp_approver only (IE009); returns how many holds were released (0: none was open)';

-- a partner sees the scans of the orders it sees (as erp.shipment)
ALTER TABLE erp.shipment_tracking ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment_tracking
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) shipment_tracking.order_id));

-- the reason of the returns a returned_to_sender scan opens (disposition rules may name it)
INSERT INTO erp.reason_code (code, description, builtin)
VALUES ('returned_to_sender', 'Carrier: the parcel could not be delivered and came back', true)
ON CONFLICT (code) DO NOTHING;

CREATE FUNCTION erp.carrier_event(shipment_id bigint, status text, at timestamptz, detail jsonb DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_carrier_event'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.carrier_event(bigint, text, timestamptz, jsonb) IS
    'Records a carrier scan of a shipment (status picked_up, in_transit, delivered, failed or returned_to_sender; detail a JSON object up to 4096 bytes); failed raises a carrier_failed event and a worklist row; the first returned_to_sender authorizes and receives a return (reason returned_to_sender) of the parcel''s units at the node that shipped them, for inspection; the same (shipment, status, at) sent again returns the same id and changes nothing';

-- B2B accounts ----------------------------------------------------------------------------

CREATE TABLE erp.price_list (
    price_list_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code <> '' AND pg_catalog.length(code) <= 64),
    name            text NOT NULL DEFAULT ''
);
COMMENT ON TABLE erp.price_list IS 'A price list of B2B customers: unit prices by item and quantity break (erp.price_break)';

CREATE TABLE erp.price_break (
    price_break_id  bigint GENERATED ALWAYS AS IDENTITY,
    price_list_id   bigint NOT NULL REFERENCES erp.price_list ON DELETE CASCADE,
    item_id         bigint NOT NULL,
    min_qty         bigint NOT NULL CHECK (min_qty > 0),
    unit_price      numeric(14,2) NOT NULL CHECK (unit_price >= 0)
                    CONSTRAINT price_break_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric),
    CONSTRAINT price_break_pkey PRIMARY KEY (item_id, price_break_id),
    UNIQUE (price_list_id, item_id, min_qty)
);
COMMENT ON TABLE erp.price_break IS 'The unit price of an item on a price list from min_qty units per order line on; a line without unit_price of a customer with the list gets the break with the largest min_qty <= its qty';

CREATE TABLE erp.customer (
    customer_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code <> '' AND pg_catalog.length(code) <= 64),
    name            text NOT NULL DEFAULT '',
    payment_terms   text NOT NULL DEFAULT 'prepaid' CHECK (payment_terms <> '' AND pg_catalog.length(payment_terms) <= 64),
    credit_limit    numeric(14,2) CHECK (credit_limit >= 0)
                    CONSTRAINT customer_credit_limit_not_nan CHECK (credit_limit <> 'NaN'::numeric),
    ship_complete   boolean NOT NULL DEFAULT false,
    allow_partial   boolean NOT NULL DEFAULT true,
    price_list_id   bigint REFERENCES erp.price_list,
    active          boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE erp.customer IS 'A B2B customer: its price list, payment terms, credit limit and shipping terms; an order names it with ship_to {"customer": "<code>"}';
COMMENT ON COLUMN erp.customer.payment_terms IS 'As agreed, e.g. prepaid, net30 (recorded for invoicing; the extension does not invoice)';
COMMENT ON COLUMN erp.customer.credit_limit IS 'Open credit: the unshipped value of its open orders plus a new order may not exceed it, or the new order arrives on a credit hold; NULL: no limit';
COMMENT ON COLUMN erp.customer.ship_complete IS 'Its orders are ship-complete by default (erp.sales_order.ship_complete)';
COMMENT ON COLUMN erp.customer.allow_partial IS 'false: the customer takes no partial shipment, so its orders are always ship-complete';

CREATE VIEW erp.kpi_customer_margin WITH (security_invoker = true) AS
WITH sales AS (
    SELECT o.customer_id, sum(sl.qty * ol.unit_price) AS revenue, sum(sl.qty) AS units
      FROM erp.shipment_line sl
      JOIN erp.order_line ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
      JOIN erp.sales_order o ON o.order_id = sl.order_id
     WHERE o.customer_id IS NOT NULL
     GROUP BY 1
), costs AS (
    SELECT o.customer_id, -sum(e.value) AS cogs
      FROM erp.cost_entry e
      JOIN erp.sales_order o ON e.ref = 'order:' || o.order_id
     WHERE e.kind = 'cogs' AND o.customer_id IS NOT NULL
     GROUP BY 1
), open_orders AS (
    SELECT o.customer_id, sum((l.qty - l.qty_shipped) * l.unit_price) AS open_value
      FROM erp.sales_order o JOIN erp.order_line l ON l.order_id = o.order_id
     WHERE o.customer_id IS NOT NULL AND o.status NOT IN ('shipped', 'cancelled') AND l.status <> 'cancelled'
     GROUP BY 1
)
SELECT c.code AS customer, c.name,
       COALESCE(s.units, 0)::bigint AS units_shipped,
       COALESCE(s.revenue, 0)::numeric(14,2) AS revenue,
       COALESCE(k.cogs, 0)::numeric(14,2) AS cogs,
       (COALESCE(s.revenue, 0) - COALESCE(k.cogs, 0))::numeric(14,2) AS margin,
       CASE WHEN COALESCE(s.revenue, 0) > 0
            THEN round(100 * (s.revenue - COALESCE(k.cogs, 0)) / s.revenue, 1) END AS margin_pct,
       COALESCE(oo.open_value, 0)::numeric(14,2) AS open_value,
       c.credit_limit
  FROM erp.customer c
  LEFT JOIN sales s ON s.customer_id = c.customer_id
  LEFT JOIN costs k ON k.customer_id = c.customer_id
  LEFT JOIN open_orders oo ON oo.customer_id = c.customer_id;
COMMENT ON VIEW erp.kpi_customer_margin IS
    'Per B2B customer: units shipped, revenue (shipped units x unit price), cogs (erp.cost_entry of its orders), margin and margin %, the unshipped value of its open orders and its credit limit (as erp.kpi_margin per channel)';

-- Service levels and promise dates -----------------------------------------------------------

CREATE TABLE erp.service_level (
    channel_id          bigint NOT NULL,
    service             text NOT NULL CHECK (service IN ('express', 'standard', 'economy')),
    ship_within_days    integer NOT NULL CHECK (ship_within_days BETWEEN 0 AND 30),
    transit_days        integer NOT NULL CHECK (transit_days BETWEEN 0 AND 60),
    PRIMARY KEY (channel_id, service)
);
COMMENT ON TABLE erp.service_level IS
    'A channel''s service levels: an order ships by the cut-off ship_within_days ship days after the first one it can make, and is delivered transit_days later; without a row: express 0/1, standard 1/3, economy 3/6';

CREATE TABLE erp.node_cutoff (
    node_id         bigint PRIMARY KEY,
    cutoff          time NOT NULL DEFAULT '15:00',
    -- a zone PostgreSQL knows (the check raises 22023 for another)
    time_zone       text NOT NULL DEFAULT 'UTC' CHECK (pg_catalog.length(time_zone) <= 64
                                                       AND (pg_catalog.now() AT TIME ZONE time_zone) IS NOT NULL),
    ships_weekends  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE erp.node_cutoff IS
    'When a node hands parcels to its carriers: orders allocated before the cut-off (local time in time_zone) ship that day; without a row: 15:00 UTC, Monday to Friday';

-- the ship days of a node from a time on: the day of at (when before the cut-off) or the next,
-- weekends skipped unless the node ships then; ship_time is the cut-off of the (days+1)-th
CREATE FUNCTION erp.ship_time(node_id bigint, at timestamptz, days integer DEFAULT 0)
    RETURNS timestamptz
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    RETURN (
    SELECT (d.day + c.cutoff) AT TIME ZONE c.time_zone
      FROM (SELECT COALESCE(nc.cutoff, '15:00'::time) AS cutoff, COALESCE(nc.time_zone, 'UTC') AS time_zone,
                   COALESCE(nc.ships_weekends, false) AS weekends
              FROM (SELECT 1) one LEFT JOIN erp.node_cutoff nc ON nc.node_id OPERATOR(pg_catalog.=) ship_time.node_id) c,
           LATERAL (SELECT g.day
                      FROM pg_catalog.generate_series(
                               -- no rows (NULL) for a time outside the years 1970..9998 or days outside 0..366
                               CASE WHEN at >= '1970-01-01 00:00+00' AND at < '9999-01-01 00:00+00' AND days BETWEEN 0 AND 366
                                    THEN (at AT TIME ZONE c.time_zone)::date
                                         + CASE WHEN (at AT TIME ZONE c.time_zone)::time > c.cutoff THEN 1 ELSE 0 END
                               END,
                               (LEAST(GREATEST(at, '1970-01-01 00:00+00'), '9999-01-01 00:00+00') AT TIME ZONE c.time_zone)::date
                                   + 3 * LEAST(GREATEST(days, 0), 366) + 10,
                               interval '1 day') AS s(t),
                           LATERAL (SELECT s.t::date AS day) g
                     WHERE c.weekends OR EXTRACT(isodow FROM g.day) < 6
                     ORDER BY g.day OFFSET LEAST(GREATEST(days, 0), 366) LIMIT 1) d);
COMMENT ON FUNCTION erp.ship_time(bigint, timestamptz, integer) IS
    'When node_id ships an order ready at at, days ship days later (0: the first it can make): the cut-off of its ship day, in its time zone (erp.node_cutoff; 15:00 UTC on weekdays without a row); NULL for a time outside the years 1970 to 9998 or days outside 0..366';

CREATE FUNCTION erp.promise(sku text, qty bigint, channel text, ship_to jsonb DEFAULT NULL,
                            service text DEFAULT 'standard', at timestamptz DEFAULT NULL)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ierp_promise'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.promise(text, bigint, text, jsonb, text, timestamptz) IS
    'The delivery time a storefront may promise for qty units of sku on channel with service (express, standard, economy) ordered at at (default now): over the channel''s nodes whose ATP covers qty, the earliest erp.ship_time(node, at, ship_within_days) + transit_days of the channel''s rule (erp.service_level); NULL when no node has the units';

CREATE VIEW erp.kpi_late_shipments WITH (security_invoker = true) AS
SELECT c.code AS channel, os.service,
       count(*)::bigint AS orders_shipped,
       count(*) FILTER (WHERE s.shipped_at > os.ship_by)::bigint AS late,
       round(100.0 * count(*) FILTER (WHERE s.shipped_at > os.ship_by) / count(*), 1) AS late_pct,
       round((extract(epoch FROM avg(s.shipped_at - os.ship_by) FILTER (WHERE s.shipped_at > os.ship_by)) / 3600)::numeric, 1)
           AS avg_hours_late,
       count(*) FILTER (WHERE os.meets_ship_by = false)::bigint AS allocated_at_risk
  FROM erp.order_service os
  JOIN erp.sales_order o ON o.order_id = os.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
  JOIN LATERAL (SELECT max(sh.shipped_at) AS shipped_at FROM erp.shipment sh WHERE sh.order_id = os.order_id) s ON true
 WHERE s.shipped_at IS NOT NULL
 GROUP BY c.code, os.service;
COMMENT ON VIEW erp.kpi_late_shipments IS
    'Per channel and service level: orders shipped, how many shipped after their ship_by (late), late %, average hours late, and how many were allocated to a node that could not meet it';

-- Order edits ---------------------------------------------------------------------------------

CREATE TABLE erp.order_edit (
    order_edit_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        bigint NOT NULL,
    line_no         integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('change_qty', 'cancel_line', 'add_line', 'release')),
    old_qty         bigint NOT NULL,
    new_qty         bigint NOT NULL,
    units_released  bigint NOT NULL DEFAULT 0,
    units_reserved  bigint NOT NULL DEFAULT 0,
    edited_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    edited_by       text NOT NULL
);
CREATE INDEX order_edit_order_idx ON erp.order_edit (order_id);
CREATE TRIGGER order_edit_keep_history BEFORE DELETE OR TRUNCATE ON erp.order_edit
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
COMMENT ON TABLE erp.order_edit IS
    'Edits of orders before fulfilment (erp.change_line, erp.cancel_line, erp.add_line, erp.release_line): the line, its quantity before and after, the units released and reserved by the edit, who and when';
ALTER TABLE erp.order_edit ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_edit
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_edit.order_id));

CREATE FUNCTION erp.change_line(order_id bigint, line_no integer, qty bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_change_line'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.change_line(bigint, integer, bigint) IS
    'Changes the quantity of an order line not yet picked: a smaller one releases the reserved units above it, a larger one is allocated (unless the order is held); returns the erp.order_edit id (0 when the quantity is the same)';

CREATE FUNCTION erp.cancel_line(order_id bigint, line_no integer)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_cancel_line'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.cancel_line(bigint, integer) IS
    'Cancels an order line not yet picked and releases its reserved units (not the order''s last open line: cancel the order); returns the erp.order_edit id';

CREATE FUNCTION erp.add_line(order_id bigint, sku text, qty bigint, unit_price numeric DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_add_line'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.add_line(bigint, text, bigint, numeric) IS
    'Adds a line to an order not yet packed (price given, else the customer''s price break, else the item''s) and allocates it unless the order is held; returns its line number';

CREATE FUNCTION erp.release_line(order_id bigint, line_no integer, qty bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_release_line'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.release_line(bigint, integer, bigint) IS
    'Gives qty reserved units of an order line not yet picked back to available; the line waits for erp.allocate_pending like any partly allocated line; returns the erp.order_edit id';
SELECT pg_catalog.pg_extension_config_dump('erp.price_list', '');
SELECT pg_catalog.pg_extension_config_dump('erp.price_list_price_list_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.price_break', '');
SELECT pg_catalog.pg_extension_config_dump('erp.price_break_price_break_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.customer', '');
SELECT pg_catalog.pg_extension_config_dump('erp.customer_customer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.service_level', '');
SELECT pg_catalog.pg_extension_config_dump('erp.node_cutoff', '');
SELECT pg_catalog.pg_extension_config_dump('erp.order_edit', '');
SELECT pg_catalog.pg_extension_config_dump('erp.order_edit_order_edit_id_seq', '');

CREATE OR REPLACE VIEW erp.kpi_order_aging WITH (security_invoker = true) AS
SELECT o.status::text AS status,
       count(*)::bigint AS orders,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at < interval '24 hours')::bigint AS under_24h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '24 hours'
                          AND pg_catalog.now() - o.created_at < interval '48 hours')::bigint AS from_24h_to_48h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '48 hours'
                          AND pg_catalog.now() - o.created_at < interval '72 hours')::bigint AS from_48h_to_72h,
       count(*) FILTER (WHERE pg_catalog.now() - o.created_at >= interval '72 hours')::bigint AS over_72h,
       round((extract(epoch FROM avg(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS avg_age_hours,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours,
       count(h.held_at)::bigint AS on_hold,
       round((extract(epoch FROM max(pg_catalog.now() - h.held_at)) / 3600)::numeric, 1) AS oldest_hold_hours
  FROM erp.sales_order o
  -- an order on hold: since its oldest open hold (erp.order_hold, doc/orchestration.md)
  LEFT JOIN LATERAL (SELECT min(oh.held_at) AS held_at FROM erp.order_hold oh
                      WHERE oh.order_id = o.order_id AND oh.released_at IS NULL) h ON true
 WHERE o.status NOT IN ('shipped', 'cancelled')
 GROUP BY o.status;
COMMENT ON VIEW erp.kpi_order_aging IS
    'Orders not yet shipped or cancelled, per status: how many, by age since capture (< 24 h, 24-48 h, 48-72 h, > 72 h), average and oldest age in hours; how many are on hold and the oldest hold''s age in hours';

CREATE OR REPLACE VIEW erp.worklist WITH (security_invoker = true) AS
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

-- Partners (erp.node_access): the service level of the orders they see, and none of
-- the B2B accounts' terms, credit limits and price lists, which are the retailer's
-- commercial data, not a node's.
ALTER TABLE erp.order_service ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_service
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_service.order_id));
ALTER TABLE erp.customer ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.customer USING ((SELECT erp.visible_nodes()) IS NULL);
ALTER TABLE erp.price_list ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.price_list USING ((SELECT erp.visible_nodes()) IS NULL);
ALTER TABLE erp.price_break ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.price_break USING ((SELECT erp.visible_nodes()) IS NULL);

COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay, anomaly; 0.4.0: order_held, order_released, carrier_failed, carrier_returned, ship_by_at_risk, order_edited, line_substituted, hold_expired, hold_released (doc/events.md)';

-- What order edits cost: per channel, kind and day, the edits, the orders they touched,
-- the units the quantities went up and down by, and the units released and reserved.
CREATE VIEW erp.kpi_order_edits WITH (security_invoker = true) AS
SELECT c.code AS channel, e.kind, (e.edited_at)::date AS day,
       count(*)::bigint AS edits,
       count(DISTINCT e.order_id)::bigint AS orders,
       sum(GREATEST(e.new_qty - e.old_qty, 0))::bigint AS units_added,
       sum(GREATEST(e.old_qty - e.new_qty, 0))::bigint AS units_removed,
       sum(e.units_released)::bigint AS units_released,
       sum(e.units_reserved)::bigint AS units_reserved
  FROM erp.order_edit e
  JOIN erp.sales_order o ON o.order_id = e.order_id
  JOIN erp.channel c ON c.channel_id = o.channel_id
 GROUP BY c.code, e.kind, (e.edited_at)::date;
COMMENT ON VIEW erp.kpi_order_edits IS
    'Order edits per channel, kind (change_qty, cancel_line, add_line, release) and day (in the session''s time zone): edits, orders edited, units the line quantities went up (units_added) and down (units_removed) by, units the edits released and reserved; a partner sees the edits of the orders it sees';
