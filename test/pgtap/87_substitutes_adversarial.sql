-- 87_substitutes_adversarial.sql: substitutes against the rules that bound every
-- allocation (doc/warehouse.md "Substitutes"): a substitute ring-fenced for another channel
-- is not there for this one; a partner's session (erp.node_access) never chooses a
-- substitute and reads substitution rows of its own orders only; a substitute below its
-- safety stock is not used; a line allowing substitutes whose item and substitutes are all
-- out is short.  Codes start with TAP87A-; rolled back at the end.
BEGIN;
SELECT plan(12);

INSERT INTO erp.node (code) VALUES ('TAP87A-DC'), ('TAP87A-3PL');
INSERT INTO erp.channel (code) VALUES ('TAP87A-WEB'), ('TAP87A-B2B');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP87A-DC' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code LIKE 'TAP87A-%' AND n.code LIKE 'TAP87A-%';
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES
    ('TAP87A-A', 'ordered', 10, false), ('TAP87A-F', 'fenced', 9, false), ('TAP87A-P', '3pl stock', 9, false),
    ('TAP87A-Z', 'safety stock', 9, false);
SELECT erp.receive('TAP87A-A', 'TAP87A-DC', 10), erp.receive('TAP87A-F', 'TAP87A-DC', 5),
       erp.receive('TAP87A-P', 'TAP87A-3PL', 10), erp.receive('TAP87A-Z', 'TAP87A-DC', 4);
SELECT erp.set_substitute('TAP87A-A', 'TAP87A-F', 1), erp.set_substitute('TAP87A-A', 'TAP87A-Z', 2),
       erp.set_substitute('TAP87A-A', 'TAP87A-P', 3);
-- every F is ring-fenced for the B2B channel; Z keeps 3 units of safety stock at the DC
INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
SELECT i.item_id, c.channel_id, 5 FROM erp.item i, erp.channel c WHERE i.sku = 'TAP87A-F' AND c.code = 'TAP87A-B2B';
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
SELECT i.item_id, n.node_id, 3 FROM erp.item i, erp.node n WHERE i.sku = 'TAP87A-Z' AND n.code = 'TAP87A-DC';

CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT COALESCE(string_agg(i.sku || '@' || n.code || '=' || r.qty, ', ' ORDER BY i.sku, n.code), 'nothing')
      FROM erp.reservation r JOIN erp.item i ON i.item_id = r.item_id JOIN erp.node n ON n.node_id = r.node_id
     WHERE r.order_id = pg_temp.ord(ref) AND r.qty > 0 $$;

-- A is taken by a first order: 10 of 10
SELECT erp.allocate(erp.capture_order('TAP87A-WEB', 'TAP87A-O0', '[{"sku": "TAP87A-A", "qty": 10}]'));

-- a partner at the 3PL: its session never substitutes
CREATE ROLE tap87a_partner;
GRANT erp_operator TO tap87a_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap87a_partner', node_id FROM erp.node WHERE code = 'TAP87A-3PL';
SET LOCAL ROLE tap87a_partner;
SELECT erp.capture_order('TAP87A-WEB', 'TAP87A-P1', '[{"sku": "TAP87A-A", "qty": 2, "substitutes": true}]');
SELECT results_eq(format($$SELECT sku, node, qty, line_status::text FROM erp.allocate(%s)$$, pg_temp.ord('TAP87A-P1')),
    $$VALUES ('TAP87A-A', NULL::text, 0::bigint, 'short')$$,
    'a partner''s allocation chooses no substitute, though P is at its own node');
SELECT is((SELECT count(*) FROM erp.order_line_substitution WHERE substitute_item_id IS NOT NULL), 0::bigint,
    'the partner reads no substitution (it made none)');
RESET ROLE;
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'line_substituted'), 0::bigint, 'and no line_substituted event');

-- the retailer: F is fenced for B2B (not there for WEB), Z has 1 above safety stock: too few for 2; P at the 3PL fills it
SELECT erp.capture_order('TAP87A-WEB', 'TAP87A-O1', '[{"sku": "TAP87A-A", "qty": 2, "substitutes": true}]');
SELECT erp.allocate(pg_temp.ord('TAP87A-O1'));
SELECT is(pg_temp.held('TAP87A-O1'), 'TAP87A-P@TAP87A-3PL=2',
    'rank 1 (F) is ring-fenced for another channel, rank 2 (Z) has 1 above its safety stock: rank 3 (P) fills 2');
SELECT is((SELECT rank FROM erp.order_line_substitution WHERE order_id = pg_temp.ord('TAP87A-O1')), 3, 'the line names rank 3');
SELECT is((SELECT sum(available)::bigint FROM erp.availability WHERE sku = 'TAP87A-F') || '/' ||
          (SELECT sum(available)::bigint FROM erp.availability WHERE sku = 'TAP87A-Z'), '5/4', 'F and Z untouched');

-- the partner reads the substitution of the order now held at its node, not of others
SET LOCAL ROLE tap87a_partner;
SELECT is((SELECT string_agg(o.external_ref, ',') FROM erp.order_line_substitution s JOIN erp.sales_order o USING (order_id)
            WHERE s.substitute_item_id IS NOT NULL), 'TAP87A-O1', 'a partner reads the substitution of an order at its node');
RESET ROLE;

-- for B2B, the fence is its own: F fills its line
SELECT erp.capture_order('TAP87A-B2B', 'TAP87A-B1', '[{"sku": "TAP87A-A", "qty": 5, "substitutes": true}]');
SELECT erp.allocate(pg_temp.ord('TAP87A-B1'));
SELECT is(pg_temp.held('TAP87A-B1'), 'TAP87A-F@TAP87A-DC=5', 'the channel the fence is for gets F');

-- everything out: short, nothing substituted, nothing moved
SELECT count(*) AS moves FROM erp.stock_move \gset
SELECT erp.capture_order('TAP87A-WEB', 'TAP87A-O2', '[{"sku": "TAP87A-A", "qty": 9, "substitutes": true}]');
SELECT results_eq(format($$SELECT sku, qty, line_status::text, qty_short FROM erp.allocate(%s)$$, pg_temp.ord('TAP87A-O2')),
    $$VALUES ('TAP87A-A', 0::bigint, 'short', 9::bigint)$$, 'with the item and every substitute out the line is short');
SELECT is((SELECT count(*) FROM erp.stock_move), :moves::bigint, 'and no stock moved');
SELECT is((SELECT substitute_item_id FROM erp.order_line_substitution WHERE order_id = pg_temp.ord('TAP87A-O2')), NULL,
    'and nothing is substituted');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
