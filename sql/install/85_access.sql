-- 85_access: row level security.  A partner role sees only the rows of its
-- nodes; every other role sees everything.  The functions run as the extension
-- owner and check partners themselves (IE009 at another node).

ALTER TABLE erp.stock_balance ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_balance
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.stock_move ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_move
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.reservation ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.reservation
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.shipment_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment_line
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- an order is a partner's when it holds or shipped stock at one of its nodes
ALTER TABLE erp.sales_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.sales_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.reservation r WHERE r.order_id = sales_order.order_id)
           OR EXISTS (SELECT 1 FROM erp.shipment_line s WHERE s.order_id = sales_order.order_id));

ALTER TABLE erp.order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id = order_line.order_id));

ALTER TABLE erp.shipment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.shipment_line s WHERE s.shipment_id = shipment.shipment_id));

ALTER TABLE erp.transfer ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.transfer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.purchase_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.rma_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR received_node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cycle_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cycle_count
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.adjustment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.adjustment
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- events about a node are its partner's; events about no node (a backorder, a
-- supplier delay) are the business's
ALTER TABLE erp.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.event
    USING ((SELECT erp.visible_nodes()) IS NULL OR node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- a return is a partner's when one of its lines is (rma_line has its own policy)
ALTER TABLE erp.rma ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.rma_line l WHERE l.rma_id = rma.rma_id));

ALTER TABLE erp.purchase_order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p WHERE p.purchase_order_id = purchase_order_line.purchase_order_id));

-- erp.node_access itself stays readable: erp.visible_nodes() reads it for every
-- policy, and a policy on it would call itself.
