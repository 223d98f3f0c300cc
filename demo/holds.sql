-- demo/holds.sql: the storefront's checkout holds on the demo's shop (issue 16 item 4,
-- doc/warehouse.md "Checkout holds"), after the trading day (demo/setup.sql's channel
-- WEB).  scripts/demo.sh runs it after demo/orchestration.sql; alone:
--   psql -v ON_ERROR_STOP=1 -f demo/holds.sql
-- 1. 40 checkouts of the evening: each holds its cart's units for 10 minutes while the
--    shopper pays (erp.hold): ATP drops at once;
-- 2. 31 shoppers pay: their orders are captured with the hold (capture_order(...,
--    hold_ref)) and keep the held units; 2 carts are abandoned (erp.release_hold);
-- 3. 7 shoppers never come back: their TTL passes (simulated: expires_at moved into the
--    past), erp.atp counts their units again at once, erp.expire_holds gives them back;
-- 4. the report: conversions per channel (erp.hold_conversion) and the units held.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- the ten plain SKUs with the most ATP on WEB at DC-BER tonight
CREATE TEMP TABLE demo_hold_sku AS
SELECT i.sku, row_number() OVER (ORDER BY a.atp DESC, i.sku) AS n
  FROM erp.availability a JOIN erp.item i USING (item_id)
 WHERE a.node = 'DC-BER' AND a.atp > 10 AND NOT i.lot_tracked
   AND NOT EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id = i.item_id)
 ORDER BY a.atp DESC, i.sku LIMIT 10;
SELECT sku AS hold_sku, erp.atp(sku, channel => 'WEB') AS atp_before FROM demo_hold_sku WHERE n = 1 \gset

-- 1. 40 checkouts: carts of one or two SKUs, 1 or 2 units each -------------------------------
CREATE TEMP TABLE demo_cart AS
SELECT c AS cart, 'CART-' || lpad(c::text, 3, '0') AS cart_ref,
       jsonb_agg(jsonb_build_object('sku', s.sku, 'qty', 1 + (c + s.n) % 2) ORDER BY s.n) AS lines
  FROM generate_series(1, 40) c
  JOIN demo_hold_sku s ON s.n IN (1 + c % 10, 1 + (c * 3) % 10)
 GROUP BY c;
ALTER TABLE demo_cart ADD COLUMN hold_id bigint;
UPDATE demo_cart SET hold_id = erp.hold('WEB', cart_ref, lines, '10 minutes');
\echo '40 checkouts hold their carts for 10 minutes; ATP of' :'hold_sku' 'on WEB before and after'
SELECT :atp_before AS atp_before_holds, erp.atp(:'hold_sku', channel => 'WEB') AS atp_with_holds,
       (SELECT sum(units) FROM erp.checkout_hold h JOIN demo_cart c USING (hold_id)) AS units_held;

-- 2. 31 shoppers pay: the order takes over the hold; 2 carts are abandoned ------------------------
SELECT count(erp.capture_order('WEB', 'WEB-CHK-' || cart, lines, NULL, 0, hold_ref => hold_id)) AS orders_from_holds
  FROM demo_cart WHERE cart <= 31;
SELECT sum(erp.release_hold(hold_id)) AS units_released_by_abandoned_carts FROM demo_cart WHERE cart IN (32, 33);

-- 3. 7 shoppers never come back: their TTL passes --------------------------------------------------
UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute'
 WHERE hold_id IN (SELECT hold_id FROM demo_cart WHERE cart > 33);
UPDATE erp.checkout_hold_line l SET expires_at = now() - interval '1 minute'
  FROM demo_cart c JOIN erp.checkout_hold h USING (hold_id)
 WHERE c.cart > 33 AND l.item_id = ANY (h.item_ids) AND l.hold_id = h.hold_id;
\echo 'The TTL of 7 holds passed: erp.atp counts their units again before erp.expire_holds runs'
SELECT erp.atp(:'hold_sku', channel => 'WEB') AS atp_before_job;
SELECT erp.expire_holds() AS holds_expired;
SELECT erp.atp(:'hold_sku', channel => 'WEB') AS atp_after_job;

-- 4. The report ------------------------------------------------------------------------------------
\echo 'Checkout holds tonight: conversions per channel (erp.hold_conversion)'
SELECT * FROM erp.hold_conversion ORDER BY channel;
\echo 'The orders that came from holds, and the consistency check'
SELECT o.status, count(DISTINCT o.order_id) AS orders, sum(l.qty_allocated) AS units_allocated
  FROM erp.checkout_hold h JOIN erp.sales_order o USING (order_id) JOIN erp.order_line l ON l.order_id = o.order_id
 WHERE h.status = 'converted' GROUP BY o.status ORDER BY o.status;
SELECT count(*) AS verify_problems FROM erp.verify();
