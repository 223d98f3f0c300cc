-- 10: one partner rule, enforced once (issue 9, section 3).  What
-- sql/install/03_master.sql, 80_verify.sql and 85_access.sql now create:
-- erp.visible_nodes() becomes the C rule of src/access.c (the session's login,
-- not a role it SETs; no search_path of the caller's), erp.order_visible and
-- erp.rma_visible decide for orders and returns as the document functions do,
-- every policy decides with them, and erp.verify() shows a partner only its
-- own rows.
COMMENT ON TABLE erp.node_access IS 'Partner roles (a 3PL''s, a store''s) and the nodes they may see and act at: a session whose login (or the role a superuser''s session SETs) is a member of a listed role, inheriting or not, sees and acts at those nodes only; every other session sees everything';

-- The nodes the session may see when it is a partner, NULL when it sees every
-- node: the one partner rule of src/access.c (the session's login, or the role
-- a superuser's session SETs; membership inheriting or not), the same the C
-- checks of every function apply.  Row level security policies and views call
-- it; it reads erp.node_access itself, so it works for any caller and no
-- search_path or operator of the caller's can change its answer.
CREATE OR REPLACE FUNCTION erp.visible_nodes() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'ierp_access_visible_nodes'
    LANGUAGE C STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.visible_nodes() IS 'Nodes the session may see and act at when it is a partner (its login, or the role a superuser SETs, is a member of a role listed in erp.node_access), NULL when it sees every node';

-- Whether the session may see and act on an order, or a return: the rule the
-- document functions check (AccessCheckOrder, AccessCheckRma).  They run as the
-- extension owner so that they see the document's other nodes too.
CREATE FUNCTION erp.order_visible(order_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_order_visible'
    LANGUAGE C STABLE STRICT SECURITY DEFINER PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.order_visible(bigint) IS 'Whether the session may see and act on the order: always for a session that is no partner; for a partner, when every node where the order holds or shipped stock is one of its nodes, or, while it holds and shipped nothing, when one of its nodes fulfils the order''s channel';

CREATE FUNCTION erp.rma_visible(rma_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_rma_visible'
    LANGUAGE C STABLE STRICT SECURITY DEFINER PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.rma_visible(bigint) IS 'Whether the session may see and act on the return: always for a session that is no partner; for a partner, when every node of its lines (expected and received) is one of its nodes';

-- every policy, as 85_access.sql creates it
ALTER POLICY partner_nodes ON erp.stock_balance
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.reservation
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.shipment_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.purchase_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.cycle_count
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.adjustment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.event
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.stock_move
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.transfer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.rma_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR received_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.sales_order
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
ALTER POLICY partner_nodes ON erp.order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_line.order_id));
ALTER POLICY partner_nodes ON erp.shipment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) shipment.order_id));
ALTER POLICY partner_nodes ON erp.rma
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR (EXISTS (SELECT 1 FROM erp.rma_line l WHERE l.rma_id OPERATOR(pg_catalog.=) rma.rma_id)
               AND erp.rma_visible(rma.rma_id)));
ALTER POLICY partner_nodes ON erp.purchase_order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p
                       WHERE p.purchase_order_id OPERATOR(pg_catalog.=) purchase_order_line.purchase_order_id));
ALTER TABLE erp.node_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.node_access
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- erp.verify(), as 80_verify.sql creates it
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM erp.stock_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';
