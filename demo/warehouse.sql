-- demo/warehouse.sql: the DC works in bins (issue 16, doc/warehouse.md).  Run after
-- demo/setup.sql (any time of the day): DC-BER gets one bin per stocked SKU, in a zone
-- per category (an aisle each, walked in pick sequence), its stock outside bins is
-- put away where erp.suggest_bin says, Zalando's and the wholesale portal's orders of
-- the next minutes are allocated there, and one wave of 40 is walked.  Prints the
-- walk: bins visited and sequence walked, the wave against picking order by order.
-- Wholesale stock comes in cases: ten home SKUs get a case of 12 (erp.item_uom),
-- Home & Co delivers 3 cases of each, received by the case (erp.receive_po lines with
-- "uom": "case"), and the wholesale portal (B2B) orders one case of one of them on
-- each of its orders (a line {"qty": 1, "uom": "case"}: capture_order turns it into 12 units).
\set ON_ERROR_STOP on

-- bins: one per SKU the DC holds outside bins, grouped by category (the zone)
INSERT INTO erp.bin (node_id, code, zone, pick_sequence)
SELECT n.node_id, upper(left(s.category, 2)) || '-' || lpad(s.k::text, 4, '0'), s.category, s.seq
  FROM erp.node n,
       (SELECT i.category, row_number() OVER (PARTITION BY i.category ORDER BY i.sku) AS k,
               row_number() OVER (ORDER BY i.category, i.sku) AS seq
          FROM erp.item i
         WHERE NOT i.lot_tracked
           AND EXISTS (SELECT 1 FROM erp.stock_balance b
                        WHERE b.item_id = i.item_id AND b.state = 'available'
                          AND b.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER'))) s
 WHERE n.code = 'DC-BER'
ON CONFLICT DO NOTHING;

-- wholesale stock in cases: 3 cases of 12 of ten home SKUs, received by the case
CREATE TEMP TABLE wh_cased AS
SELECT i.item_id, i.sku, row_number() OVER (ORDER BY i.sku) AS k
  FROM erp.item i
 WHERE i.category = 'home' AND NOT i.lot_tracked
   AND NOT EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id = i.item_id)
   AND EXISTS (SELECT 1 FROM erp.stock_balance b WHERE b.item_id = i.item_id AND b.state = 'available'
                  AND b.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER'))
 ORDER BY i.sku LIMIT 10;
INSERT INTO erp.item_uom (item_id, uom, units) SELECT item_id, 'case', 12 FROM wh_cased ON CONFLICT DO NOTHING;
SELECT erp.create_po('HOMECO', 'DC-BER', (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'qty', 36) ORDER BY sku) FROM wh_cased),
                     now() + interval '1 day') AS wh_po \gset
SELECT erp.receive_po(:wh_po, (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'qty', 3, 'uom', 'case') ORDER BY sku) FROM wh_cased));
SELECT count(*) AS lines_received_in_cases, sum(l.qty_received) AS units_received, min(p.status::text) AS po_status
  FROM erp.purchase_order_line l JOIN erp.purchase_order p USING (purchase_order_id)
 WHERE l.purchase_order_id = :wh_po;

-- putaway after receipt: every unit outside bins to the bin erp.suggest_bin names
-- (one statement per SKU, so that each suggestion sees the putaways before it)
DO $putaway$
DECLARE
    r record;
    target text;
BEGIN
    FOR r IN
        SELECT i.sku, t.qty
          FROM (SELECT s.item_id, sum(s.available)::bigint AS qty FROM erp.stock_slot s
                 WHERE s.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER') AND s.bin_id = 0
                 GROUP BY s.item_id HAVING sum(s.available) > 0) t
          JOIN erp.item i ON i.item_id = t.item_id AND NOT i.lot_tracked
         ORDER BY i.sku
    LOOP
        target := erp.suggest_bin(r.sku, 'DC-BER');
        CONTINUE WHEN target IS NULL;
        PERFORM erp.putaway(r.sku, 'DC-BER', target, r.qty);
    END LOOP;
END
$putaway$;
SELECT count(DISTINCT bin) AS bins_filled, sum(qty) AS units_in_bins FROM erp.bin_stock WHERE node = 'DC-BER';

-- orders for the DC (Zalando and the wholesale portal are served from it first):
-- 1 to 3 lines, each a SKU in a bin of a zone
CREATE TEMP TABLE wh_stocked AS
SELECT s.zone, s.sku, row_number() OVER (PARTITION BY s.zone ORDER BY s.pick_sequence) AS r,
       count(*) OVER (PARTITION BY s.zone) AS n, dense_rank() OVER (ORDER BY s.zone) AS z
  FROM erp.bin_stock s WHERE s.node = 'DC-BER' AND s.state = 'available' AND s.qty >= 5;
-- (a B2B order adds one case of a cased SKU: 12 units)
SELECT count(DISTINCT g) AS orders_allocated
  FROM (SELECT g, erp.allocate(erp.capture_order(CASE WHEN g % 5 = 0 THEN 'B2B' ELSE 'ZALANDO' END, 'WH-DEMO-' || g,
                   (SELECT jsonb_agg(l.line)
                      FROM (SELECT jsonb_build_object('sku', w.sku, 'qty', 1) AS line
                              FROM generate_series(1, 1 + g % 3) k
                              JOIN wh_stocked w ON w.z = 1 + (g + k) % (SELECT max(z) FROM wh_stocked)
                               AND w.r = 1 + abs(hashtext(g || ':' || k)) % w.n
                             WHERE NOT EXISTS (SELECT 1 FROM wh_cased c WHERE c.sku = w.sku)
                            UNION ALL
                            SELECT jsonb_build_object('sku', c.sku, 'qty', 1, 'uom', 'case')
                              FROM wh_cased c WHERE g % 5 = 0 AND c.k = 1 + (g / 5) % 10) l))) AS a
          FROM generate_series(1, 60) g) o;

-- one wave of 40 and its walk
SELECT erp.create_wave('DC-BER', 40) AS wave_id \gset
SELECT count(*) AS stops, sum(qty) AS units FROM erp.pick_list(:wave_id);
WITH stop AS (
    SELECT p.seq, b.pick_sequence AS ps, b.bin_id, unnest(p.order_ids) AS order_id
      FROM erp.pick_list(:wave_id) p
      JOIN erp.bin b ON b.code = p.bin AND b.node_id = (SELECT node_id FROM erp.node WHERE code = 'DC-BER')
), per_order AS (
    SELECT order_id, count(DISTINCT bin_id) AS bins, max(ps) AS walk FROM stop GROUP BY order_id
)
SELECT (SELECT count(DISTINCT bin_id) FROM stop) AS wave_bins,
       (SELECT max(ps) FROM stop) AS wave_walk,
       (SELECT sum(bins) FROM per_order) AS order_by_order_bins,
       (SELECT sum(walk) FROM per_order) AS order_by_order_walk,
       round((SELECT sum(walk) FROM per_order)::numeric / nullif((SELECT max(ps) FROM stop), 0), 1) AS walk_ratio;
