-- fuzz seed: a small shop whose documents sit in every status, so that the
-- fuzz test's calls with existing ids hit documents in the wrong status for
-- the step (steps out of order).  Loaded by test/shell/fuzz.sh as superuser.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION inventory_erp;

INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, gtin) VALUES
    ('FZ-TEE', 'Tee', 'apparel', 8, 20, '4006381333931'),
    ('FZ-MUG', 'Mug', 'home', 4, 12, NULL),
    ('FZ-ZERO', 'Free sample', 'home', 0, 0, NULL);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, lot_tracked, min_shelf_life_days)
VALUES ('FZ-LOT', 'Vitamins', 'health', 3, 9, true, 10);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price, allow_backorder)
VALUES ('FZ-BACK', 'Lamp', 'home', 18, 45, true);
INSERT INTO erp.item (sku, title, category, unit_cost, unit_price) VALUES ('FZ-KIT', 'Tee and mug', 'apparel', 12, 30);
INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c WHERE k.sku = 'FZ-KIT' AND c.sku IN ('FZ-TEE', 'FZ-MUG');
INSERT INTO erp.node (code, name, kind) VALUES ('FZ-DC', 'DC', 'warehouse'), ('FZ-3PL', '3PL', '3pl');
INSERT INTO erp.channel (code, name, kind) VALUES ('FZ-WEB', 'Web', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'FZ-DC' THEN 1 ELSE 2 END FROM erp.channel c, erp.node n;
INSERT INTO erp.supplier (code, name, lead_time_days) VALUES ('FZ-SUP', 'Supplier', 7);
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, supplier_id)
SELECT i.item_id, n.node_id, 50, 100, s.supplier_id FROM erp.item i, erp.node n, erp.supplier s
 WHERE i.sku = 'FZ-MUG' AND n.code = 'FZ-DC';
-- the 3PL's own role (partner access), granted the operator's functions
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fuzz_partner') THEN CREATE ROLE fuzz_partner NOLOGIN; END IF;
END $$;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'fuzz_partner', node_id FROM erp.node WHERE code = 'FZ-3PL';

SELECT erp.receive('FZ-TEE', 'FZ-DC', 40), erp.receive('FZ-MUG', 'FZ-DC', 30), erp.receive('FZ-TEE', 'FZ-3PL', 5),
       erp.receive('FZ-ZERO', 'FZ-DC', 5),
       erp.receive('FZ-LOT', 'FZ-DC', 20, 'L1', current_date + 200), erp.receive('FZ-LOT', 'FZ-DC', 5, 'L0', current_date + 3);

-- orders 1..7: shipped, packed, picking, allocated, cancelled, backordered, open (kit)
SELECT erp.capture_order('FZ-WEB', 'FZ-1', '[{"sku": "FZ-TEE", "qty": 2}, {"sku": "FZ-MUG", "qty": 1}]');
SELECT erp.capture_order('FZ-WEB', 'FZ-2', '[{"sku": "FZ-TEE", "qty": 1}]');
SELECT erp.capture_order('FZ-WEB', 'FZ-3', '[{"sku": "FZ-TEE", "qty": 2}]');
SELECT erp.capture_order('FZ-WEB', 'FZ-4', '[{"sku": "FZ-LOT", "qty": 2}]', '{"lat": 52.5, "lon": 13.4}', 5);
SELECT erp.capture_order('FZ-WEB', 'FZ-5', '[{"sku": "FZ-MUG", "qty": 1}]');
SELECT erp.capture_order('FZ-WEB', 'FZ-6', '[{"sku": "FZ-BACK", "qty": 3}]');
SELECT erp.capture_order('FZ-WEB', 'FZ-7', '[{"sku": "FZ-KIT", "qty": 1}]');
SELECT o, (SELECT count(*) FROM erp.allocate(o)) FROM generate_series(1, 6) o;
SELECT erp.pick(1, 'FZ-TEE', 2), erp.pick(1, 'FZ-MUG'), erp.pick(2, 'FZ-TEE'), erp.pick(3, 'FZ-TEE');
SELECT erp.pack(1), erp.pack(2);
SELECT erp.ship(1, 'DHL', 'T1');
SELECT erp.cancel_order(5);

-- returns: rma 1 authorized and received (line 1 inspected), rma 2 authorized only
SELECT erp.authorize_return(1, '[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small"}, {"sku": "FZ-MUG", "qty": 1, "reason": "defective"}]');
SELECT erp.receive_return(1);
SELECT erp.inspect_return(1, 'new');
SELECT erp.authorize_return(1, '[{"sku": "FZ-TEE", "qty": 1, "reason": "changed_mind"}]');

-- purchasing and transfers: po 1 open, po 2 received; transfer 1 in transit, 2 received
SELECT erp.create_po('FZ-SUP', 'FZ-DC', '[{"sku": "FZ-BACK", "qty": 10, "unit_cost": 18}]', now() + interval '3 days');
SELECT erp.create_po('FZ-SUP', 'FZ-DC', '[{"sku": "FZ-MUG", "qty": 5, "unit_cost": 4}]', now() + interval '5 days');
SELECT erp.receive_po(2);
SELECT erp.transfer('FZ-TEE', 'FZ-DC', 'FZ-3PL', 2), erp.transfer('FZ-MUG', 'FZ-DC', 'FZ-3PL', 1);
SELECT erp.receive_transfer(2);

-- counts: one within the threshold (applied), one above it (pending approval)
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 50)
    ON CONFLICT DO NOTHING;
SELECT erp.count('FZ-MUG', 'FZ-DC', 27);
SELECT erp.count('FZ-TEE', 'FZ-DC', 10);
