-- Oversell check of a hot SKU after the timed runs, from the extension's public tables
-- only.  psql variables: sku, received (the units setup.sql received; nothing leaves).
-- Prints the facts, then "<sku> oversell check: PASS" or "<sku> oversell check: FAIL: <what>".
WITH it AS (
    SELECT item_id FROM erp.item WHERE sku = :'sku'
), f AS (
    SELECT (SELECT count(*) FROM it) AS items,
           (SELECT coalesce(sum(b.qty), 0) FROM erp.stock_balance b
             WHERE b.item_id = (SELECT item_id FROM it)) AS on_hand,
           (SELECT coalesce(sum(b.qty), 0) FROM erp.stock_balance b
             WHERE b.item_id = (SELECT item_id FROM it) AND b.state = 'reserved') AS reserved,
           (SELECT coalesce(sum(b.qty), 0) FROM erp.stock_balance b
             WHERE b.item_id = (SELECT item_id FROM it) AND b.state = 'available') AS available,
           -- a balance is the sum over its rows (slots)
           (SELECT count(*) FROM (
                SELECT 1 FROM erp.stock_balance b WHERE b.item_id = (SELECT item_id FROM it)
                 GROUP BY b.node_id, b.lot_id, b.state HAVING sum(b.qty) < 0) s) AS negative,
           (SELECT count(*) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it)) AS lines,
           (SELECT count(*) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it) AND l.status = 'allocated') AS allocated,
           (SELECT coalesce(sum(l.qty_allocated), 0) FROM erp.order_line l
             WHERE l.item_id = (SELECT item_id FROM it)) AS units,
           (SELECT count(*) FROM erp.verify() v
             WHERE v.item_id = (SELECT item_id FROM it)) AS problems
), p AS (
    SELECT array_remove(ARRAY[
        CASE WHEN items <> 1 THEN 'no such item' END,
        CASE WHEN on_hand <> :received THEN format('on hand %s <> received %s', on_hand, :received) END,
        CASE WHEN reserved > :received THEN format('reserved %s > received %s (oversold)', reserved, :received) END,
        CASE WHEN reserved <> units THEN format('reserved %s <> units allocated to lines %s', reserved, units) END,
        CASE WHEN negative > 0 THEN format('%s balances below zero', negative) END,
        CASE WHEN problems > 0 THEN format('erp.verify() reports %s problems', problems) END], NULL) AS failed
      FROM f
)
SELECT format('%s: received %s, reserved %s, available %s, lines %s (allocated %s, units %s), verify problems %s',
              :'sku', :received, reserved, available, lines, allocated, units, problems)
  FROM f
UNION ALL
SELECT :'sku' || ' oversell check: ' ||
       CASE WHEN cardinality(failed) = 0 THEN 'PASS' ELSE 'FAIL: ' || array_to_string(failed, '; ') END
  FROM p;
