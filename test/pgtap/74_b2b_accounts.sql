-- 74_b2b_accounts.sql: B2B accounts (issue 17 part 4, doc/orchestration.md).
-- An order names its customer in ship_to {"customer": "<code>"}: a line without a
-- unit_price gets the customer's price break (largest min_qty <= qty); an order that takes
-- the customer's open credit (unshipped value of its open orders + the new order) over its
-- limit arrives on a credit hold; the customer's ship-complete (or allow_partial = false)
-- makes the order ship-complete: nothing is reserved until one node can fill it all, and it
-- never splits.  erp.kpi_customer_margin shows revenue, cogs and margin per customer.
--
-- Master data uses codes starting with TAP74- and is rolled back at the end.
BEGIN;
SELECT plan(40);

INSERT INTO erp.node (code, kind) VALUES ('TAP74-N1', 'warehouse'), ('TAP74-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP74-B2B', 'wholesale');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, v.rank FROM (VALUES ('TAP74-N1', 1), ('TAP74-N2', 2)) v(n, rank)
  JOIN erp.node n ON n.code = v.n CROSS JOIN erp.channel c WHERE c.code = 'TAP74-B2B';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP74-A', 'widget', 4, 10, false), ('TAP74-B', 'gadget', 2, 5, false);
SELECT erp.receive('TAP74-A', 'TAP74-N1', 40), erp.receive('TAP74-B', 'TAP74-N2', 40);
INSERT INTO erp.price_list (code, name) VALUES ('TAP74-PL', 'trade');
INSERT INTO erp.price_break (price_list_id, item_id, min_qty, unit_price)
SELECT p.price_list_id, i.item_id, v.min_qty, v.price
  FROM (VALUES (1, 9.00), (10, 8.00), (50, 7.50)) v(min_qty, price)
 CROSS JOIN erp.price_list p CROSS JOIN erp.item i WHERE p.code = 'TAP74-PL' AND i.sku = 'TAP74-A';
INSERT INTO erp.customer (code, name, payment_terms, credit_limit, ship_complete, allow_partial, price_list_id, active)
SELECT v.code, v.name, v.terms, v.credit, v.sc, v.ap, CASE WHEN v.pl THEN (SELECT price_list_id FROM erp.price_list WHERE code = 'TAP74-PL') END, v.active
  FROM (VALUES ('TAP74-ACME', 'Acme Trading', 'net30', 200.00, false, true, true, true),
               ('TAP74-BIG', 'Big Co', 'net60', NULL, true, true, false, true),
               ('TAP74-SMALL', 'Small Shop', 'prepaid', NULL, false, false, false, true),
               ('TAP74-GONE', 'Closed Account', 'prepaid', NULL, false, true, false, false)) v(code, name, terms, credit, sc, ap, pl, active);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.prices(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(l.qty || 'x' || l.unit_price, ', ' ORDER BY l.line_no)
      FROM erp.order_line l WHERE l.order_id = pg_temp.ord(ref) $$;
-- where an order's units are reserved: sku@node=qty
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT COALESCE(string_agg(x.sku || '@' || x.code || '=' || x.qty, ', ' ORDER BY x.sku, x.code), 'nothing')
      FROM (SELECT i.sku, n.code, sum(r.qty) AS qty
              FROM erp.reservation r JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id)
             WHERE r.order_id = pg_temp.ord(ref) AND r.qty > 0 GROUP BY 1, 2) x $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', order_id, status, customer_id, ship_complete), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty, unit_price, qty_allocated, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT string_agg(concat_ws(',', order_id, reason, released_at IS NULL), ';' ORDER BY order_hold_id) FROM erp.order_hold),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

-- Price breaks ---------------------------------------------------------------------------------

SELECT erp.capture_order('TAP74-B2B', 'TAP74-O1', '[{"sku": "TAP74-A", "qty": 12}, {"sku": "TAP74-A", "qty": 3}, {"sku": "TAP74-B", "qty": 2}]',
                         '{"customer": "TAP74-ACME"}');
SELECT is(pg_temp.prices('TAP74-O1'), '12x8.00, 3x9.00, 2x5.00',
    'lines without a price get the break for their qty (12: 8.00 from 10 on, 3: 9.00 from 1 on); an item off the list keeps its price');
SELECT is((SELECT c.code FROM erp.sales_order o JOIN erp.customer c USING (customer_id) WHERE o.order_id = pg_temp.ord('TAP74-O1')),
    'TAP74-ACME', 'the order is linked to its customer');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-O2', '[{"sku": "TAP74-A", "qty": 50}, {"sku": "TAP74-A", "qty": 1, "unit_price": 11}]',
                         '{"customer": "TAP74-BIG"}');
SELECT is(pg_temp.prices('TAP74-O2'), '50x10.00, 1x11.00',
    'a customer without a price list pays the item price; a given unit_price is kept');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-O3', '[{"sku": "TAP74-A", "qty": 1, "unit_price": 11}]', '{"customer": "TAP74-ACME"}');
SELECT is(pg_temp.prices('TAP74-O3'), '1x11.00', 'a given unit_price wins over the price break');
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id IN (pg_temp.ord('TAP74-O1'), pg_temp.ord('TAP74-O3'))), 0::bigint,
    'ACME''s orders of 96.00 + 27.00 + 10.00 and 11.00 (144.00) stay within its 200.00 credit: no hold');

-- Credit limit ---------------------------------------------------------------------------------

SELECT erp.capture_order('TAP74-B2B', 'TAP74-O4', '[{"sku": "TAP74-B", "qty": 12}]', '{"customer": "TAP74-ACME"}');
SELECT is((SELECT reason || ': ' || note FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP74-O4') AND released_at IS NULL),
    'credit: customer TAP74-ACME: open orders 144.00 + this order 60.00 exceed the credit limit 200.00'::text,
    'an order taking the open credit over the limit (144.00 + 60.00 > 200.00) arrives on a credit hold naming the numbers');
SELECT is(left(pg_temp.err(format('SELECT * FROM erp.allocate(%s)', pg_temp.ord('TAP74-O4'))), 6), 'IE010:',
    'the credit-held order is not allocated (IE010)');
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP74-O4'), 'nothing', 'allocate_pending skips it');
SELECT is(pg_temp.held('TAP74-O1'), 'TAP74-A@TAP74-N1=15, TAP74-B@TAP74-N2=2', 'while the orders within the limit are allocated');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-O5', '[{"sku": "TAP74-B", "qty": 1}]', '{"customer": "TAP74-ACME"}');
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP74-O5')), 1::bigint,
    'the held order counts towards the open credit: 144.00 + 60.00 + 5.00 > 200.00 holds the next small order too');
SELECT erp.cancel_order(pg_temp.ord('TAP74-O1'));
SELECT erp.capture_order('TAP74-B2B', 'TAP74-O6', '[{"sku": "TAP74-B", "qty": 1}]', '{"customer": "TAP74-ACME"}');
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP74-O6')), 0::bigint,
    'a cancelled order frees its credit (133.00): 11.00 + 60.00 + 5.00 + 5.00 fits, no hold');
CREATE ROLE t74_approver;
GRANT erp_operator, erp_reader, erp_approver TO t74_approver;
-- four eyes: an approver whose own order went over the limit cannot clear its credit hold
CREATE ROLE t74_clerk_approver;
GRANT erp_operator, erp_reader, erp_approver TO t74_clerk_approver;
SET LOCAL ROLE t74_clerk_approver;
SELECT erp.capture_order('TAP74-B2B', 'TAP74-O7', '[{"sku": "TAP74-B", "qty": 60}]', '{"customer": "TAP74-ACME"}');
SELECT is((SELECT reason FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP74-O7')), 'credit',
    'an approver''s own order over the limit arrives on a credit hold');
SELECT is(left(pg_temp.err(format('SELECT erp.release_order(%s)', pg_temp.ord('TAP74-O7'))), 6), 'IE009:',
    'and that approver may not release it (IE009, four eyes)');
RESET ROLE;
SELECT is((SELECT count(*) FROM erp.order_hold WHERE order_id = pg_temp.ord('TAP74-O7') AND released_at IS NULL), 1::bigint,
    'the refusal leaves the hold open');
SET LOCAL ROLE t74_approver;
SELECT is(erp.release_order(pg_temp.ord('TAP74-O7')), 1, 'another approver may');
SELECT erp.cancel_order(pg_temp.ord('TAP74-O7'));
SET LOCAL ROLE t74_approver;
SELECT is(erp.release_order(pg_temp.ord('TAP74-O4')), 1, 'an approver releases the credit hold');
RESET ROLE;
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP74-O4'), 'TAP74-B@TAP74-N2=12', 'and allocate_pending fills the released order');

-- Ship-complete --------------------------------------------------------------------------------

-- A only at N1, B only at N2 (for what is left)
SELECT erp.capture_order('TAP74-B2B', 'TAP74-SC1', '[{"sku": "TAP74-A", "qty": 2}, {"sku": "TAP74-B", "qty": 2}]', '{"customer": "TAP74-BIG"}');
SELECT is((SELECT ship_complete FROM erp.sales_order WHERE order_id = pg_temp.ord('TAP74-SC1')), true,
    'an order of a ship-complete customer is ship-complete');
SELECT results_eq(format($$SELECT line_no, node, qty, line_status::text, qty_short, order_status::text FROM erp.allocate(%s)$$, pg_temp.ord('TAP74-SC1')),
    $$VALUES (1, NULL::text, 0::bigint, 'open', 2::bigint, 'open'), (2, NULL::text, 0::bigint, 'open', 2::bigint, 'open')$$,
    'no node holds both items: the ship-complete order reserves nothing and its lines stay open (not short)');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-SPLIT', '[{"sku": "TAP74-A", "qty": 1}, {"sku": "TAP74-B", "qty": 1}]');
SELECT ok((SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP74-SPLIT'))) = 2, 'the same order without ship-complete is allocated');
SELECT is(pg_temp.held('TAP74-SPLIT'), 'TAP74-A@TAP74-N1=1, TAP74-B@TAP74-N2=1', 'and split over the two nodes');
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP74-SC1'), 'nothing', 'allocate_pending leaves the ship-complete order waiting while no node can fill it');
SELECT erp.receive('TAP74-B', 'TAP74-N1', 3);
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP74-SC1'), 'TAP74-A@TAP74-N1=2, TAP74-B@TAP74-N1=2',
    'once N1 holds both items the whole order is reserved there, one node');
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = pg_temp.ord('TAP74-SC1')), 'allocated', 'and it is allocated');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-SC2', '[{"sku": "TAP74-A", "qty": 1}]', '{"customer": "TAP74-SMALL"}');
SELECT is((SELECT ship_complete FROM erp.sales_order WHERE order_id = pg_temp.ord('TAP74-SC2')), true,
    'a customer that allows no partial shipment gets ship-complete orders');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-SC3', '[{"sku": "TAP74-A", "qty": 1}, {"sku": "TAP74-B", "qty": 5}]', '{"ship_complete": true}');
SELECT ok((SELECT count(*) FROM erp.allocate(pg_temp.ord('TAP74-SC3'))) = 2, 'an order may ask for ship-complete itself');
SELECT is(pg_temp.held('TAP74-SC3'), 'nothing', 'N1 has 1 B left, N2 no A: it reserves nothing rather than split');
SELECT erp.capture_order('TAP74-B2B', 'TAP74-SC4', '[{"sku": "TAP74-A", "qty": 1}]', '{"ship_complete": false, "customer": "TAP74-BIG"}');
SELECT is((SELECT ship_complete FROM erp.sales_order WHERE order_id = pg_temp.ord('TAP74-SC4')), true,
    'ship_complete false does not undo the customer''s ship-complete');

-- Refusals -------------------------------------------------------------------------------------

SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-R1', '[{"sku": "TAP74-A", "qty": 1}]', '{"customer": "TAP74-NOPE"}')$$),
    'IE003: unknown customer "TAP74-NOPE"', 'an unknown customer is refused (IE003)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-R1', '[{"sku": "TAP74-A", "qty": 1}]', '{"customer": "TAP74-GONE"}')$$),
    'IE010: customer "TAP74-GONE" is inactive and takes no new orders', 'an inactive customer is refused (IE010)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-R1', '[{"sku": "TAP74-A", "qty": 1}]', '{"customer": 42}')$$),
    'IE004: invalid ship_to customer: not a JSON string', 'a customer that is no string is refused (IE004)');
SELECT is(pg_temp.err(format($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-R1', '[{"sku": "TAP74-A", "qty": 1}]', '{"customer": "%s"}')$$, repeat('C', 65))),
    'IE004: customer is 65 bytes long', 'a customer code over 64 bytes is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-R1', '[{"sku": "TAP74-A", "qty": 1}]', '{"ship_complete": "yes"}')$$),
    'IE004: invalid ship_to ship_complete: not a JSON boolean', 'a ship_complete that is no boolean is refused (IE004)');
SELECT is(pg_temp.state(), :'s0', 'the refused captures changed nothing');
SELECT is(erp.capture_order('TAP74-B2B', 'TAP74-O3', '[{"sku": "TAP74-A", "qty": 1, "unit_price": 11}]', '{"customer": "TAP74-ACME"}'),
    pg_temp.ord('TAP74-O3'), 'a redelivered B2B order returns the same order');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP74-B2B', 'TAP74-O3', '[{"sku": "TAP74-A", "qty": 1, "unit_price": 11}]', '{"customer": "TAP74-BIG"}')$$),
    format('IE010: order "TAP74-O3" from channel "TAP74-B2B" was captured before as order %s with a different ship_to', pg_temp.ord('TAP74-O3')),
    'a redelivery naming another customer is refused (IE010)');
SELECT is(pg_temp.state(), :'s0', 'and changes nothing');

-- Customer margin ------------------------------------------------------------------------------

SELECT erp.pick(pg_temp.ord('TAP74-O4'), 'TAP74-B', 12);
SELECT erp.pack(pg_temp.ord('TAP74-O4'));
SELECT erp.ship(pg_temp.ord('TAP74-O4'));
SELECT results_eq($$SELECT customer, units_shipped, revenue, cogs, margin, margin_pct, credit_limit FROM erp.kpi_customer_margin
                     WHERE customer LIKE 'TAP74-%' ORDER BY customer$$,
    $$VALUES ('TAP74-ACME', 12::bigint, 60.00::numeric, 24.00::numeric, 36.00::numeric, 60.0::numeric, 200.00::numeric),
             ('TAP74-BIG', 0::bigint, 0.00::numeric, 0.00::numeric, 0.00::numeric, NULL::numeric, NULL::numeric),
             ('TAP74-GONE', 0::bigint, 0.00::numeric, 0.00::numeric, 0.00::numeric, NULL::numeric, NULL::numeric),
             ('TAP74-SMALL', 0::bigint, 0.00::numeric, 0.00::numeric, 0.00::numeric, NULL::numeric, NULL::numeric)$$,
    'kpi_customer_margin: ACME shipped 12 B at 5.00 (revenue 60.00), cogs 12 x 2.00 = 24.00, margin 36.00 (60.0 %)');
SELECT is((SELECT open_value FROM erp.kpi_customer_margin WHERE customer = 'TAP74-ACME'), 21.00::numeric,
    'and its open orders'' unshipped value: O3 11.00 + O5 5.00 + O6 5.00');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
