-- A rule of one's own that names a condition and refunds on receipt pays at
-- inspection (only then does the rule match); the returns engine owns the
-- transitions that finish an RMA's units.
BEGIN;
SELECT plan(4);
INSERT INTO erp.item (sku, unit_price, category) VALUES ('TAP08-CUP', 10, 'tap08');
INSERT INTO erp.node (code) VALUES ('TAP08-DC');
INSERT INTO erp.channel (code) VALUES ('TAP08-WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE c.code = 'TAP08-WEB' AND n.code = 'TAP08-DC';
INSERT INTO erp.disposition_rule (priority, category, condition, disposition, refund_policy)
VALUES (10, 'tap08', 'opened', 'restock', 'on_receipt');
SELECT erp.receive('TAP08-CUP', 'TAP08-DC', 5);
CREATE TEMP TABLE tap08 AS SELECT erp.capture_order('TAP08-WEB', 'TAP08-1', '[{"sku": "TAP08-CUP", "qty": 2}]') AS o;
SELECT count(*) FROM tap08, LATERAL erp.allocate(o);
SELECT erp.pick(o, 'TAP08-CUP', 2), erp.pack(o), erp.ship(o) FROM tap08;
CREATE TEMP TABLE tap08r AS SELECT erp.authorize_return(o, '[{"sku": "TAP08-CUP", "qty": 2, "reason": "changed_mind"}]') AS r FROM tap08;
SELECT erp.receive_return(r) FROM tap08r;
SELECT is(erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = (SELECT r FROM tap08r)), 'opened'),
    'restock'::erp.disposition, 'the custom rule routes the opened cups');
SELECT results_eq($$SELECT refund_amount, refund_status::text FROM erp.rma_line WHERE rma_id = (SELECT r FROM tap08r)$$,
    $$VALUES (20.00::numeric, 'approved')$$,
    'an on_receipt rule that only inspection can match pays at inspection, or the refund would never be due');
SELECT throws_ok($$SELECT erp.move('TAP08-CUP', 'TAP08-DC', 1, 'refurbish', 'available', 'refurbished')$$, 'IE002', NULL,
    'refurbished units are released by erp.complete_refurbish, not erp.move, or an RMA line could never finish');
SELECT throws_ok($$INSERT INTO erp.reason_code (code, builtin) VALUES ('tap08', true)$$, 'IE010',
    'rows of reason_code shipped with inventory_erp cannot be added, changed or deleted',
    'a row cannot be made builtin by hand, or it would be lost on restore');
SELECT * FROM finish();
ROLLBACK;
