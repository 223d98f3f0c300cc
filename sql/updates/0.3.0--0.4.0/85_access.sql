-- 85_access (update): as sql/install/85_access.sql, the nodes of an order for the partner rule on Citus.
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

-- (a fresh install marks it in 99_dump.sql: pg_dump keeps its rows)
SELECT pg_catalog.pg_extension_config_dump('erp.order_node', '');
