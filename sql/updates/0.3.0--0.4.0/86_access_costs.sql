-- 86_access_costs (update): as sql/install/86_access_costs.sql: row level security of the costs (sql/install/21_valuation.sql),
-- with the partner rule of 85_access.sql: a partner's login sees the cost entries,
-- balances, pending receipts and layers of its own nodes only, and the landed
-- costs of its own nodes' purchase orders; every other session sees everything.
-- The finance views (erp.inventory_value, erp.kpi_margin, ...) run as their caller
-- (security_invoker), so these policies hold them too.

ALTER TABLE erp.cost_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cost_entry
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cost_balance ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cost_balance
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cost_delta ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cost_delta
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cost_layer ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cost_layer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- a landed cost, and its share on a line, are the partner's when the purchase
-- order is (erp.purchase_order's own policy decides that)
ALTER TABLE erp.landed_cost ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.landed_cost
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p
                       WHERE p.purchase_order_id OPERATOR(pg_catalog.=) landed_cost.purchase_order_id));

ALTER TABLE erp.landed_cost_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.landed_cost_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order_line p
                       WHERE p.purchase_order_line_id OPERATOR(pg_catalog.=) landed_cost_line.purchase_order_line_id));
