-- 39_pick_exception_payload.sql: a refused scan's pick_exception (written by the
-- detached event writer) carries the order's lines, and a wrong lot names the
-- lots expected and the lot scanned (issue 11).  Master data TAP39-, rolled back;
-- the events outlive the ROLLBACK by design (uncommitted_order_id).
BEGIN;
SELECT plan(4);

INSERT INTO erp.node (code, kind) VALUES ('TAP39-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP39-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP39-WEB' AND n.code = 'TAP39-DC';
INSERT INTO erp.item (sku, title, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('TAP39-CREAM', 'cream', 1, 10, true, '09501101530003'),
    ('TAP39-TEE', 'tee', 1, 10, false, NULL);
SELECT erp.receive('TAP39-CREAM', 'TAP39-DC', 5, 'L-EARLY', '2030-06-30');
SELECT erp.receive('TAP39-CREAM', 'TAP39-DC', 5, 'L-LATE', '2031-06-30');
SELECT erp.receive('TAP39-TEE', 'TAP39-DC', 5);
CREATE TEMP TABLE tap39 AS
SELECT erp.capture_order('TAP39-WEB', 'TAP39-O1', '[{"sku": "TAP39-CREAM", "qty": 2}, {"sku": "TAP39-TEE", "qty": 3}]') AS order_id;
SELECT count(*) FROM erp.allocate((SELECT order_id FROM tap39));
SELECT erp.pick((SELECT order_id FROM tap39), 'TAP39-TEE', 2);
CREATE FUNCTION pg_temp.last_exception() RETURNS jsonb LANGUAGE sql AS $$
    SELECT payload FROM erp.event
     WHERE kind = 'pick_exception' AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap39)
     ORDER BY event_id DESC LIMIT 1
$$;

SELECT throws_ok(format('SELECT erp.pick(%s, %L)', (SELECT order_id FROM tap39), 'TAP39-NOPE'), 'IE007', NULL,
    'a wrong scan is refused');
SELECT is(pg_temp.last_exception()->'lines',
    '[{"line_no": 1, "sku": "TAP39-CREAM", "qty": 2, "qty_picked": 0}, {"line_no": 2, "sku": "TAP39-TEE", "qty": 3, "qty_picked": 2}]'::jsonb,
    'the wrong scan''s exception lists the order''s lines with what is picked, or the desk must look the order up to act');
SELECT throws_ok(format('SELECT erp.pick(%s, %L)', (SELECT order_id FROM tap39), '(01)09501101530003(10)L-LATE'), 'IE007', NULL,
    'a unit of another lot is refused');
SELECT is(pg_temp.last_exception() - 'uncommitted_order_id' - 'uncommitted_node_id' - 'uncommitted_item_id' - 'lines',
    '{"scan": "(01)09501101530003(10)L-LATE", "qty": 1, "expected_lots": ["L-EARLY"], "scanned_lot": "L-LATE", "scanned_expiry": null}'::jsonb,
    'the wrong lot''s exception names the lot reserved and the lot scanned');

SELECT * FROM finish();
ROLLBACK;
