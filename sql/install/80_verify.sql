-- 80_verify: erp.verify(), the consistency check of everything the ledger derives.
-- It runs as its caller (readers read every table), so that row level security
-- holds it to what the caller may see - nothing inside another role's SECURITY
-- DEFINER function - and shows a partner only the problems of its own nodes and
-- orders: the one partner rule of src/access.c, through erp.visible_nodes() and
-- erp.order_visible().  The ledger side starts from the balances of the latest
-- closed period (erp.period_balance, sql/install/18_maintenance.sql) and adds
-- the moves it did not count, so that the rows it counted may be archived.

CREATE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH closed AS (
        -- the latest closed period: its balances stand for every move before its cut
        SELECT c.upto, c.cut, c.last_move_id FROM erp.period_close c ORDER BY c.cut DESC LIMIT 1
    ), ledger AS (
        SELECT b.item_id, b.node_id, NULLIF(b.lot_id, 0) AS lot_id, b.state, b.qty
          FROM erp.period_balance b JOIN closed c ON c.upto = b.upto
        UNION ALL
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), bin_ledger AS (
        -- the same per bin inside a node (bins other than 0; 0 is the rest of the node),
        -- from the latest closed period's bins plus the moves after it
        SELECT b.item_id, b.node_id, b.bin_id, NULLIF(b.lot_id, 0) AS lot_id, b.state, b.qty
          FROM erp.period_balance b JOIN closed c ON c.upto = b.upto
         WHERE b.bin_id <> 0
        UNION ALL
        SELECT m.item_id, m.to_node_id AS node_id, m.to_bin_id AS bin_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_bin_id IS NOT NULL AND m.to_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.from_bin_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_bin_id IS NOT NULL AND m.from_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
    ), by_bin_ledger AS (
        SELECT l.item_id, l.node_id, l.bin_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM bin_ledger l GROUP BY 1, 2, 3, 4, 5
    ), by_bin AS (
        SELECT s.item_id, s.node_id, s.bin_id, NULLIF(s.lot_id, 0) AS lot_id, q.state, sum(q.qty)::bigint AS qty
          FROM erp.stock_slot s
         CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                    ('return_pending', s.return_pending), ('available', s.available),
                                    ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                                    ('inspection', s.inspection), ('quarantined', s.quarantined),
                                    ('damaged', s.damaged), ('refurbish', s.refurbish),
                                    ('vendor_return', s.vendor_return)) AS q(state, qty)
         WHERE s.bin_id <> 0
         GROUP BY 1, 2, 3, 4, 5
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
        UNION ALL
        -- the units a checkout hold reserved (27_holds.sql) are reserved too, while it is held
        SELECT hl.item_id, hl.node_id, hl.lot_id, 'reserved'::erp.stock_state, sum(hl.qty)::bigint
          FROM erp.checkout_hold_line hl WHERE hl.open
         GROUP BY 1, 2, 3
    ), by_reserving AS (
        SELECT r.item_id, r.node_id, r.lot_id, r.state, sum(r.qty)::bigint AS qty
          FROM by_reservation r GROUP BY 1, 2, 3, 4
    ), hold_lines AS MATERIALIZED (
        -- the open lines per hold, summed where they live (on Citus: on the item's shards;
        -- a correlated subquery from the hold, a reference table, is refused there)
        SELECT hl.hold_id, sum(hl.qty)::bigint AS qty
          FROM erp.checkout_hold_line hl WHERE hl.open GROUP BY 1
    ), hold_open AS (
        -- a held hold holds its units in open lines; a closed one holds none
        SELECT h.hold_id, CASE WHEN h.status = 'held' THEN h.units ELSE 0 END AS expected,
               COALESCE(l.qty, 0)::bigint AS actual
          FROM erp.checkout_hold h
          LEFT JOIN hold_lines l ON l.hold_id = h.hold_id
    ), line_need AS (
        -- what each line should hold: its item, its substitute (28_substitutes.sql), or
        -- each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, s.substitute_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
          LEFT JOIN erp.order_line_substitution s ON s.order_id = ol.order_id AND s.line_no = ol.line_no
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
    SELECT 'bin stock differs from ledger in bin ' || coalesce(bn.code, coalesce(l.bin_id, b.bin_id)::text),
           coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0), NULL
      FROM by_bin_ledger l
      FULL JOIN by_bin b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.bin_id = l.bin_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
      LEFT JOIN erp.bin bn ON bn.bin_id = coalesce(l.bin_id, b.bin_id)
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'stock in bin ' || b.bin_id || ', which is not a bin of its node', b.item_id, b.node_id, b.lot_id,
           b.state, 0, b.qty, NULL
      FROM by_bin b
     WHERE b.qty <> 0
       AND NOT EXISTS (SELECT 1 FROM erp.bin bn WHERE bn.bin_id = b.bin_id AND bn.node_id = b.node_id)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM by_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'negative slot', s.item_id, s.node_id, NULLIF(s.lot_id, 0), q.state, 0, q.qty, NULL
      FROM erp.stock_slot s
     CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                ('return_pending', s.return_pending), ('available', s.available),
                                ('inspection', s.inspection), ('quarantined', s.quarantined),
                                ('damaged', s.damaged), ('refurbish', s.refurbish),
                                ('vendor_return', s.vendor_return)) AS q(state, qty)
     WHERE q.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reserving WHERE qty <> 0) r
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
    UNION ALL
    SELECT 'open hold lines differ from checkout hold ' || o.hold_id, NULL, NULL, NULL, 'reserved',
           o.expected, o.actual, NULL
      FROM hold_open o
     WHERE o.expected <> o.actual
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
    UNION ALL
    -- the costs (sql/install/21_valuation.sql): cost balances against the units on
    -- hand and their cost entries, per item and node
    SELECT c.problem, c.item_id, c.node_id, c.lot_id, c.state, c.expected, c.actual
      FROM erp.verify_costs() c
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR c.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger (the balances of the latest closed period plus the moves after it), per node and per bin inside a node, stock in a bin that is not one of its node, negative quantity, reservation (order lines and open checkout hold lines) that differs from its balance or order line, checkout hold whose open lines differ from its units, or cost balance that differs from the units on hand or its cost entries (erp.verify_costs()); no rows on a healthy database; a partner sees only the rows of its nodes and orders';
