-- demo/setup.sql: a multi-channel retailer the morning of its peak day.
-- Channels: own storefront, two marketplaces, a wholesale portal.  Nodes: own DC
-- in Berlin, a 3PL in Leipzig, a drop-ship supplier.  ~2,000 SKUs: apparel in
-- sizes, lot-tracked health & beauty with expiry, home goods, electronics, kits.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS inventory_erp;
SELECT setseed(0.42);

INSERT INTO erp.channel (code, name, kind, priority) VALUES
    ('WEB', 'Own storefront', 'storefront', 10),
    ('AMAZON', 'Amazon marketplace', 'marketplace', 6),
    ('ZALANDO', 'Zalando marketplace', 'marketplace', 5),
    ('B2B', 'Wholesale portal', 'wholesale', 1);
INSERT INTO erp.node (code, name, kind, latitude, longitude) VALUES
    ('DC-BER', 'Own DC Berlin', 'warehouse', 52.52, 13.40),
    ('3PL-LEJ', '3PL Leipzig', '3pl', 51.34, 12.37),
    ('DROP-VND', 'Drop-ship vendor Hamburg', 'dropship', 53.55, 9.99);
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, r.rank
  FROM (VALUES ('WEB', 'DC-BER', 1), ('WEB', '3PL-LEJ', 1), ('WEB', 'DROP-VND', 3),
               ('AMAZON', '3PL-LEJ', 1), ('AMAZON', 'DC-BER', 2),
               ('ZALANDO', 'DC-BER', 1), ('ZALANDO', '3PL-LEJ', 2),
               ('B2B', 'DC-BER', 1)) r(channel, node, rank)
  JOIN erp.channel c ON c.code = r.channel JOIN erp.node n ON n.code = r.node;
INSERT INTO erp.supplier (code, name, lead_time_days) VALUES
    ('TEXTIL', 'Textil GmbH', 14), ('BEAUTYLAB', 'Beauty Lab', 7), ('HOMECO', 'Home & Co', 10),
    ('VOLTA', 'Volta Electronics', 21);
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 150.00), ('refund', 200.00);

-- the catalogue; demo_sku ranks items by popularity (1 = best seller)
CREATE TABLE demo_sku (rank serial PRIMARY KEY, sku text NOT NULL, category text NOT NULL);
-- apparel: 250 styles x 6 sizes
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, allow_backorder)
SELECT format('AP-%s-%s', lpad(s::text, 3, '0'), sz), format('Style %s, size %s', s, sz), 'apparel',
       round((8 + (s % 30))::numeric, 2), round((19.90 + (s % 30) * 2)::numeric, 2), s % 5 = 0
  FROM generate_series(1, 250) s, unnest(ARRAY['XS', 'S', 'M', 'L', 'XL', 'XXL']) sz;
-- health & beauty: 200 lot-tracked items, 30 days minimum shelf life
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked, min_shelf_life_days)
SELECT format('HB-%s', lpad(s::text, 3, '0')), format('Care product %s', s), 'health_beauty',
       round((3 + (s % 12))::numeric, 2), round((9.90 + (s % 12) * 1.5)::numeric, 2), true, 30
  FROM generate_series(1, 200) s;
-- home goods and electronics (a few high-value)
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, allow_preorder)
SELECT format('HG-%s', lpad(s::text, 3, '0')), format('Home item %s', s), 'home',
       round((6 + (s % 40))::numeric, 2), round((14.90 + (s % 40) * 2.5)::numeric, 2), s % 10 = 0
  FROM generate_series(1, 300) s;
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, high_value, allow_backorder)
SELECT format('EL-%s', lpad(s::text, 3, '0')), format('Device %s', s), 'electronics',
       round((20 + (s % 50) * 8)::numeric, 2), round((49 + (s % 50) * 14)::numeric, 2), s % 50 >= 35, true
  FROM generate_series(1, 150) s;
-- gift sets: a kit of one home item and two care products
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price)
SELECT format('KIT-%s', lpad(s::text, 2, '0')), format('Gift set %s', s), 'home', 0, round((34.90 + s)::numeric, 2)
  FROM generate_series(1, 40) s;
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, q
  FROM generate_series(1, 40) s
  JOIN erp.item k ON k.sku = format('KIT-%s', lpad(s::text, 2, '0'))
  CROSS JOIN LATERAL (VALUES (format('HG-%s', lpad((s * 7)::text, 3, '0')), 1),
                             (format('HB-%s', lpad((s * 5)::text, 3, '0')), 2)) v(sku, q)
  JOIN erp.item c ON c.sku = v.sku;
INSERT INTO demo_sku (sku, category)
SELECT sku, category FROM erp.item ORDER BY hashtext(sku);

-- opening stock: DC and 3PL hold most of it; the drop-ship vendor holds home goods
SELECT count(erp.receive(i.sku, n.code, 20 + (abs(hashtext(i.sku || n.code)) % 140)))
  FROM erp.item i CROSS JOIN (VALUES ('DC-BER'), ('3PL-LEJ')) n(code)
 WHERE NOT i.lot_tracked AND i.sku NOT LIKE 'KIT-%' AND abs(hashtext(i.sku || n.code)) % 10 < 8;
SELECT count(erp.receive(i.sku, 'DROP-VND', 500)) FROM erp.item i WHERE i.category = 'home' AND i.sku LIKE 'HG-%';
-- care products in lots: one fresh lot, and at the DC an old lot too close to expiry to promise
SELECT count(erp.receive(i.sku, n.code, 40 + abs(hashtext(i.sku)) % 60, 'L' || to_char(CURRENT_DATE, 'YYMM') || '-A',
                         CURRENT_DATE + 200))
  FROM erp.item i CROSS JOIN (VALUES ('DC-BER'), ('3PL-LEJ')) n(code) WHERE i.lot_tracked;
SELECT count(erp.receive(i.sku, 'DC-BER', 10, 'L-OLD-' || i.item_id, CURRENT_DATE + 12))
  FROM erp.item i WHERE i.lot_tracked AND i.item_id % 4 = 0;

-- stock policies for the 400 best sellers at the DC, with suppliers
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point, order_up_to, supplier_id)
SELECT i.item_id, n.node_id, 3, 40, 160,
       (SELECT supplier_id FROM erp.supplier WHERE code = CASE i.category WHEN 'apparel' THEN 'TEXTIL'
            WHEN 'health_beauty' THEN 'BEAUTYLAB' WHEN 'home' THEN 'HOMECO' ELSE 'VOLTA' END)
  FROM demo_sku d JOIN erp.item i ON i.sku = d.sku, erp.node n
 WHERE d.rank <= 400 AND n.code = 'DC-BER' AND i.sku NOT LIKE 'KIT-%';
-- the wholesale contract ring-fences 10 units of the 30 best-selling apparel items
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 10 FROM demo_sku d JOIN erp.item i ON i.sku = d.sku, erp.channel c
 WHERE d.category = 'apparel' AND d.rank <= 120 AND c.code = 'B2B';
-- purchase orders already on their way
SELECT count(erp.create_po(s.code, 'DC-BER', jsonb_build_array(jsonb_build_object('sku', i.sku, 'qty', 100)),
                           now() + interval '2 days'))
  FROM demo_sku d JOIN erp.item i ON i.sku = d.sku
  JOIN erp.supplier s ON s.code = CASE i.category WHEN 'apparel' THEN 'TEXTIL' WHEN 'home' THEN 'HOMECO' ELSE 'VOLTA' END
 WHERE d.rank <= 60 AND NOT i.lot_tracked AND i.sku NOT LIKE 'KIT-%';

-- an approver for refunds and adjustments, and what the demo remembers of each hour
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_approver') THEN
        CREATE ROLE demo_approver;
    END IF;
END $$;
GRANT erp_approver TO demo_approver;
-- the demo's clock: hour 8 starts 14 hours before the demo did, so the day ends now
CREATE TABLE demo_clock AS SELECT now() - interval '14 hours' AS t0;
CREATE TABLE demo_hour (
    hour int PRIMARY KEY, orders int, allocated_units bigint, shipped_orders int, returns int,
    open_orders bigint, backordered_units bigint, fill_rate numeric, split_rate numeric,
    available_units bigint, events int
);
ANALYZE;
