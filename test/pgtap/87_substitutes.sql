-- 87_substitutes.sql: substitutes (issue 16 item 5, SPEC 12, doc/warehouse.md "Substitutes").
-- erp.set_substitute keeps erp.item_substitute (refusals change nothing); a line captured
-- with "substitutes": true whose item cannot fill it is filled whole by the first
-- substitute in rank order that can (rank 1 out -> rank 2), recorded with a
-- line_substituted event; pick, short_pick, pack, ship and returns then work on the
-- substitute, refunded at the line's price.  A substitute only at another channel's
-- node, a retired one or one that cannot fill the line whole is not used.
--
-- Master data uses codes starting with TAP87- and is rolled back at the end.
BEGIN;
SELECT plan(43);

INSERT INTO erp.node (code) VALUES ('TAP87-N1'), ('TAP87-N2'), ('TAP87-N3');
INSERT INTO erp.channel (code) VALUES ('TAP87-WEB'), ('TAP87-OTHER');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TAP87-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n
 WHERE (c.code = 'TAP87-WEB' AND n.code IN ('TAP87-N1', 'TAP87-N2')) OR (c.code = 'TAP87-OTHER' AND n.code = 'TAP87-N3');
INSERT INTO erp.item (sku, title, unit_price, allow_backorder) VALUES
    ('TAP87-A', 'ordered', 10, false), ('TAP87-B', 'rank 1', 8, false), ('TAP87-C', 'rank 2', 7, false),
    ('TAP87-X', 'other channel only', 5, false), ('TAP87-R', 'retired', 5, false),
    ('TAP87-KIT', 'kit', 20, false), ('TAP87-P', 'kit part', 4, false);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, p.item_id, 1 FROM erp.item k, erp.item p WHERE k.sku = 'TAP87-KIT' AND p.sku = 'TAP87-P';
SELECT erp.receive('TAP87-A', 'TAP87-N1', 2), erp.receive('TAP87-C', 'TAP87-N2', 10),
       erp.receive('TAP87-X', 'TAP87-N3', 50), erp.receive('TAP87-R', 'TAP87-N1', 50),
       erp.receive('TAP87-P', 'TAP87-N1', 5);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.ord(ref text) RETURNS bigint LANGUAGE sql AS $$
    SELECT order_id FROM erp.sales_order WHERE external_ref = ref $$;
CREATE FUNCTION pg_temp.subs() RETURNS text LANGUAGE sql AS $$
    SELECT COALESCE(string_agg(i.sku || '>' || si.sku || '#' || s.rank, ', ' ORDER BY i.sku, s.rank), 'none')
      FROM erp.item_substitute s JOIN erp.item i ON i.item_id = s.item_id JOIN erp.item si ON si.item_id = s.substitute_item_id
     WHERE i.sku LIKE 'TAP87-%' $$;
-- what an order holds: sku@node=qty
CREATE FUNCTION pg_temp.held(ref text) RETURNS text LANGUAGE sql AS $$
    SELECT COALESCE(string_agg(i.sku || '@' || n.code || '=' || r.qty, ', ' ORDER BY i.sku, n.code), 'nothing')
      FROM erp.reservation r JOIN erp.item i ON i.item_id = r.item_id JOIN erp.node n ON n.node_id = r.node_id
     WHERE r.order_id = pg_temp.ord(ref) AND r.qty > 0 $$;
CREATE FUNCTION pg_temp.avail(s text, nd text) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(available), 0)::bigint FROM erp.availability WHERE sku = s AND node = nd $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', item_id, substitute_item_id, rank), ';' ORDER BY item_id, substitute_item_id) FROM erp.item_substitute),
        (SELECT string_agg(concat_ws(',', order_id, line_no, substitute_item_id, rank), ';' ORDER BY order_id, line_no) FROM erp.order_line_substitution),
        (SELECT string_agg(concat_ws(',', order_id, status), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty, qty_allocated, qty_shipped, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT count(*) FROM erp.reservation), (SELECT count(*) FROM erp.rma_line),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

-- erp.set_substitute ------------------------------------------------------------------------------

SELECT erp.set_substitute('TAP87-A', 'TAP87-B', 1), erp.set_substitute('TAP87-A', 'TAP87-C', 2),
       erp.set_substitute('TAP87-A', 'TAP87-X', 3), erp.set_substitute('TAP87-A', 'TAP87-R', 9);
SELECT is(pg_temp.subs(), 'TAP87-A>TAP87-B#1, TAP87-A>TAP87-C#2, TAP87-A>TAP87-X#3, TAP87-A>TAP87-R#9',
    'four substitutes of A, in rank order');
SELECT erp.set_substitute('TAP87-A', 'TAP87-R', 4);
SELECT is(pg_temp.subs(), 'TAP87-A>TAP87-B#1, TAP87-A>TAP87-C#2, TAP87-A>TAP87-X#3, TAP87-A>TAP87-R#4',
    'setting a substitute again moves it to the new rank');
UPDATE erp.item SET active = false WHERE sku = 'TAP87-R';

SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-NOPE', 'TAP87-B', 1)$$),
    'IE003: unknown sku "TAP87-NOPE"', 'an unknown sku is refused (IE003)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-NOPE', 1)$$),
    'IE003: unknown sku "TAP87-NOPE"', 'an unknown substitute is refused (IE003)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-A', 5)$$),
    'IE004: sku "TAP87-A" cannot substitute itself', 'an item is no substitute of itself (IE004)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-P', 0)$$),
    'IE004: invalid rank 0 for substitute "TAP87-P" of "TAP87-A"', 'rank 0 is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-P', 100)$$),
    'IE004: invalid rank 100 for substitute "TAP87-P" of "TAP87-A"', 'rank 100 is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-KIT', 'TAP87-P', 1)$$),
    'IE004: kit "TAP87-KIT" takes no substitutes', 'a kit gets no substitutes (IE004)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-P', 'TAP87-KIT', 1)$$),
    'IE004: kit "TAP87-KIT" takes no substitutes', 'a kit is no substitute (IE004)');
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-P', 2)$$),
    'IE010: sku "TAP87-A" has another substitute at rank 2', 'a rank another substitute holds is refused (IE010)');
CREATE ROLE tap87_op;
GRANT erp_operator TO tap87_op;
SET LOCAL ROLE tap87_op;
SELECT is(pg_temp.err($$SELECT erp.set_substitute('TAP87-A', 'TAP87-P', 5)$$),
    '42501: permission denied for function set_substitute', 'an operator keeps no substitutes (42501)');
RESET ROLE;
SELECT is(pg_temp.state(), :'s0', 'the refused calls changed nothing');

-- capture refusals ------------------------------------------------------------------------------

SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP87-WEB', 'TAP87-BAD', '[{"sku": "TAP87-A", "qty": 1, "substitutes": "yes"}]')$$),
    'IE004: line 1 of order "TAP87-BAD": substitutes is a JSON string', '"substitutes" that is no boolean is refused (IE004)');
SELECT is(pg_temp.err($$SELECT erp.capture_order('TAP87-WEB', 'TAP87-BAD', '[{"sku": "TAP87-A", "qty": 1}, {"sku": "TAP87-KIT", "qty": 1, "substitutes": true}]')$$),
    'IE004: line 2 of order "TAP87-BAD": kit "TAP87-KIT" takes no substitutes', 'a kit line allows no substitutes (IE004)');
SELECT is(pg_temp.state(), :'s0', 'the refused captures changed nothing');

-- substitution order ----------------------------------------------------------------------------

-- A: 2 at N1; B (rank 1): none; C (rank 2): 10 at N2; X (rank 3): 50 at N3, another channel's node
SELECT results_eq(format($$SELECT line_no, sku, node, qty, line_status::text, qty_short, order_status::text FROM erp.allocate(%s)$$,
                         erp.capture_order('TAP87-WEB', 'TAP87-O1', '[{"sku": "TAP87-A", "qty": 4, "unit_price": 10, "substitutes": true}]')),
    $$VALUES (1, 'TAP87-C', 'TAP87-N2', 4::bigint, 'allocated', 0::bigint, 'allocated')$$,
    'A cannot fill 4 and rank 1 (B) is out: rank 2 (C) fills the line whole');
SELECT is((SELECT ordered_sku || '>' || substitute_sku || '#' || rank || ' ' || qty || '/' || qty_allocated || ' ' || unit_price
             FROM erp.substituted_lines WHERE order_id = pg_temp.ord('TAP87-O1')),
    'TAP87-A>TAP87-C#2 4/4 10.00', 'the line says what was substituted, and keeps its item, quantity and price');
SELECT is((SELECT payload::text FROM erp.event WHERE kind = 'line_substituted' AND order_id = pg_temp.ord('TAP87-O1')),
    '{"qty": 4, "sku": "TAP87-A", "rank": 2, "channel": "TAP87-WEB", "line_no": 1, "substitute_sku": "TAP87-C"}',
    'a line_substituted event names the line, both skus, the rank and the units');
SELECT is(pg_temp.avail('TAP87-A', 'TAP87-N1') || '/' || pg_temp.avail('TAP87-C', 'TAP87-N2'), '2/6',
    'A keeps its 2; C has 6 left');

SELECT erp.capture_order('TAP87-WEB', 'TAP87-O2', '[{"sku": "TAP87-A", "qty": 2, "substitutes": true}]');
SELECT erp.allocate(pg_temp.ord('TAP87-O2'));
SELECT is(pg_temp.held('TAP87-O2'), 'TAP87-A@TAP87-N1=2', 'a line its item can fill is not substituted');
SELECT is((SELECT substitute_item_id FROM erp.order_line_substitution WHERE order_id = pg_temp.ord('TAP87-O2')), NULL,
    'its line allows substitutes but names none');

SELECT erp.capture_order('TAP87-WEB', 'TAP87-O3', '[{"sku": "TAP87-A", "qty": 1}]');
SELECT results_eq(format($$SELECT sku, node, qty, line_status::text, qty_short FROM erp.allocate(%s)$$, pg_temp.ord('TAP87-O3')),
    $$VALUES ('TAP87-A', NULL::text, 0::bigint, 'short', 1::bigint)$$,
    'a line that does not allow substitutes is short, with C in stock');

-- C has 6: a line of 7 finds no substitute that fills it whole (X is at another channel's node, R retired)
SELECT erp.capture_order('TAP87-WEB', 'TAP87-O4', '[{"sku": "TAP87-A", "qty": 7, "substitutes": true}]');
SELECT results_eq(format($$SELECT sku, node, qty, line_status::text, qty_short FROM erp.allocate(%s)$$, pg_temp.ord('TAP87-O4')),
    $$VALUES ('TAP87-A', NULL::text, 0::bigint, 'short', 7::bigint)$$,
    'no substitute can fill 7 here (C 6, X only at another channel''s node, R retired): the line is short');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'line_substituted' AND order_id = pg_temp.ord('TAP87-O4')), 0::bigint,
    'and nothing was substituted');
SELECT is(pg_temp.avail('TAP87-X', 'TAP87-N3') || '/' || pg_temp.avail('TAP87-R', 'TAP87-N1'), '50/50',
    'the other channel''s X and the retired R are untouched');

-- a huge line: no overflow, no substitute
SELECT erp.capture_order('TAP87-WEB', 'TAP87-O5', '[{"sku": "TAP87-A", "qty": 1000000000, "substitutes": true}]');
SELECT results_eq(format($$SELECT sku, qty, line_status::text, qty_short FROM erp.allocate(%s)$$, pg_temp.ord('TAP87-O5')),
    $$VALUES ('TAP87-A', 0::bigint, 'short', 1000000000::bigint)$$, 'a line of 10^9 units is short, not substituted');

-- fulfilment of a substituted line ------------------------------------------------------------

SELECT is(pg_temp.err(format($$SELECT erp.pick(%s, 'TAP87-A', 1)$$, pg_temp.ord('TAP87-O1'))),
    format('IE007: scan "TAP87-A" does not match any item to pick for order %s', pg_temp.ord('TAP87-O1')),
    'picking the ordered sku instead of the substitute is a wrong scan (IE007)');
SELECT erp.pick(pg_temp.ord('TAP87-O1'), 'TAP87-C', 3);
SELECT erp.short_pick(pg_temp.ord('TAP87-O1'), 'TAP87-C', 1);
SELECT is((SELECT status::text || ' ' || qty_allocated FROM erp.order_line WHERE order_id = pg_temp.ord('TAP87-O1')),
    'picking 3', 'a short pick of the substitute takes its missing unit off the line');
SELECT erp.allocate(pg_temp.ord('TAP87-O1'));
SELECT is(pg_temp.held('TAP87-O1'), 'TAP87-C@TAP87-N2=4', 'the line is filled again with its substitute, not with A');
SELECT erp.pick(pg_temp.ord('TAP87-O1'), 'TAP87-C', 1);
SELECT erp.pack(pg_temp.ord('TAP87-O1'));
SELECT ok(erp.ship(pg_temp.ord('TAP87-O1')) > 0, 'the substituted order ships');
SELECT is((SELECT string_agg(i.sku || '=' || sl.qty, ', ') FROM erp.shipment_line sl JOIN erp.item i USING (item_id)
            WHERE sl.order_id = pg_temp.ord('TAP87-O1')), 'TAP87-C=4', 'its shipment is of the substitute');
SELECT is((SELECT qty_shipped FROM erp.substituted_lines WHERE order_id = pg_temp.ord('TAP87-O1')), 4::bigint,
    'the line counts the units shipped');

-- returns of a substitute -----------------------------------------------------------------------

SELECT pg_temp.state() AS s1 \gset
SELECT is(pg_temp.err(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP87-A", "qty": 1}]')$$, pg_temp.ord('TAP87-O1'))),
    format('IE008: return of 1 of sku "TAP87-A" exceeds the 0 shipped on order %s and not yet returned', pg_temp.ord('TAP87-O1')),
    'the ordered sku never shipped: its return is refused (IE008)');
SELECT is(pg_temp.err(format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP87-C", "qty": 5}]')$$, pg_temp.ord('TAP87-O1'))),
    format('IE008: return of 5 of sku "TAP87-C" exceeds the 4 shipped on order %s and not yet returned', pg_temp.ord('TAP87-O1')),
    'more of the substitute than shipped is refused (IE008)');
SELECT is(pg_temp.state(), :'s1', 'the refused returns changed nothing');
SELECT erp.authorize_return(pg_temp.ord('TAP87-O1'), '[{"sku": "TAP87-C", "qty": 2}]') AS rma \gset
SELECT is((SELECT i.sku || ' ' || l.qty || ' x ' || l.unit_price FROM erp.rma_line l JOIN erp.item i USING (item_id) WHERE l.rma_id = :rma),
    'TAP87-C 2 x 10.00', 'a return of the substitute is priced at the line''s price (10.00), not C''s (7.00)');
SELECT erp.receive_return(:rma);
SELECT erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = :rma), 'new');
SELECT is((SELECT refund_amount FROM erp.rma_line WHERE rma_id = :rma), 20.00::numeric,
    'the refund is the line''s price for the 2 units: 20.00');
SELECT is(pg_temp.avail('TAP87-C', 'TAP87-N2'), 7::bigint,
    'the returned units are C again at N2 (6, less the one that replaced the unit the short pick missed, + 2)');

-- a substituted line goes on with its substitute (allocate_pending) -------------------------

SELECT erp.capture_order('TAP87-WEB', 'TAP87-O6', '[{"sku": "TAP87-A", "qty": 3, "substitutes": true}]');
SELECT erp.allocate(pg_temp.ord('TAP87-O6'));
SELECT is(pg_temp.held('TAP87-O6'), 'TAP87-C@TAP87-N2=3', 'A is out (O2 holds it): C fills the next line');
SELECT erp.receive('TAP87-A', 'TAP87-N1', 100);
SELECT erp.release_line(pg_temp.ord('TAP87-O6'), 1, 2);
SELECT erp.allocate_pending();
SELECT is(pg_temp.held('TAP87-O6'), 'TAP87-C@TAP87-N2=3',
    'released units are taken again from its substitute, though A is back: a line never mixes items');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong');

-- verify holds a substituted line to its substitute: a line that forgot its substitution
-- (written directly, as a superuser) holds C where it should hold A
CREATE TEMP TABLE o6_substitution AS SELECT * FROM erp.order_line_substitution WHERE order_id = pg_temp.ord('TAP87-O6');
SET LOCAL inventory_erp.restore_mode = on;
UPDATE erp.order_line_substitution SET substitute_item_id = NULL, rank = NULL, substituted_at = NULL
 WHERE order_id = pg_temp.ord('TAP87-O6');
SET LOCAL inventory_erp.restore_mode = off;
SELECT is((SELECT string_agg(p.problem || ' ' || i.sku || ' ' || p.expected || '/' || p.actual, '; ' ORDER BY i.sku)
             FROM erp.verify() p JOIN erp.item i USING (item_id)),
    format('reservations differ from order line %1$s/1 TAP87-A 3/0; reservations differ from order line %1$s/1 TAP87-C 0/3',
           pg_temp.ord('TAP87-O6')),
    'a substituted line without its substitution: verify expects 3 of A and finds 3 of C');
SET LOCAL inventory_erp.restore_mode = on;
UPDATE erp.order_line_substitution s SET substitute_item_id = o.substitute_item_id, rank = o.rank, substituted_at = o.substituted_at
  FROM o6_substitution o WHERE (s.order_id, s.line_no) = (o.order_id, o.line_no);
SET LOCAL inventory_erp.restore_mode = off;
SELECT is_empty('SELECT * FROM erp.verify()', 'with its substitution back, verify is empty again');

SELECT * FROM finish();
ROLLBACK;
