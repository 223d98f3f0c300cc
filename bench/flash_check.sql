-- Flash sale correctness after bench/flash_sale.sql, from the extension's public SQL only.
-- psql variables: sku, stock (units received, spread over the nodes), orders (one-unit
-- orders sent, well above stock).  Zero oversell and zero false sold-out means: exactly
-- the stock is reserved and nothing else moved, no node has a unit left, one allocated line
-- per unit, every other line short or backordered with nothing allocated, erp.verify() empty.
-- Prints the facts, then "flash sale check: PASS" or "flash sale check: FAIL: <what>".
WITH it AS (
    SELECT item_id FROM erp.item WHERE sku = :'sku'
), per_node AS (
    -- every node's balances of the item, summed over their rows (slots)
    SELECT n.code,
           coalesce(sum(b.qty) FILTER (WHERE b.state = 'available'), 0) AS available,
           coalesce(sum(b.qty) FILTER (WHERE b.state = 'reserved'), 0) AS reserved
      FROM erp.node n
      LEFT JOIN erp.stock_balance b ON b.node_id = n.node_id AND b.item_id = (SELECT item_id FROM it)
     GROUP BY n.code
), f AS (
    SELECT (SELECT count(*) FROM it) AS items,
           (SELECT coalesce(sum(b.qty), 0) FROM erp.stock_balance b
             WHERE b.item_id = (SELECT item_id FROM it)) AS on_hand,
           (SELECT sum(reserved) FROM per_node) AS reserved,
           (SELECT sum(available) FROM per_node) AS available,
           (SELECT string_agg(format('%s %s/%s', code, available, reserved), ', ' ORDER BY code)
              FROM per_node) AS nodes,
           (SELECT count(*) FROM per_node WHERE available <> 0) AS nodes_with_units,
           (SELECT count(*) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it)) AS lines,
           (SELECT count(*) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it) AND l.status = 'allocated'
               AND l.qty_allocated = l.qty) AS allocated,
           (SELECT count(*) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it) AND l.status IN ('short', 'backordered')
               AND l.qty_allocated = 0) AS unfilled,
           (SELECT coalesce(sum(l.qty_allocated), 0) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it)) AS units,
           (SELECT count(*) FROM erp.verify()) AS problems
), p AS (
    SELECT array_remove(ARRAY[
        CASE WHEN items <> 1 THEN 'no such item' END,
        CASE WHEN on_hand <> :stock THEN format('on hand %s <> received %s', on_hand, :stock) END,
        CASE WHEN reserved > :stock THEN format('oversold: reserved %s > received %s', reserved, :stock) END,
        CASE WHEN reserved < :stock THEN format('left behind: reserved %s < received %s', reserved, :stock) END,
        CASE WHEN nodes_with_units > 0 THEN format('%s nodes still have available units (%s)', nodes_with_units, nodes) END,
        CASE WHEN lines <> :orders THEN format('%s lines for %s orders sent', lines, :orders) END,
        CASE WHEN allocated <> :stock THEN format('%s allocated lines for %s units', allocated, :stock) END,
        CASE WHEN units <> reserved THEN format('units allocated to lines %s <> reserved %s', units, reserved) END,
        CASE WHEN allocated + unfilled <> lines
             THEN format('%s lines neither allocated in full nor short/backordered with nothing', lines - allocated - unfilled) END,
        CASE WHEN problems > 0 THEN format('erp.verify() reports %s problems', problems) END], NULL) AS failed
      FROM f
)
SELECT format('%s: received %s, reserved %s, available %s (node available/reserved: %s); lines %s: allocated %s, short or backordered %s; verify problems %s',
              :'sku', :stock, reserved, available, nodes, lines, allocated, unfilled, problems)
  FROM f
UNION ALL
SELECT 'flash sale check: ' ||
       CASE WHEN cardinality(failed) = 0 THEN 'PASS' ELSE 'FAIL: ' || array_to_string(failed, '; ') END
  FROM p;
