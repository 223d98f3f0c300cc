-- orders: a retailer's morning, told through its orders (SPEC.md 1, 4, 5 and 9).
--
-- A web shop, a marketplace and a wholesale account sell from two warehouses
-- (Hamburg, Munich) and a Berlin store.  The planner checks what can be
-- promised per node and per channel; orders arrive and are allocated: to the
-- nearest node, by rank, to one node that fills the whole order, split over
-- the fewest nodes, first-expiry-first-out past a short-dated lot, a kit at
-- one node, backordered or short; a redelivered webhook changes nothing; a
-- receipt fills waiting backorders by priority.  The warehouse picks by sku
-- and by barcode, scans a wrong item (refused, yet recorded), finds a unit
-- missing (re-allocated at another node), packs and ships; a customer cancels.
-- Every refused call shows its message, its SQLSTATE and, right after, proof
-- that nothing changed.  The morning ends with erp.verify() finding nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never

-- The stock picture per sku and node, in the states orders touch.
\set picture 'SELECT sku, node, available, reserved, picked, packed, on_hand, safety_stock FROM erp.availability ORDER BY sku, node;'
-- Available-to-promise of every sku at each node and over all nodes (node -),
-- for no channel in particular and as each channel sees it.
\set atp 'SELECT i.sku, coalesce(n.code, ''-'') AS node, erp.atp(i.sku, n.code) AS any_channel, erp.atp(i.sku, n.code, ''WEB'') AS web, erp.atp(i.sku, n.code, ''MARKET'') AS market, erp.atp(i.sku, n.code, ''WHOLESALE'') AS wholesale FROM erp.item i CROSS JOIN (SELECT code FROM erp.node UNION ALL SELECT NULL) n ORDER BY i.sku, n.code NULLS LAST;'
-- Every order line: what was asked, allocated, backordered and shipped.
CREATE TEMP VIEW order_lines AS
SELECT o.order_id, c.code AS channel, o.external_ref AS ref, o.priority, o.status, l.line_no, i.sku,
       l.qty, l.unit_price, l.qty_allocated AS alloc, l.qty_backordered AS backord,
       l.qty_shipped AS shipped, l.status AS line_status
  FROM erp.sales_order o
  JOIN erp.channel c ON c.channel_id = o.channel_id
  JOIN erp.order_line l ON l.order_id = o.order_id
  JOIN erp.item i ON i.item_id = l.item_id;
\set orders 'SELECT * FROM order_lines ORDER BY order_id, line_no;'
-- What is held for each order, where (and from which lot), and how far it got.
CREATE TEMP VIEW held AS
SELECT o.order_id, o.external_ref AS ref, r.line_no, i.sku, n.code AS node, lt.lot_code AS lot,
       r.qty - r.qty_picked AS reserved, r.qty_picked - r.qty_packed AS picked, r.qty_packed AS packed
  FROM erp.reservation r
  JOIN erp.sales_order o ON o.order_id = r.order_id
  JOIN erp.item i ON i.item_id = r.item_id
  JOIN erp.node n ON n.node_id = r.node_id
  LEFT JOIN erp.lot lt ON lt.lot_id = r.lot_id;
\set held 'SELECT ref, line_no, sku, node, lot, reserved, picked, packed FROM held ORDER BY order_id, line_no, sku, node, lot;'
-- The outbox.
CREATE TEMP VIEW outbox AS
SELECT e.event_id, e.kind, i.sku, n.code AS node, o.external_ref AS ref, e.payload
  FROM erp.event e
  LEFT JOIN erp.item i ON i.item_id = e.item_id
  LEFT JOIN erp.node n ON n.node_id = e.node_id
  LEFT JOIN erp.sales_order o ON o.order_id = e.order_id;
\set events 'SELECT * FROM outbox ORDER BY event_id;'
-- One line that changes when anything an order function writes changes.
\set books 'SELECT (SELECT count(*) FROM erp.sales_order) AS orders, (SELECT count(*) FROM erp.order_line) AS lines, (SELECT string_agg(status::text, '','' ORDER BY order_id) FROM erp.sales_order) AS statuses, (SELECT coalesce(sum(qty_allocated), 0) FROM erp.order_line) AS allocated, (SELECT coalesce(sum(qty), 0) FROM erp.reservation) AS held, (SELECT count(*) FROM erp.stock_move) AS moves, (SELECT count(*) FROM erp.event) AS events, (SELECT count(*) FROM erp.shipment) AS shipments;'

-- An order's id from its channel reference (the first order that used it).
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref ORDER BY order_id LIMIT 1 $$;

------------------------------------------------------------------------------
-- Master data: three nodes with coordinates, three channels with their nodes
-- and ranks, seven items (a kit, a lot-tracked cream, a backorderable hoodie),
-- safety stock and a wholesale ring-fence
------------------------------------------------------------------------------
INSERT INTO erp.node (code, name, kind, latitude, longitude) VALUES
    ('DC-HAM', 'Hamburg warehouse', 'warehouse', 53.55, 9.99),
    ('DC-MUC', 'Munich warehouse', 'warehouse', 48.14, 11.58),
    ('STORE-BER', 'Berlin flagship store', 'store', 52.52, 13.40);
INSERT INTO erp.channel (code, name, kind, priority) VALUES
    ('WEB', 'Own web shop', 'storefront', 10),
    ('MARKET', 'Marketplace', 'marketplace', 5),
    ('WHOLESALE', 'Wholesale portal', 'wholesale', 1);
-- the web shop ships from both warehouses alike and from the store when it must;
-- the marketplace prefers Hamburg; wholesale ships from Hamburg only
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank
  FROM (VALUES ('WEB', 'DC-HAM', 1), ('WEB', 'DC-MUC', 1), ('WEB', 'STORE-BER', 2),
               ('MARKET', 'DC-HAM', 1), ('MARKET', 'DC-MUC', 2),
               ('WHOLESALE', 'DC-HAM', 1)) AS v(channel, node, rank)
  JOIN erp.channel c ON c.code = v.channel
  JOIN erp.node n ON n.code = v.node;
INSERT INTO erp.item (sku, gtin, title, unit_price) VALUES
    ('TEE-M', '4006381333931', 'Organic tee, size M', 19.90),
    ('MUG', '036000291452', 'Stoneware mug', 12.00);
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES
    ('HOODIE', 'Hoodie, made to order', 49.00, true);
INSERT INTO erp.item (sku, title, unit_price, lot_tracked, min_shelf_life_days) VALUES
    ('CREAM', 'Hand cream, 75 ml', 14.50, true, 30);
INSERT INTO erp.item (sku, title, unit_price) VALUES
    ('CANDLE', 'Scented candle', 9.00),
    ('SCARF', 'Wool scarf', 29.00),
    ('GIFT-BOX', 'Gift box: one mug, two candles', 39.00);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, v.qty
  FROM (VALUES ('GIFT-BOX', 'MUG', 1), ('GIFT-BOX', 'CANDLE', 2)) AS v(kit, component, qty)
  JOIN erp.item k ON k.sku = v.kit
  JOIN erp.item c ON c.sku = v.component;
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, v.safety
  FROM (VALUES ('TEE-M', 'DC-HAM', 4), ('MUG', 'DC-MUC', 2), ('SCARF', 'DC-HAM', 3)) AS v(sku, node, safety)
  JOIN erp.item i ON i.sku = v.sku
  JOIN erp.node n ON n.code = v.node;
-- twelve scarves are kept for the wholesale contract
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 12 FROM erp.item i, erp.channel c
 WHERE i.sku = 'SCARF' AND c.code = 'WHOLESALE';
SELECT c.code AS channel, n.code AS node, cn.rank
  FROM erp.channel_node cn JOIN erp.channel c USING (channel_id) JOIN erp.node n USING (node_id)
 ORDER BY c.channel_id, cn.rank, n.code;

------------------------------------------------------------------------------
-- 06:00 opening stock
------------------------------------------------------------------------------
SELECT erp.receive('TEE-M', 'DC-HAM', 20, ref => 'opening'),
       erp.receive('TEE-M', 'DC-MUC', 12, ref => 'opening'),
       erp.receive('TEE-M', 'STORE-BER', 6, ref => 'opening');
SELECT erp.receive('MUG', 'DC-HAM', 3, ref => 'opening'),
       erp.receive('MUG', 'DC-MUC', 8, ref => 'opening'),
       erp.receive('MUG', 'STORE-BER', 5, ref => 'opening');
SELECT erp.receive('CANDLE', 'DC-HAM', 10, ref => 'opening'),
       erp.receive('CANDLE', 'DC-MUC', 3, ref => 'opening');
SELECT erp.receive('HOODIE', 'DC-HAM', 4, ref => 'opening');
SELECT erp.receive('SCARF', 'DC-HAM', 30, ref => 'opening');
-- three lots of cream: one expires in 10 days, too soon for a customer (30 days
-- of shelf life are promised), and two good ones
SELECT erp.receive('CREAM', 'DC-HAM', 6, 'C-SHORT', current_date + 10, ref => 'opening'),
       erp.receive('CREAM', 'DC-HAM', 10, 'C-JUN', current_date + 90, ref => 'opening'),
       erp.receive('CREAM', 'DC-HAM', 10, 'C-SEP', current_date + 180, ref => 'opening');
SELECT l.lot_code, l.expires_on - current_date AS days_left
  FROM erp.lot l JOIN erp.item i USING (item_id) WHERE i.sku = 'CREAM' ORDER BY l.expires_on;
:picture

------------------------------------------------------------------------------
-- 06:30 the planner checks what can be promised.  Safety stock (4 tees in
-- Hamburg, 2 mugs in Munich, 3 scarves) is never promised; the short-dated
-- cream is not promised; the 12 wholesale scarves are promised to wholesale
-- only; a gift box needs a mug and two candles at the same node; a channel
-- sees only its own nodes.
------------------------------------------------------------------------------
:atp

------------------------------------------------------------------------------
-- 07:00 web orders: the nearest of the equally ranked warehouses
------------------------------------------------------------------------------
-- a customer in Munich: Munich ships
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1001', '[{"sku": "TEE-M", "qty": 2}]',
                                             '{"lat": 48.21, "lon": 11.62}'));
-- a customer near Hamburg: Hamburg ships
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1002', '[{"sku": "TEE-M", "qty": 2}]',
                                             '{"lat": 53.60, "lon": 10.05}'));
-- a customer in Berlin: the Berlin store is next door, but rank 2; Hamburg
-- (rank 1, about 255 km) is nearer than Munich (about 500 km)
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1003', '[{"sku": "TEE-M", "qty": 1}]',
                                             '{"lat": 52.50, "lon": 13.38}'));

------------------------------------------------------------------------------
-- 07:10 the marketplace: rank decides (no address given); a kit at one node
------------------------------------------------------------------------------
-- Hamburg is the marketplace's rank 1 and can make three gift boxes (3 mugs,
-- 10 candles); Munich only one (3 candles)
SELECT * FROM erp.allocate(erp.capture_order('MARKET', 'MKT-501', '[{"sku": "GIFT-BOX", "qty": 2}]'));

------------------------------------------------------------------------------
-- 07:20 one node for the whole order beats the nearest node
------------------------------------------------------------------------------
-- 2 tees and 4 mugs for Hamburg: Hamburg has one mug left, Munich can fill both
-- lines (6 mugs above its safety stock), so Munich ships it all in one parcel
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1004',
    '[{"sku": "TEE-M", "qty": 2}, {"sku": "MUG", "qty": 4, "unit_price": 10.80}]',
    '{"lat": 53.60, "lon": 10.05}'));

------------------------------------------------------------------------------
-- 07:30 no node can fill it: split over the fewest nodes
------------------------------------------------------------------------------
-- 7 mugs; promisable now: Berlin 5, Munich 2, Hamburg 1.  Berlin (5) and then
-- Munich (2) fill it from two nodes, not three.  Berlin is then out of mugs and
-- Munich down to its safety stock: two stockout events
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1005', '[{"sku": "MUG", "qty": 7}]'));

------------------------------------------------------------------------------
-- 07:40 cream, first expiry first out: lot C-SHORT (10 days left) is skipped,
-- C-JUN is used up before C-SEP
------------------------------------------------------------------------------
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1006', '[{"sku": "CREAM", "qty": 12}]'));

------------------------------------------------------------------------------
-- 07:50 more than there is: the hoodie is backordered, the candles are short
------------------------------------------------------------------------------
-- 6 hoodies (4 in Hamburg) and 20 candles (6 left in Hamburg, 3 in Munich):
-- Hamburg fills 10 units, Munich 3
SELECT * FROM erp.allocate(erp.capture_order('MARKET', 'MKT-502',
    '[{"sku": "HOODIE", "qty": 6}, {"sku": "CANDLE", "qty": 20}]'));
-- two web customers wait for hoodies; one of them is a VIP (priority 5)
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1007', '[{"sku": "HOODIE", "qty": 3}]'));
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1008', '[{"sku": "HOODIE", "qty": 2}]',
                                             priority => 5));
:orders

------------------------------------------------------------------------------
-- 08:00 the marketplace redelivers its webhook for MKT-502: the same content
-- returns the same order id and changes nothing; other lines, another
-- ship_to or another priority under the same reference are refused (IE010),
-- as a payment API refuses a reused idempotency key with other content
------------------------------------------------------------------------------
:books
SELECT erp.capture_order('MARKET', 'MKT-502', '[{"sku": "TEE-M", "qty": 1}]') = pg_temp.ord('MKT-502') AS same_order;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('MARKET', 'MKT-502', '[{"sku": "HOODIE", "qty": 6}, {"sku": "CANDLE", "qty": 21}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('MARKET', 'MKT-502', '[{"sku": "HOODIE", "qty": 6}, {"sku": "CANDLE", "qty": 20}]',
                         priority => 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('MARKET', 'MKT-502', '[{"sku": "HOODIE", "qty": 6}, {"sku": "CANDLE", "qty": 20}]',
                         ship_to => '{"lat": 48.1, "lon": 11.6}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('MARKET', 'MKT-502', '[{"sku": "HOODIE", "qty": 6}, {"sku": "CANDLE", "qty": 20}]')
       = pg_temp.ord('MKT-502') AS same_order;
:books
-- the same reference from another channel is another order (a test order the
-- web team cancels at once)
SELECT erp.capture_order('WEB', 'MKT-502', '[{"sku": "TEE-M", "qty": 1}]') <> pg_temp.ord('MKT-502') AS other_order;
SELECT erp.cancel_order(order_id) FROM erp.sales_order
 WHERE external_ref = 'MKT-502' AND channel_id = (SELECT channel_id FROM erp.channel WHERE code = 'WEB');

------------------------------------------------------------------------------
-- 08:10 the wholesale ring-fence: the web shop cannot take the 12 fenced
-- scarves nor the 3 of safety stock; the wholesale order can take its own
------------------------------------------------------------------------------
-- 20 scarves for the web: 30 - 3 safety - 12 fenced = 15, 5 short
SELECT * FROM erp.allocate(erp.capture_order('WEB', 'WEB-1009', '[{"sku": "SCARF", "qty": 20}]'));
SELECT erp.atp('SCARF', 'DC-HAM', 'WEB') AS web, erp.atp('SCARF', 'DC-HAM', 'WHOLESALE') AS wholesale;
-- the wholesale customer takes its 12
SELECT * FROM erp.allocate(erp.capture_order('WHOLESALE', 'WS-88', '[{"sku": "SCARF", "qty": 12}]'));
SELECT erp.atp('SCARF', 'DC-HAM', 'WEB') AS web, erp.atp('SCARF', 'DC-HAM', 'WHOLESALE') AS wholesale;

------------------------------------------------------------------------------
-- 08:20 what the morning's allocations announced
------------------------------------------------------------------------------
:events
:held
:picture
:atp

------------------------------------------------------------------------------
-- 09:00 four hoodies arrive in Munich: waiting orders are served by the
-- order's priority, then the channel's, then age.  The VIP web order (priority
-- 5) gets its 2; the web shop (channel priority 10) ranks above the
-- marketplace (5), so WEB-1007 gets the other 2 although MKT-502 is older.
------------------------------------------------------------------------------
SELECT erp.receive('HOODIE', 'DC-MUC', 4, ref => 'po:4711');
SELECT erp.allocate_pending();
:orders
-- WEB-1007 took Munich's last hoodies: a stockout event
SELECT kind, sku, node, ref, payload FROM outbox WHERE event_id > 10 ORDER BY event_id;
:held
-- nothing more can be served: the next run serves no order
SELECT erp.allocate_pending();

------------------------------------------------------------------------------
-- 09:30 picking WEB-1004 in Munich: by sku and by barcode in any length
------------------------------------------------------------------------------
SELECT erp.pick(pg_temp.ord('WEB-1004'), 'TEE-M');                    -- the sku
SELECT erp.pick(pg_temp.ord('WEB-1004'), '4006381333931');            -- EAN-13 of the tee
SELECT erp.pick(pg_temp.ord('WEB-1004'), '036000291452', 3);          -- UPC-A of the mug, 3 at once
:held
SELECT status FROM erp.sales_order WHERE order_id = pg_temp.ord('WEB-1004');

-- the picker scans a cream that is not on the order: refused (IE007) ...
:books
SELECT erp.pick(pg_temp.ord('WEB-1004'), 'CREAM');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... and a barcode nobody knows
SELECT erp.pick(pg_temp.ord('WEB-1004'), '96385074');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... nothing moved, yet both exceptions are in the outbox (two more events)
:books
SELECT kind, sku, node, ref, payload FROM outbox WHERE kind = 'pick_exception' ORDER BY event_id;
-- a fourth mug is the last one; a fifth would be one too many (IE004)
SELECT erp.pick(pg_temp.ord('WEB-1004'), '036000291452', 2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

-- packing before the last mug is picked is refused (IE010), so is shipping
SELECT erp.pack(pg_temp.ord('WEB-1004'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.ship(pg_temp.ord('WEB-1004'), 'DHL', '00340434161094000001');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

-- the last mug, scanned by its 14-digit GTIN; pack; ship
SELECT erp.pick(pg_temp.ord('WEB-1004'), '00036000291452');
SELECT erp.pack(pg_temp.ord('WEB-1004'));
SELECT status FROM erp.sales_order WHERE order_id = pg_temp.ord('WEB-1004');
SELECT erp.ship(pg_temp.ord('WEB-1004'), 'DHL', '00340434161094000001') AS shipment_id;
SELECT s.carrier, s.tracking, i.sku, n.code AS node, sl.line_no, sl.qty
  FROM erp.shipment s JOIN erp.shipment_line sl USING (shipment_id)
  JOIN erp.item i ON i.item_id = sl.item_id JOIN erp.node n ON n.node_id = sl.node_id
 ORDER BY sl.line_no;
SELECT o.status, l.line_no, l.qty, l.qty_shipped, l.status AS line_status
  FROM erp.sales_order o JOIN erp.order_line l USING (order_id)
 WHERE o.order_id = pg_temp.ord('WEB-1004') ORDER BY l.line_no;

------------------------------------------------------------------------------
-- 10:00 a tee is missing in Hamburg: short pick of WEB-1002
------------------------------------------------------------------------------
-- one tee is picked; the second is not on the shelf.  It leaves the books as a
-- variance (adjust), and the line is re-allocated at another node: Munich
-- (rank 1), never Hamburg again
SELECT erp.pick(pg_temp.ord('WEB-1002'), 'TEE-M');
SELECT erp.short_pick(pg_temp.ord('WEB-1002'), 'TEE-M', 1);
SELECT ref, line_no, sku, node, lot, reserved, picked, packed FROM held WHERE ref = 'WEB-1002' ORDER BY line_no, node;
SELECT m.event, fn.code AS from_node, m.from_state, m.to_state, m.qty
  FROM erp.stock_move m LEFT JOIN erp.node fn ON fn.node_id = m.from_node_id
 WHERE m.ref = 'order:' || pg_temp.ord('WEB-1002') ORDER BY m.move_id;
SELECT kind, sku, node, ref, payload FROM outbox WHERE ref = 'WEB-1002' ORDER BY event_id;
SELECT status FROM erp.sales_order WHERE order_id = pg_temp.ord('WEB-1002');

------------------------------------------------------------------------------
-- 10:30 the cream customer cancels after two tubes were picked: the ten still
-- reserved are released, the two picked are put back on the shelf
------------------------------------------------------------------------------
SELECT erp.pick(pg_temp.ord('WEB-1006'), 'CREAM', 2);
SELECT ref, line_no, sku, node, lot, reserved, picked, packed FROM held WHERE ref = 'WEB-1006' ORDER BY line_no, node, lot;
SELECT erp.cancel_order(pg_temp.ord('WEB-1006'));
SELECT ref, line_no, sku, node, lot, reserved, picked, packed FROM held WHERE ref = 'WEB-1006' ORDER BY line_no, node, lot;
SELECT m.event, lt.lot_code AS lot, m.from_state, m.to_state, m.qty
  FROM erp.stock_move m LEFT JOIN erp.lot lt ON lt.lot_id = m.lot_id
 WHERE m.ref = 'order:' || pg_temp.ord('WEB-1006') ORDER BY m.move_id;
SELECT o.status, l.qty, l.qty_allocated, l.status AS line_status
  FROM erp.sales_order o JOIN erp.order_line l USING (order_id) WHERE o.order_id = pg_temp.ord('WEB-1006');
SELECT erp.atp('CREAM') AS cream_atp;

------------------------------------------------------------------------------
-- What the order functions refuse.  Each refusal: the error, its SQLSTATE,
-- then proof that the books are exactly as before.
------------------------------------------------------------------------------
:books

-- IE003: a channel, a sku and an order nobody created; an order without its
-- channel reference; a line without a sku
SELECT erp.capture_order('TIKTOK', 'TT-1', '[{"sku": "TEE-M", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": 1}, {"sku": "TEE-XL", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', NULL, '[{"sku": "TEE-M", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', '', '[{"sku": "TEE-M", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM erp.allocate(999);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.pick(999, 'TEE-M');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.cancel_order(999);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.atp('TEE-XL');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.atp('TEE-M', 'DC-XYZ');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.atp('TEE-M', NULL, 'TIKTOK');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

-- IE004: quantities that are zero, negative, fractional or not numbers at all;
-- a later bad line refuses the whole order
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": 0}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": -2}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": 1.5}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": "two"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": 1}, {"sku": "MUG", "qty": 0}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: no lines, or lines that are not a JSON array
SELECT erp.capture_order('WEB', 'WEB-2001', '[]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', '{"sku": "TEE-M", "qty": 1}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.capture_order('WEB', 'WEB-2001', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: a negative price
SELECT erp.capture_order('WEB', 'WEB-2001', '[{"sku": "TEE-M", "qty": 1, "unit_price": -19.90}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: picking zero units, or more than are left to pick
SELECT erp.pick(pg_temp.ord('WEB-1001'), 'TEE-M', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.pick(pg_temp.ord('WEB-1001'), 'TEE-M', 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

-- A webhook redelivered after the order moved on allocates again: that is no
-- error, allocate returns what the order holds (a shipped order nothing, each
-- line saying it is shipped; a cancelled one likewise) and changes nothing
SELECT * FROM erp.allocate(pg_temp.ord('WEB-1004'));
SELECT * FROM erp.allocate(pg_temp.ord('WEB-1006'));
:books
-- IE010: steps the order's status does not allow: picking or cancelling a
-- shipped order, picking a cancelled one, packing an order nobody started
-- picking, shipping an order that is not packed
SELECT erp.pick(pg_temp.ord('WEB-1004'), 'TEE-M');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.cancel_order(pg_temp.ord('WEB-1004'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.pick(pg_temp.ord('WEB-1006'), 'CREAM');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.cancel_order(pg_temp.ord('WEB-1006'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.pack(pg_temp.ord('WEB-1001'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.ship(pg_temp.ord('WEB-1001'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.pick(pg_temp.ord('WEB-1007'), 'HOODIE');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

-- IE002: the order engine's events cannot be recorded with erp.move, or the
-- stock would no longer match the orders
SELECT erp.move('TEE-M', 'DC-HAM', 1, 'available', 'reserved', 'allocate');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('TEE-M', 'DC-HAM', 1, 'reserved', 'available', 'release');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('TEE-M', 'DC-MUC', 1, 'reserved', 'picked', 'pick');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

------------------------------------------------------------------------------
-- 09:00 the web shop's new connector hands over an order and allocates it in
-- one call (erp.place_order), and says whether the order is new: the first
-- delivery creates it, a redelivery returns the same rows with created false
-- and changes nothing, other content under the same reference is refused
------------------------------------------------------------------------------
SELECT * FROM erp.place_order('WEB', 'WEB-1010', '[{"sku": "CREAM", "qty": 2}, {"sku": "HOODIE", "qty": 1}]');
:books
SELECT * FROM erp.place_order('WEB', 'WEB-1010', '[{"sku": "CREAM", "qty": 2}, {"sku": "HOODIE", "qty": 1}]');
:books
SELECT * FROM erp.place_order('WEB', 'WEB-1010', '[{"sku": "CREAM", "qty": 3}, {"sku": "HOODIE", "qty": 1}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

------------------------------------------------------------------------------
-- Closing: the stock picture, what every order stands at, and the books balance
------------------------------------------------------------------------------
:picture
:orders
SELECT * FROM erp.verify();
