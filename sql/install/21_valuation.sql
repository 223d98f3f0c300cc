-- 21_valuation: perpetual costing (SPEC 10).  Every move that changes the value
-- on hand at a node writes erp.cost_entry in the kernel's transaction
-- (src/stock/cost.c); erp.cost_balance holds the running quantity and value per
-- item and node, erp.cost_layer the receipt layers of fifo items.  Landed costs
-- (erp.add_landed_cost) spread over a purchase order's lines.  doc/finance.md
-- states the rules and works an example through every view.
--
-- Valued ("on hand") states: every state but incoming and return_pending; units
-- in transit count at their destination node.  Precision: unit costs
-- numeric(18,6), every entry's value rounded to cents; a balance's value is the
-- exact sum of its entries, and the rounding residue stays in it (an issue of
-- the last units takes the whole remaining value).

ALTER TABLE erp.item
    ADD COLUMN cost_method text NOT NULL DEFAULT 'average' CHECK (cost_method IN ('average', 'fifo')),
    ADD COLUMN weight numeric(14,3) CHECK (weight >= 0),
    ADD COLUMN volume numeric(14,6) CHECK (volume >= 0);
COMMENT ON COLUMN erp.item.cost_method IS 'average: perpetual moving average per item and node (recomputed on every receipt); fifo: receipt layers consumed oldest first (of the move''s lot first); changed only while no node holds costed stock (IE010)';
COMMENT ON COLUMN erp.item.weight IS 'Weight of one unit (any unit, the same for all items); spreads landed costs by weight';
COMMENT ON COLUMN erp.item.volume IS 'Volume of one unit (any unit, the same for all items); spreads landed costs by volume';

CREATE TYPE erp.cost_kind AS ENUM ('receipt', 'landed_cost', 'cogs', 'write_off', 'return', 'vendor_credit',
                                   'revaluation', 'transfer', 'refurbishment');
COMMENT ON TYPE erp.cost_kind IS 'What a cost entry records: receipt (purchase, unplanned receipt), landed_cost, cogs (shipment; also the landed-cost share of units already shipped, 0 units, ref of their order), write_off (damage, disposal, shrinkage, count loss; a count gain is a positive write_off), return (a customer return back in stock), vendor_credit (units returned to the supplier), revaluation (opening balance), transfer (out of one node, into another), refurbishment (the cost of refurbishing units, erp.add_refurbishment_cost)';

CREATE TABLE erp.cost_entry (
    cost_entry_id   bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint,
    move_id         bigint,
    ref             text,
    kind            erp.cost_kind NOT NULL,
    qty             bigint NOT NULL,
    unit_cost       numeric(18,6) NOT NULL,
    value           numeric(14,2) NOT NULL,
    purchase_order_line_id bigint,
    landed_cost_id  bigint,
    at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    balance_qty     bigint,
    balance_value   numeric(14,2),
    CONSTRAINT cost_entry_pkey PRIMARY KEY (item_id, cost_entry_id)
);
CREATE INDEX cost_entry_node_idx ON erp.cost_entry (item_id, node_id, cost_entry_id);
CREATE INDEX cost_entry_ref_idx ON erp.cost_entry (item_id, ref, kind);
CREATE INDEX cost_entry_at_idx ON erp.cost_entry (at);
COMMENT ON TABLE erp.cost_entry IS 'Append-only cost ledger: one row per change of the value on hand of an item at a node, written by the stock kernel in the move''s transaction; sum(value) per item and node is the value on hand';
COMMENT ON COLUMN erp.cost_entry.qty IS 'Units entering (> 0) or leaving (< 0) the node''s value; 0 for a landed cost or its share of sold units';
COMMENT ON COLUMN erp.cost_entry.unit_cost IS 'value / qty (6 decimals), or the cost per unit the entry spreads when qty is 0';
COMMENT ON COLUMN erp.cost_entry.value IS 'Change of the value on hand, rounded to cents: > 0 in, < 0 out (cogs, write-off, vendor credit, transfer out are negative)';
COMMENT ON COLUMN erp.cost_entry.balance_qty IS 'Units on hand at the node after this entry, for the entries that own the balance (issues: cogs, write-off, vendor credit, transfer out; landed costs after receipt); NULL for receipts, which are appended without owning it and counted by the next issue';
COMMENT ON COLUMN erp.cost_entry.balance_value IS 'Value on hand at the node after this entry (see balance_qty): an issue of q took round(value before x q / qty before, 2), value before = balance_value - value';
COMMENT ON COLUMN erp.cost_entry.move_id IS 'The ledger row (erp.stock_move) of the move; NULL for a landed cost added after receipt';
COMMENT ON COLUMN erp.cost_entry.ref IS 'The document of the move ("order:42", "po:7", "rma:3", "transfer:5") or of the landed cost ("po:7")';

CREATE TABLE erp.cost_balance (
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    qty             bigint NOT NULL DEFAULT 0,
    value           numeric(14,2) NOT NULL DEFAULT 0,
    received_at     timestamptz,
    CONSTRAINT cost_balance_pkey PRIMARY KEY (item_id, node_id)
);
COMMENT ON TABLE erp.cost_balance IS 'Derived: units and value on hand per item and node as of its last issue; with its erp.cost_delta rows, the running sum of erp.cost_entry; the moving average is (value + deltas) / (qty + deltas)';
COMMENT ON COLUMN erp.cost_balance.received_at IS 'Average receipt time of the units on hand, weighted by quantity (the age of average-cost stock)';

CREATE TABLE erp.cost_delta (
    cost_delta_id   bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    qty             bigint NOT NULL,
    value           numeric(14,2) NOT NULL,
    received_at     timestamptz NOT NULL,
    CONSTRAINT cost_delta_pkey PRIMARY KEY (item_id, cost_delta_id)
);
CREATE INDEX cost_delta_node_idx ON erp.cost_delta (item_id, node_id);
COMMENT ON TABLE erp.cost_delta IS 'Derived: what receipts added to a cost balance since its last issue (receipts append here without waiting; the next issue folds them into erp.cost_balance); the value on hand is the balance plus its deltas';

CREATE TABLE erp.cost_layer (
    cost_layer_id   bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL,
    node_id         bigint NOT NULL,
    lot_id          bigint NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL,
    qty_in          bigint NOT NULL,
    qty_left        bigint NOT NULL,
    value_left      numeric(14,2) NOT NULL,
    purchase_order_line_id bigint,
    CONSTRAINT cost_layer_pkey PRIMARY KEY (item_id, cost_layer_id)
);
CREATE INDEX cost_layer_open_idx ON erp.cost_layer (item_id, node_id, cost_layer_id) WHERE qty_left > 0;
COMMENT ON TABLE erp.cost_layer IS 'Derived: the receipt layers of fifo items, consumed oldest first; per item and node their qty_left and value_left add up to erp.cost_balance and its erp.cost_delta rows';

CREATE TABLE erp.landed_cost (
    landed_cost_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_order_id   bigint NOT NULL REFERENCES erp.purchase_order,
    kind                text NOT NULL CHECK (kind IN ('freight', 'duty', 'insurance', 'fees')),
    amount              numeric(14,2) NOT NULL,
    basis               text NOT NULL CHECK (basis IN ('value', 'qty', 'weight', 'volume')),
    added_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    added_by            name NOT NULL
);
COMMENT ON TABLE erp.landed_cost IS 'A freight, duty, insurance or fee bill of a purchase order, spread over its lines (erp.landed_cost_line)';

CREATE TABLE erp.landed_cost_line (
    item_id                 bigint NOT NULL,
    landed_cost_id          bigint NOT NULL,
    purchase_order_line_id  bigint NOT NULL,
    amount                  numeric(14,2) NOT NULL,
    CONSTRAINT landed_cost_line_pkey PRIMARY KEY (item_id, landed_cost_id, purchase_order_line_id)
);
CREATE INDEX landed_cost_line_po_line_idx ON erp.landed_cost_line (purchase_order_line_id);
COMMENT ON TABLE erp.landed_cost_line IS 'The share of a landed cost on one purchase order line; units received after it carry amount x units / line qty (cent-rounded so that the line''s units carry exactly amount)';

-- Closed periods keep the costs at their cut (erp.close_period, sql/install/18_maintenance.sql),
-- so that the cost entries before it may be archived (erp.archive_ledger).
CREATE TABLE erp.period_cost (
    upto        date NOT NULL,
    item_id     bigint NOT NULL,
    node_id     bigint NOT NULL,
    qty         bigint NOT NULL,
    value       numeric(14,2) NOT NULL,
    CONSTRAINT period_cost_pkey PRIMARY KEY (item_id, upto, node_id)
);
COMMENT ON TABLE erp.period_cost IS 'The costs of a closed period per item and node: the units and value of the cost entries of the period and every earlier one (erp.close_period); erp.verify_costs() and erp.inventory_value_at() start from the latest closed period, so that its cost entries may be archived';
COMMENT ON COLUMN erp.period_cost.upto IS 'The closed period (erp.period_close.upto)';
COMMENT ON COLUMN erp.period_cost.value IS 'Value on hand at the cut: the sum of the cost entries of the item at the node dated before it (and counted by the close)';

CREATE TABLE erp.cost_entry_archive (LIKE erp.cost_entry);
ALTER TABLE erp.cost_entry_archive ADD CONSTRAINT cost_entry_archive_pkey PRIMARY KEY (item_id, cost_entry_id);
COMMENT ON TABLE erp.cost_entry_archive IS 'Cost entries of closed periods moved out of erp.cost_entry by erp.archive_ledger(upto, keep_copy => true); the margin, return-cost and turns views and erp.inventory_value_at read it with erp.cost_entry';

ALTER TABLE erp.period_cost ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.period_cost
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER TABLE erp.cost_entry_archive ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cost_entry_archive
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- No numeric column holds NaN (as sql/install/83_value_checks.sql: <table>_<column>_not_nan).
ALTER TABLE erp.item ADD CONSTRAINT item_weight_not_nan CHECK (weight <> 'NaN'::numeric);
ALTER TABLE erp.item ADD CONSTRAINT item_volume_not_nan CHECK (volume <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry ADD CONSTRAINT cost_entry_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry ADD CONSTRAINT cost_entry_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry ADD CONSTRAINT cost_entry_balance_value_not_nan CHECK (balance_value <> 'NaN'::numeric);
ALTER TABLE erp.cost_balance ADD CONSTRAINT cost_balance_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cost_delta ADD CONSTRAINT cost_delta_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cost_layer ADD CONSTRAINT cost_layer_value_left_not_nan CHECK (value_left <> 'NaN'::numeric);
ALTER TABLE erp.landed_cost ADD CONSTRAINT landed_cost_amount_not_nan CHECK (amount <> 'NaN'::numeric);
ALTER TABLE erp.landed_cost_line ADD CONSTRAINT landed_cost_line_amount_not_nan CHECK (amount <> 'NaN'::numeric);
ALTER TABLE erp.period_cost ADD CONSTRAINT period_cost_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry_archive ADD CONSTRAINT cost_entry_archive_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry_archive ADD CONSTRAINT cost_entry_archive_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cost_entry_archive ADD CONSTRAINT cost_entry_archive_balance_value_not_nan CHECK (balance_value <> 'NaN'::numeric);

-- Guards: the cost tables are written only by the kernel's costing (IE005).
CREATE FUNCTION erp.guard_cost_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_cost_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_cost_write() IS 'Trigger: refuses writes to the cost tables except by the stock kernel''s costing or a restore (IE005)';
CREATE TRIGGER cost_entry_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.cost_entry
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();
CREATE TRIGGER cost_balance_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.cost_balance
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();
CREATE TRIGGER cost_delta_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.cost_delta
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();
CREATE TRIGGER cost_layer_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.cost_layer
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();
CREATE TRIGGER landed_cost_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.landed_cost
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();
CREATE TRIGGER landed_cost_line_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.landed_cost_line
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_cost_write();

CREATE FUNCTION erp.guard_cost_method() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_cost_method_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_cost_method() IS 'Trigger: refuses to change an item''s cost_method while a node holds costed units or value of it (IE010)';
CREATE TRIGGER item_cost_method_guard BEFORE UPDATE OF cost_method ON erp.item
    FOR EACH ROW WHEN (OLD.cost_method IS DISTINCT FROM NEW.cost_method)
    EXECUTE FUNCTION erp.guard_cost_method();

CREATE FUNCTION erp.add_landed_cost(po_id bigint, kind text, amount numeric, basis text DEFAULT 'value')
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_add_landed_cost'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.add_landed_cost(bigint, text, numeric, text) IS
    'Spreads a freight, duty, insurance or fees bill over a purchase order''s lines by value (qty x unit_cost), qty, weight or volume (cents, the residue on the largest share); units not yet received carry their share when received, units received revalue now: the part still on hand at the receiving node, the rest through COGS; returns the landed cost id';

CREATE FUNCTION erp.add_refurbishment_cost(sku text, node text, amount numeric, ref text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_add_refurbishment_cost'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.add_refurbishment_cost(text, text, numeric, text) IS
    'The cost of refurbishing units of sku at node lands on them while they are in refurbishment (state refurbish): an average item''s value at the node rises by amount (and so its average), a fifo item''s newest open layer at the node carries it; one cost entry of kind refurbishment, 0 units, unit_cost = amount / units in refurbishment; returns its cost_entry_id. Refused: unknown sku or node (IE003), amount not > 0, not in cents or over 999999999999.99, ref over 1024 bytes, value on hand beyond numeric(14,2) (IE004), a partner at another node (IE009), no units in refurbishment at the node (IE010)';

-- erp.verify_costs: the cost reconciliation erp.verify() runs (values in cents).
CREATE FUNCTION erp.verify_costs()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH onhand AS (
        SELECT b.item_id, b.node_id, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b
         WHERE b.state NOT IN ('incoming', 'return_pending')
         GROUP BY 1, 2
    ), closed AS (
        -- the latest closed period that kept its costs: they stand for its cost entries
        SELECT c.upto, c.cut, c.last_cost_entry_id FROM erp.period_close c
         WHERE c.last_cost_entry_id IS NOT NULL ORDER BY c.cut DESC LIMIT 1
    ), entries AS (
        SELECT t.item_id, t.node_id, sum(t.qty)::bigint AS qty, sum(t.value) AS value
          FROM (SELECT p.item_id, p.node_id, p.qty, p.value
                  FROM erp.period_cost p JOIN closed c ON c.upto = p.upto
                UNION ALL
                SELECT e.item_id, e.node_id, e.qty, e.value FROM erp.cost_entry e
                 WHERE NOT (e.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                            AND e.cost_entry_id <= (SELECT c.last_cost_entry_id FROM closed c))) t
         GROUP BY 1, 2
    ), balances AS (SELECT t.item_id, t.node_id, sum(t.qty)::bigint AS qty, sum(t.value) AS value,
                   to_timestamp(sum(extract(epoch FROM t.received_at) * t.qty) FILTER (WHERE t.qty > 0)
                                / NULLIF(sum(t.qty) FILTER (WHERE t.qty > 0 AND t.received_at IS NOT NULL), 0)) AS received_at
              FROM (SELECT item_id, node_id, qty, value, received_at FROM erp.cost_balance
                    UNION ALL SELECT item_id, node_id, qty, value, received_at FROM erp.cost_delta) t
             GROUP BY t.item_id, t.node_id), layers AS (
        SELECT l.item_id, l.node_id, sum(l.qty_left)::bigint AS qty, sum(l.value_left) AS value
          FROM erp.cost_layer l WHERE l.qty_left <> 0 OR l.value_left <> 0 GROUP BY 1, 2
    )
    SELECT 'cost balance quantity differs from stock on hand', c.item_id, c.node_id, NULL::bigint,
           NULL::erp.stock_state, COALESCE(o.qty, 0), c.qty
      FROM balances c LEFT JOIN onhand o ON o.item_id = c.item_id AND o.node_id = c.node_id
     WHERE c.qty <> COALESCE(o.qty, 0)
    UNION ALL
    SELECT 'stock on hand has no cost balance', o.item_id, o.node_id, NULL, NULL, o.qty, 0
      FROM onhand o
     WHERE o.qty <> 0
       AND NOT EXISTS (SELECT 1 FROM balances c WHERE c.item_id = o.item_id AND c.node_id = o.node_id)
    UNION ALL
    SELECT 'cost balance differs from its cost entries (cents)', c.item_id, c.node_id, NULL, NULL,
           (COALESCE(e.value, 0) * 100)::bigint, (c.value * 100)::bigint
      FROM balances c LEFT JOIN entries e ON e.item_id = c.item_id AND e.node_id = c.node_id
     WHERE c.value <> COALESCE(e.value, 0) OR c.qty <> COALESCE(e.qty, 0)
    UNION ALL
    SELECT 'value on hand is not quantity x unit cost within a cent per unit (cents)', c.item_id, c.node_id,
           NULL, NULL, (c.qty * 100 * (c.value / NULLIF(c.qty, 0)))::bigint, (c.value * 100)::bigint
      FROM balances c
     WHERE c.qty < 0 OR c.value < -0.05 OR (c.qty = 0 AND abs(c.value) > 0.05)
    UNION ALL
    SELECT 'fifo layers differ from the cost balance (cents)', c.item_id, c.node_id, NULL, NULL,
           (c.value * 100)::bigint, (COALESCE(l.value, 0) * 100)::bigint
      FROM balances c JOIN erp.item i ON i.item_id = c.item_id AND i.cost_method = 'fifo'
      LEFT JOIN layers l ON l.item_id = c.item_id AND l.node_id = c.node_id
     WHERE c.value <> COALESCE(l.value, 0) OR c.qty <> COALESCE(l.qty, 0)
$$;
COMMENT ON FUNCTION erp.verify_costs() IS
    'Cost reconciliation, one row per problem (erp.verify() includes it): per item and node, the cost balance holds the units on hand (every state but incoming and return_pending) and exactly the sum of its cost entries (the costs of the latest closed period, erp.period_cost, plus the entries it did not count); its value is never negative nor left without units beyond a rounding residue of 0.05 (issues that could not own the balance and ran at once), so value = qty x unit_cost holds within a cent per unit (unit_cost = value / qty); a fifo item''s open layers add up to its balance; values in cents';

-- Views --------------------------------------------------------------------------

CREATE VIEW erp.inventory_value WITH (security_invoker = true) AS
SELECT i.sku, n.code AS node, c.qty,
       CASE WHEN c.qty > 0 THEN round(c.value / c.qty, 6) ELSE 0 END::numeric(18,6) AS unit_cost,
       c.value
  FROM (SELECT t.item_id, t.node_id, sum(t.qty)::bigint AS qty, sum(t.value) AS value,
               to_timestamp(sum(extract(epoch FROM t.received_at) * t.qty) FILTER (WHERE t.qty > 0)
                            / NULLIF(sum(t.qty) FILTER (WHERE t.qty > 0 AND t.received_at IS NOT NULL), 0)) AS received_at
          FROM (SELECT item_id, node_id, qty, value, received_at FROM erp.cost_balance
                UNION ALL SELECT item_id, node_id, qty, value, received_at FROM erp.cost_delta) t
         GROUP BY t.item_id, t.node_id) c
  JOIN erp.item i ON i.item_id = c.item_id
  JOIN erp.node n ON n.node_id = c.node_id
 WHERE c.qty <> 0 OR c.value <> 0;
COMMENT ON VIEW erp.inventory_value IS
    'Per sku and node: qty on hand (every state but incoming and return_pending; in transit at its destination), value = sum of the cost entries, unit_cost = value / qty (6 decimals)';

CREATE FUNCTION erp.age_bucket(days integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN days <= 30 THEN '0-30' WHEN days <= 60 THEN '31-60' WHEN days <= 90 THEN '61-90'
                WHEN days <= 180 THEN '91-180' ELSE 'over 180' END
$$;
COMMENT ON FUNCTION erp.age_bucket(integer) IS 'The aging bucket of an age in days: 0-30, 31-60, 61-90, 91-180, over 180';

CREATE VIEW erp.inventory_aging WITH (security_invoker = true) AS
WITH aged AS (
    SELECT l.item_id, l.node_id, l.received_at, l.qty_left AS qty, l.value_left AS value
      FROM erp.cost_layer l JOIN erp.item i ON i.item_id = l.item_id AND i.cost_method = 'fifo'
     WHERE l.qty_left > 0
    UNION ALL
    SELECT c.item_id, c.node_id, c.received_at, c.qty, c.value
      FROM (SELECT t.item_id, t.node_id, sum(t.qty)::bigint AS qty, sum(t.value) AS value,
                   to_timestamp(sum(extract(epoch FROM t.received_at) * t.qty) FILTER (WHERE t.qty > 0)
                                / NULLIF(sum(t.qty) FILTER (WHERE t.qty > 0 AND t.received_at IS NOT NULL), 0)) AS received_at
              FROM (SELECT item_id, node_id, qty, value, received_at FROM erp.cost_balance
                    UNION ALL SELECT item_id, node_id, qty, value, received_at FROM erp.cost_delta) t
             GROUP BY t.item_id, t.node_id) c
      JOIN erp.item i ON i.item_id = c.item_id AND i.cost_method = 'average'
     WHERE c.qty > 0
)
SELECT i.sku, n.code AS node,
       erp.age_bucket(GREATEST(0, floor(extract(epoch FROM pg_catalog.now() - a.received_at) / 86400))::integer)
           AS age_bucket,
       sum(a.qty)::bigint AS qty, sum(a.value)::numeric(14,2) AS value
  FROM aged a
  JOIN erp.item i ON i.item_id = a.item_id
  JOIN erp.node n ON n.node_id = a.node_id
 GROUP BY 1, 2, 3;
COMMENT ON VIEW erp.inventory_aging IS
    'Per sku, node and age bucket (0-30, 31-60, 61-90, 91-180, over 180 days since receipt): fifo items by their open layers'' receipt time, average items by the quantity-weighted average receipt time of the units on hand; qty and value';

CREATE VIEW erp.kpi_margin WITH (security_invoker = true) AS
WITH sales AS (
    SELECT o.channel_id, sl.item_id, sum(sl.qty * ol.unit_price) AS revenue
      FROM erp.shipment_line sl
      JOIN erp.order_line ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no
      JOIN erp.sales_order o ON o.order_id = sl.order_id
     GROUP BY 1, 2
), costs AS (
    SELECT o.channel_id, e.item_id, -sum(e.value) AS cogs
      FROM (SELECT item_id, ref, kind, value FROM erp.cost_entry
            UNION ALL SELECT item_id, ref, kind, value FROM erp.cost_entry_archive) e
      JOIN erp.sales_order o ON e.ref = 'order:' || o.order_id
     WHERE e.kind = 'cogs'
     GROUP BY 1, 2
), returned AS (
    SELECT o.channel_id, e.item_id,
           sum(e.value) FILTER (WHERE e.kind = 'return') AS cost_back,
           -sum(e.value) FILTER (WHERE e.kind IN ('write_off', 'vendor_credit')) AS return_cost
      FROM (SELECT item_id, ref, kind, value FROM erp.cost_entry
            UNION ALL SELECT item_id, ref, kind, value FROM erp.cost_entry_archive) e
      JOIN erp.rma r ON e.ref = 'rma:' || r.rma_id
      JOIN erp.sales_order o ON o.order_id = r.order_id
     GROUP BY 1, 2
), refunds AS (
    SELECT o.channel_id, l.item_id, sum(l.refund_amount) AS refunds,
           sum(l.unit_price * l.qty_received - l.refund_amount) AS restocking_fees
      FROM erp.rma_line l JOIN erp.rma r ON r.rma_id = l.rma_id JOIN erp.sales_order o ON o.order_id = r.order_id
     WHERE l.refund_status = 'approved'
     GROUP BY 1, 2
), per_item AS (
    SELECT channel_id, item_id, revenue, 0 AS cogs, 0 AS cost_back, 0 AS return_cost, 0 AS refunds, 0 AS fees FROM sales
    UNION ALL SELECT channel_id, item_id, 0, cogs, 0, 0, 0, 0 FROM costs
    UNION ALL SELECT channel_id, item_id, 0, 0, COALESCE(cost_back, 0), COALESCE(return_cost, 0), 0, 0 FROM returned
    UNION ALL SELECT channel_id, item_id, 0, 0, 0, 0, refunds, restocking_fees FROM refunds
), t AS (
    SELECT ch.code AS channel, COALESCE(i.category, '(none)') AS category,
           sum(p.revenue) AS revenue, sum(p.cogs) - sum(p.cost_back) AS cogs, sum(p.refunds) AS refunds,
           sum(p.fees) AS restocking_fees, sum(p.return_cost) AS return_cost
      FROM per_item p JOIN erp.channel ch ON ch.channel_id = p.channel_id JOIN erp.item i ON i.item_id = p.item_id
     GROUP BY 1, 2
)
SELECT channel, category, revenue::numeric(14,2), cogs::numeric(14,2), refunds::numeric(14,2),
       restocking_fees::numeric(14,2), return_cost::numeric(14,2),
       (revenue - refunds - cogs - return_cost)::numeric(14,2) AS gross_margin,
       round(100 * (revenue - refunds - cogs - return_cost) / NULLIF(revenue - refunds, 0), 2) AS gross_margin_pct
  FROM t;
COMMENT ON VIEW erp.kpi_margin IS
    'Per channel and item category: revenue = shipped units x order line unit_price; cogs = cost of the units shipped (cogs entries of the channel''s orders, archived ones included, with the landed costs added after the shipment: erp.add_landed_cost posts their share as cogs of the orders that shipped the units) - cost of returned units back in stock (return entries of their RMAs); refunds = approved refund amounts; restocking_fees = unit_price x units received back - refund (kept, already net in refunds); return_cost = write-offs and vendor credits of returned units; gross_margin = revenue - refunds - cogs - return_cost; gross_margin_pct = gross_margin / (revenue - refunds) x 100';

CREATE VIEW erp.kpi_return_cost WITH (security_invoker = true) AS
WITH line AS (
    SELECT DISTINCT ON (l.rma_id, l.item_id) l.rma_id, l.item_id, l.reason
      FROM erp.rma_line l ORDER BY l.rma_id, l.item_id, l.rma_line_id
), costs AS (
    SELECT r.rma_id, e.item_id,
           sum(e.value) FILTER (WHERE e.kind = 'return') AS cost_back,
           -sum(e.value) FILTER (WHERE e.kind IN ('write_off', 'vendor_credit')) AS written_off
      FROM (SELECT item_id, ref, kind, value FROM erp.cost_entry
            UNION ALL SELECT item_id, ref, kind, value FROM erp.cost_entry_archive) e
      JOIN erp.rma r ON e.ref = 'rma:' || r.rma_id
     GROUP BY 1, 2
), money AS (
    SELECT l.rma_id, l.item_id, sum(l.qty_received)::bigint AS units,
           sum(l.refund_amount) FILTER (WHERE l.refund_status = 'approved') AS refunds,
           sum(l.unit_price * l.qty_received - l.refund_amount) FILTER (WHERE l.refund_status = 'approved') AS fees
      FROM erp.rma_line l GROUP BY 1, 2
)
SELECT line.reason, COALESCE(i.category, '(none)') AS category,
       sum(m.units)::bigint AS units_returned,
       COALESCE(sum(m.refunds), 0)::numeric(14,2) AS refunds,
       COALESCE(sum(m.fees), 0)::numeric(14,2) AS restocking_fees,
       COALESCE(sum(c.cost_back), 0)::numeric(14,2) AS cost_restocked,
       COALESCE(sum(c.written_off), 0)::numeric(14,2) AS return_cost,
       (COALESCE(sum(m.refunds), 0) + COALESCE(sum(c.written_off), 0))::numeric(14,2) AS total_cost
  FROM line
  JOIN money m ON m.rma_id = line.rma_id AND m.item_id = line.item_id
  LEFT JOIN costs c ON c.rma_id = line.rma_id AND c.item_id = line.item_id
  JOIN erp.item i ON i.item_id = line.item_id
 GROUP BY 1, 2;
COMMENT ON VIEW erp.kpi_return_cost IS
    'Per return reason (of an RMA''s first line of the item) and item category: units received back, refunds approved, restocking fees kept (unit_price x units received - refund), cost_restocked = cost of the units back in stock, return_cost = write-offs and vendor credits of returned units, total_cost = refunds + return_cost';

CREATE VIEW erp.kpi_inventory_turns WITH (security_invoker = true) AS
WITH period AS (
    SELECT pg_catalog.now() - interval '365 days' AS since
), cogs AS (
    SELECT e.item_id, -sum(e.value) AS cogs
      FROM (SELECT item_id, kind, value, at FROM erp.cost_entry
            UNION ALL SELECT item_id, kind, value, at FROM erp.cost_entry_archive) e, period p
     WHERE e.kind = 'cogs' AND e.at >= p.since
     GROUP BY 1
), opening AS (
    SELECT e.item_id, sum(e.value) AS value
      FROM (SELECT item_id, value, at FROM erp.cost_entry
            UNION ALL SELECT item_id, value, at FROM erp.cost_entry_archive) e, period p
     WHERE e.at < p.since GROUP BY 1
), closing AS (
    SELECT c.item_id, sum(c.value) AS value
      FROM (SELECT item_id, value FROM erp.cost_balance UNION ALL SELECT item_id, value FROM erp.cost_delta) c GROUP BY 1
), revenue AS (
    SELECT sl.item_id, sum(sl.qty * ol.unit_price) AS revenue
      FROM erp.shipment_line sl
      JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
      JOIN erp.order_line ol ON ol.order_id = sl.order_id AND ol.line_no = sl.line_no, period p
     WHERE s.shipped_at >= p.since
     GROUP BY 1
), t AS (
    SELECT i.sku, COALESCE(c.cogs, 0) AS cogs, COALESCE(r.revenue, 0) AS revenue,
           (COALESCE(o.value, 0) + COALESCE(cl.value, 0)) / 2 AS avg_value
      FROM erp.item i
      LEFT JOIN cogs c ON c.item_id = i.item_id
      LEFT JOIN opening o ON o.item_id = i.item_id
      LEFT JOIN closing cl ON cl.item_id = i.item_id
      LEFT JOIN revenue r ON r.item_id = i.item_id
     WHERE c.cogs IS NOT NULL OR cl.value IS NOT NULL
)
SELECT sku, cogs::numeric(14,2) AS cogs_365d, avg_value::numeric(14,2) AS avg_inventory_value,
       round(cogs / NULLIF(avg_value, 0), 2) AS turns,
       round(365 * avg_value / NULLIF(cogs, 0), 1) AS days_on_hand,
       round((revenue - cogs) / NULLIF(avg_value, 0), 2) AS gmroi
  FROM t;
COMMENT ON VIEW erp.kpi_inventory_turns IS
    'Per sku over the last 365 days: avg_inventory_value = (value 365 days ago + value now) / 2; turns = cogs / avg_inventory_value; days_on_hand = 365 x avg_inventory_value / cogs; gmroi = (revenue - cogs) / avg_inventory_value (revenue = shipped units x order line price); NULL when a divisor is 0';

CREATE VIEW erp.markdown_candidates WITH (security_invoker = true) AS
WITH aging AS (
    SELECT a.sku, sum(a.qty) FILTER (WHERE a.age_bucket IN ('91-180', 'over 180'))::bigint AS aged_qty,
           sum(a.qty)::bigint AS qty, sum(a.value) AS value
      FROM erp.inventory_aging a GROUP BY 1
), sold AS (
    SELECT i.sku, -sum(e.qty)::bigint AS sold_90d
      FROM (SELECT item_id, kind, qty, at FROM erp.cost_entry
            UNION ALL SELECT item_id, kind, qty, at FROM erp.cost_entry_archive) e
      JOIN erp.item i ON i.item_id = e.item_id
     WHERE e.kind = 'cogs' AND e.at >= pg_catalog.now() - interval '90 days'
     GROUP BY 1
)
SELECT a.sku, a.qty, a.value::numeric(14,2), COALESCE(a.aged_qty, 0) AS aged_qty, COALESCE(s.sold_90d, 0) AS sold_90d,
       round(a.qty * 90.0 / NULLIF(s.sold_90d, 0), 1) AS days_of_supply,
       concat_ws(', ',
                 CASE WHEN COALESCE(a.aged_qty, 0) > 0 THEN 'aged' END,
                 CASE WHEN COALESCE(s.sold_90d, 0) = 0 THEN 'slow' END,
                 CASE WHEN a.qty * 90.0 / NULLIF(s.sold_90d, 0) > 180 THEN 'overstocked' END) AS reasons
  FROM aging a LEFT JOIN sold s ON s.sku = a.sku
 WHERE a.qty > 0 AND (COALESCE(a.aged_qty, 0) > 0 OR COALESCE(s.sold_90d, 0) = 0
                      OR a.qty * 90.0 / NULLIF(s.sold_90d, 0) > 180);
COMMENT ON VIEW erp.markdown_candidates IS
    'Skus to mark down: aged (units received over 90 days ago), slow (none sold in 90 days) or overstocked (days_of_supply = qty x 90 / units sold in 90 days, over 180)';

CREATE FUNCTION erp.inventory_value_at(at timestamptz)
    RETURNS TABLE (sku text, node text, qty bigint, unit_cost numeric, value numeric)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH closed AS (
        -- the latest closed period ending at or before at that kept its costs
        SELECT c.upto, c.cut, c.last_cost_entry_id FROM erp.period_close c
         WHERE c.last_cost_entry_id IS NOT NULL AND c.cut <= inventory_value_at.at
         ORDER BY c.cut DESC LIMIT 1
    ), t AS (
        SELECT p.item_id, p.node_id, p.qty, p.value FROM erp.period_cost p JOIN closed c ON c.upto = p.upto
        UNION ALL
        SELECT e.item_id, e.node_id, e.qty, e.value
          FROM (SELECT item_id, node_id, qty, value, at, cost_entry_id FROM erp.cost_entry
                UNION ALL
                SELECT item_id, node_id, qty, value, at, cost_entry_id FROM erp.cost_entry_archive) e
         WHERE e.at <= inventory_value_at.at
           AND NOT (e.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND e.cost_entry_id <= (SELECT c.last_cost_entry_id FROM closed c))
    )
    SELECT i.sku, n.code, sum(t.qty)::bigint,
           CASE WHEN sum(t.qty) > 0 THEN round(sum(t.value) / sum(t.qty), 6) ELSE 0 END::numeric(18,6),
           sum(t.value)::numeric(14,2)
      FROM t
      JOIN erp.item i ON i.item_id = t.item_id
      JOIN erp.node n ON n.node_id = t.node_id
     GROUP BY i.sku, n.code
    HAVING sum(t.qty) <> 0 OR sum(t.value) <> 0
$$;
COMMENT ON FUNCTION erp.inventory_value_at(timestamptz) IS
    'Stock valuation at a past time: per sku and node the costs of the latest closed period ending at or before it (erp.period_cost) plus the cost entries (also archived ones) stamped at or before it that the period did not count (an entry is stamped with its transaction''s start): qty, value, unit_cost = value / qty.  After erp.archive_ledger(keep_copy => false), a time between two closed periods of the archived history is answered from the earlier period''s costs only';
