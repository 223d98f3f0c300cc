-- 76_order_edits.sql: order edits before fulfilment (issue 17 part 6, doc/orchestration.md).
-- erp.change_line, erp.cancel_line, erp.add_line and erp.release_line release or allocate
-- exactly what changed, are refused once the line's units are picked (IE010), and are
-- recorded in erp.order_edit.  Refusals change nothing.
--
-- Master data uses codes starting with TAP76- and is rolled back at the end.
BEGIN;
SELECT plan(35);

INSERT INTO erp.node (code, kind) VALUES ('TAP76-N1', 'warehouse'), ('TAP76-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP76-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP76-WEB' AND n.code = 'TAP76-N1';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, allow_backorder) VALUES
    ('TAP76-A', 'a', 4, 10, false), ('TAP76-B', 'b', 2, 5, false), ('TAP76-OLD', 'retired', 1, 1, false);
UPDATE erp.item SET active = false WHERE sku = 'TAP76-OLD';
SELECT erp.receive('TAP76-A', 'TAP76-N1', 10), erp.receive('TAP76-B', 'TAP76-N1', 10);

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- an order: status, then each line's status:qty:qty_allocated, then units reserved per sku
CREATE FUNCTION pg_temp.o(id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT o.status || ' ' || (SELECT string_agg(l.line_no || '=' || l.status || ':' || l.qty || ':' || l.qty_allocated, ',' ORDER BY l.line_no)
                                 FROM erp.order_line l WHERE l.order_id = o.order_id)
           || ' reserved ' || COALESCE((SELECT sum(r.qty) FROM erp.reservation r WHERE r.order_id = o.order_id), 0)
      FROM erp.sales_order o WHERE o.order_id = id $$;
CREATE FUNCTION pg_temp.avail(s text) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
     WHERE i.sku = s AND b.state = 'available' $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', order_id, status), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, qty, unit_price, qty_allocated, qty_backordered, status), ';' ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT string_agg(concat_ws(',', order_id, line_no, node_id, qty, qty_picked), ';' ORDER BY order_id, line_no, node_id) FROM erp.reservation),
        (SELECT count(*) FROM erp.order_edit), (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event))) $$;

SELECT erp.capture_order('TAP76-WEB', 'TAP76-O1', '[{"sku": "TAP76-A", "qty": 4}, {"sku": "TAP76-B", "qty": 2}]') AS o1 \gset
SELECT ok((SELECT count(*) FROM erp.allocate(:o1)) = 2, 'O1 is allocated');
SELECT is(pg_temp.o(:o1), 'allocated 1=allocated:4:4,2=allocated:2:2 reserved 6', 'O1 reserves 4 A and 2 B');

-- change a line's quantity
SELECT ok(erp.change_line(:o1, 1, 3) > 0, 'line 1 goes from 4 to 3');
SELECT is(pg_temp.o(:o1), 'allocated 1=allocated:3:3,2=allocated:2:2 reserved 5', 'exactly 1 unit of A is released');
SELECT is(pg_temp.avail('TAP76-A'), 7::bigint, 'it is available again: 7 of 10');
SELECT ok(erp.change_line(:o1, 1, 6) > 0, 'line 1 goes from 3 to 6');
SELECT is(pg_temp.o(:o1), 'allocated 1=allocated:6:6,2=allocated:2:2 reserved 8', 'exactly 3 more units of A are reserved');
SELECT is(pg_temp.avail('TAP76-A'), 4::bigint, '4 of A stay available');
SELECT is(erp.change_line(:o1, 1, 6), 0::bigint, 'the same quantity again is no edit (0)');
SELECT ok(erp.change_line(:o1, 1, 12) > 0, 'line 1 goes to 12: only 4 more can be had');
SELECT is(pg_temp.o(:o1), 'partially_allocated 1=short:12:10,2=allocated:2:2 reserved 12',
    '4 more are reserved, the 2 no node has leave the line short');

-- cancel a line, add a line
SELECT ok(erp.cancel_line(:o1, 2) > 0, 'line 2 is cancelled');
SELECT is(pg_temp.o(:o1), 'partially_allocated 1=short:12:10,2=cancelled:2:0 reserved 10', 'its 2 B are released');
SELECT is(pg_temp.avail('TAP76-B'), 10::bigint, 'all 10 B are available again');
SELECT is(erp.add_line(:o1, 'TAP76-B', 3), 3, 'a new line 3 of 3 B');
SELECT is(pg_temp.o(:o1), 'partially_allocated 1=short:12:10,2=cancelled:2:0,3=allocated:3:3 reserved 13', 'it is allocated at once');
SELECT is((SELECT unit_price FROM erp.order_line WHERE order_id = :o1 AND line_no = 3), 5.00::numeric, 'at the item''s price');
SELECT is(erp.add_line(:o1, 'TAP76-B', 1, 4.5), 4, 'a line with its own price');
SELECT is((SELECT unit_price FROM erp.order_line WHERE order_id = :o1 AND line_no = 4), 4.50::numeric, 'keeps it');

-- release part of a reservation
SELECT ok(erp.release_line(:o1, 3, 2) > 0, '2 of line 3''s units are released');
SELECT is(pg_temp.o(:o1), 'partially_allocated 1=short:12:10,2=cancelled:2:0,3=partially_allocated:3:1,4=allocated:1:1 reserved 12',
    'line 3 holds 1 and waits for the other 2');
SELECT is((SELECT string_agg(kind || ' ' || line_no || ' ' || old_qty || '>' || new_qty || ' -' || units_released || ' +' || units_reserved, ', ' ORDER BY order_edit_id)
             FROM erp.order_edit WHERE order_id = :o1),
    'change_qty 1 4>3 -1 +0, change_qty 1 3>6 -0 +3, change_qty 1 6>12 -0 +4, cancel_line 2 2>0 -2 +0, add_line 3 0>3 -0 +3, add_line 4 0>1 -0 +1, release 3 3>3 -2 +0',
    'every edit is recorded with what it released and reserved');
SELECT is((SELECT count(*) FROM erp.event WHERE kind = 'order_edited' AND order_id = :o1), 7::bigint, 'and raises an order_edited event');

-- refusals
SELECT erp.pick(:o1, 'TAP76-B', 1);
SELECT pg_temp.state() AS s0 \gset
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 3, 2)', :o1)), format('IE010: line 3 of order %s has picked units', :o1),
    'a line with picked units (line 3: the pick took its B) is not edited (IE010)');
SELECT is(pg_temp.err(format('SELECT erp.cancel_line(%s, 3)', :o1)), format('IE010: line 3 of order %s has picked units', :o1),
    'nor cancelled (IE010)');
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 1, 0)', :o1)), 'IE004: invalid quantity 0 for a line', 'a quantity of 0 is refused (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.release_line(%s, 4, 5)', :o1)),
    format('IE004: line 4 of order %s holds 1 reserved units, 5 asked to release', :o1), 'more than reserved cannot be released (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 9, 1)', :o1)), format('IE003: order %s has no line 9', :o1), 'an unknown line (IE003)');
SELECT is(pg_temp.err(format('SELECT erp.add_line(%s, %L, 1)', :o1, 'TAP76-OLD')), 'IE010: sku "TAP76-OLD" is retired and takes no new orders',
    'a retired item is not added (IE010)');
SELECT is(pg_temp.err(format('SELECT erp.add_line(%s, %L, 1, -1)', :o1, 'TAP76-A')), 'IE004: invalid unit_price -1 for sku "TAP76-A"',
    'a negative price is refused (IE004)');
SELECT is(pg_temp.err(format('SELECT erp.change_line(%s, 1, 9223372036854775807)', :o1)),
    'IE004: invalid quantity 9223372036854775807 for a line', 'a huge quantity is refused (IE004)');
CREATE ROLE t76_partner;
GRANT erp_operator, erp_reader TO t76_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 't76_partner', node_id FROM erp.node WHERE code = 'TAP76-N2';
SET LOCAL ROLE t76_partner;
SELECT is(left(pg_temp.err(format('SELECT erp.change_line(%s, 1, 2)', :o1)), 6), 'IE009:',
    'a partner may not edit an order of another node (IE009)');
SELECT is(left(pg_temp.err(format('SELECT erp.add_line(%s, %L, 1)', :o1, 'TAP76-A')), 6), 'IE009:',
    'nor add a line to it (IE009)');
RESET ROLE;
SELECT is(pg_temp.state(), :'s0', 'the refused edits changed nothing');

SELECT is_empty('SELECT * FROM erp.verify()', 'erp.verify() finds nothing wrong after the edits');

SELECT * FROM finish();
ROLLBACK;
