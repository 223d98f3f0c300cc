-- 85_access: row level security, deciding with the one partner rule of
-- src/access.c (doc/governance.md, "The partner rule").  A partner sees only
-- the rows of its nodes and its own documents; every other session sees
-- everything.  The functions run as the extension owner and check partners
-- themselves (IE009) with the same rule.
--
-- Policies are stored parsed, and every operator and function in them is
-- schema-qualified: nothing a caller defines on its search_path changes what a
-- policy means.  erp.visible_nodes() is evaluated once per statement (an init
-- plan); erp.order_visible and erp.rma_visible (03_master.sql) run only for a
-- partner's rows that touch one of its nodes.

-- rows that carry one node
ALTER TABLE erp.stock_slot ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_slot
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.reservation ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.reservation
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.shipment_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.purchase_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.cycle_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.cycle_count
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.adjustment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.adjustment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- events about a node are its partner's (a supplier delay is about its purchase
-- order's node, erp.delay_po sets it); events about no node (a backorder) are the
-- business's
ALTER TABLE erp.event ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.event
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- rows that carry two nodes: visible at either end
ALTER TABLE erp.stock_move ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_move
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.transfer ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.transfer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

ALTER TABLE erp.rma_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR received_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- an order is the partner's by erp.order_visible; the EXISTS before it only
-- skips, cheaply, the orders that touch none of its nodes (which the rule
-- refuses anyway)
ALTER TABLE erp.sales_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.sales_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR ((EXISTS (SELECT 1 FROM erp.reservation r
                         WHERE r.order_id OPERATOR(pg_catalog.=) sales_order.order_id
                           AND r.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                OR EXISTS (SELECT 1 FROM erp.shipment_line s
                            WHERE s.order_id OPERATOR(pg_catalog.=) sales_order.order_id
                              AND s.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                OR EXISTS (SELECT 1 FROM erp.channel_node cn
                            WHERE cn.channel_id OPERATOR(pg_catalog.=) sales_order.channel_id
                              AND cn.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))))
               AND erp.order_visible(sales_order.order_id)));

-- an order's lines and shipments are the partner's when the order is
ALTER TABLE erp.order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_line.order_id));

ALTER TABLE erp.shipment ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.shipment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) shipment.order_id));

-- a return is the partner's by erp.rma_visible (every line at its nodes); the
-- EXISTS skips the returns none of whose lines it can see
ALTER TABLE erp.rma ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.rma
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR (EXISTS (SELECT 1 FROM erp.rma_line l WHERE l.rma_id OPERATOR(pg_catalog.=) rma.rma_id)
               AND erp.rma_visible(rma.rma_id)));

-- a purchase order's lines are the partner's when the purchase order is
ALTER TABLE erp.purchase_order_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.purchase_order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p
                       WHERE p.purchase_order_id OPERATOR(pg_catalog.=) purchase_order_line.purchase_order_id));

-- the listing itself: a partner sees the rows of its own nodes, not which other
-- partners exist (erp.visible_nodes() reads the table directly, past this
-- policy; only erp_admin writes it)
ALTER TABLE erp.node_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.node_access
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- ---------------------------------------------------------------------------
-- The nodes of an order, for Citus
-- ---------------------------------------------------------------------------
-- On Citus the order rule may be asked inside a query on a shard (a partner's
-- join of its orders with stock rows), where it cannot read the reservations
-- of other nodes: it reads this table, a reference table there, instead
-- (src/access.c, AccessOrderRuleLocal).  erp.distribute() fills it and puts
-- erp.order_node_touched() on the order tables; the backend that changes an
-- order keeps its rows when its public function returns.  Empty on one node.
CREATE TABLE erp.order_node (
    order_id    bigint NOT NULL,
    node_id     bigint NOT NULL,
    PRIMARY KEY (order_id, node_id)
);
COMMENT ON TABLE erp.order_node IS
    'On Citus: the nodes where each order holds (erp.reservation) or shipped (erp.shipment_line) stock, a copy on every node, so the partner rule can decide inside a query on a shard; kept by the extension when an order changes; empty on one node (doc/scaling.md, "Partners")';

CREATE FUNCTION erp.order_node_touched() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_access_order_touched' LANGUAGE C;
COMMENT ON FUNCTION erp.order_node_touched() IS
    'Trigger (AFTER ROW, on Citus only: erp.distribute() puts it on erp.sales_order, erp.order_line and erp.shipment_line): notes the order changed, so that its erp.order_node rows are written when the outermost public function returns';

ALTER TABLE erp.order_node ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.order_node
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- Whether the session may see a purchase order, or the purchase order of a
-- line: for a partner, when its node is one of the partner's.  On Citus the
-- policies of purchase order lines and landed costs call them (erp.distribute(),
-- erp.citus_policy_qual): Citus refuses the subqueries of their one-node policies.
CREATE FUNCTION erp.po_visible(purchase_order_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_po_visible'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.po_visible(bigint) IS 'Whether the session may see the purchase order: always for a session that is no partner; for a partner, when the purchase order''s node is one of its nodes';

CREATE FUNCTION erp.po_line_visible(purchase_order_line_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_po_line_visible'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.po_line_visible(bigint) IS 'Whether the session may see the purchase order of the line: always for a session that is no partner; for a partner, when that purchase order''s node is one of its nodes';
