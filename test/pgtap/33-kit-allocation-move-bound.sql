-- 33-kit-allocation-move-bound.sql (issue 10, break-kernel; huge numbers): a kit
-- line reserves line qty x component qty units of each component in ONE kernel
-- move (allocate.c ReserveItemAt: units * per_unit), and the kernel refuses any
-- move above IERP_MAX_MOVE_QTY (1e9) with IE004 "invalid quantity".  A kit of 10
-- parts, 3e9 parts in stock: erp.atp promises 300,000,000 kits, erp.capture_order
-- accepts a line of 200,000,000 (within the 1..1e9 line bound), and erp.allocate
-- then fails the whole order with IE004 naming 2,000,000,000 units of the PART,
-- a number the caller never sent; erp.allocate_pending skips it with a WARNING
-- for ever.  An order capture accepted must be allocatable as far as the stock
-- goes: the moves have to be split at the bound (or the line refused at capture).
BEGIN;
SELECT plan(4);

INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TAP33-KIT', 0, 1), ('TAP33-PART', 0, 0);
INSERT INTO erp.node (code, kind) VALUES ('TAP33-DC', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('TAP33-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP33-WEB' AND n.code = 'TAP33-DC';
SELECT erp.receive('TAP33-PART', 'TAP33-DC', 1000000000), erp.receive('TAP33-PART', 'TAP33-DC', 1000000000),
       erp.receive('TAP33-PART', 'TAP33-DC', 1000000000);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 10 FROM erp.item k, erp.item c WHERE k.sku = 'TAP33-KIT' AND c.sku = 'TAP33-PART';

SELECT is(erp.atp('TAP33-KIT', 'TAP33-DC'), 300000000::bigint, '(300,000,000 kits are promised)');
CREATE TEMP TABLE tap33_order AS
SELECT erp.capture_order('TAP33-WEB', 'TAP33-1', '[{"sku": "TAP33-KIT", "qty": 200000000}]') AS id;

SELECT lives_ok($$SELECT count(*) FROM erp.allocate((SELECT id FROM tap33_order))$$,
    'an order of 200,000,000 kits that capture accepted and atp promised is allocated, not refused with IE004 for 2,000,000,000 parts');
SELECT is((SELECT qty_allocated FROM erp.order_line WHERE order_id = (SELECT id FROM tap33_order)), 200000000::bigint,
    'the kit line is allocated in full');
SELECT is_empty($$SELECT * FROM erp.verify()$$, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
