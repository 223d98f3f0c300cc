-- partner_access: a third-party logistics partner works in the shop's database
-- (SPEC.md section 8: partner access; sections 1 and 4 for the refusals).
--
-- The shop runs its own warehouse DC-MAIN and hands the marketplace business to
-- a 3PL at 3PL-NORTH.  Both nodes hold stock, a purchase order, open and shipped
-- orders, a return and a count.  The 3PL's database role regress_3pl is an
-- operator listed in erp.node_access for 3PL-NORTH only; the shop's own operator
-- regress_ops is not listed.  As regress_3pl, every table and view that carries
-- node data shows only 3PL-NORTH's rows; the 3PL receives, moves, picks, packs,
-- ships, counts and sends a transfer at its node; anything that would move stock
-- at DC-MAIN is refused with IE009 naming the role and the node, and changes
-- nothing; writing a table directly is refused by PostgreSQL itself (42501).
-- As regress_ops everything is visible.  The day ends with erp.verify()
-- finding no inconsistency, and the roles (and their node_access rows, which
-- are data and outlive a role) are removed.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_3pl;
DROP ROLE IF EXISTS regress_ops;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE regress_3pl;
GRANT erp_operator TO regress_3pl;
CREATE ROLE regress_ops;
GRANT erp_operator TO regress_ops;

------------------------------------------------------------------------------
-- Master data: two items, the shop's warehouse and the 3PL's, a webshop served
-- by the warehouse and a marketplace served by the 3PL
------------------------------------------------------------------------------
INSERT INTO erp.item (sku, title, unit_cost, unit_price)
VALUES ('TEE-M', 'Organic tee, size M', 6.50, 19.90),
       ('MUG', 'Stoneware mug', 3.10, 12.00);
INSERT INTO erp.node (code, name, kind)
VALUES ('DC-MAIN', 'Own distribution centre', 'warehouse'),
       ('3PL-NORTH', 'Northern 3PL site', '3pl');
INSERT INTO erp.channel (code, name, kind) VALUES ('WEB', 'Webshop', 'storefront'), ('MKT', 'Marketplace', 'marketplace');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c JOIN erp.node n
    ON (c.code, n.code) IN (('WEB', 'DC-MAIN'), ('MKT', '3PL-NORTH'));
INSERT INTO erp.supplier (code, name) VALUES ('ACME', 'Acme Apparel');
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, supplier_id)
SELECT i.item_id, n.node_id, 10, 60, s.supplier_id FROM erp.item i, erp.node n, erp.supplier s WHERE i.sku = 'TEE-M';

------------------------------------------------------------------------------
-- The business so far, at both nodes (as the superuser setting it up)
------------------------------------------------------------------------------
SELECT count(erp.receive(v.sku, v.node, v.qty, ref => 'opening')) AS receipts
  FROM (VALUES ('TEE-M', 'DC-MAIN', 50), ('MUG', 'DC-MAIN', 20),
               ('TEE-M', '3PL-NORTH', 40), ('MUG', '3PL-NORTH', 10)) v(sku, node, qty);
SELECT erp.create_po('ACME', 'DC-MAIN', '[{"sku": "TEE-M", "qty": 30}]', now() + interval '7 days') AS dc_po,
       erp.create_po('ACME', '3PL-NORTH', '[{"sku": "TEE-M", "qty": 20}]', now() + interval '7 days') AS north_po;
-- a shipped order and an open one at each node
CREATE FUNCTION pg_temp.order_at(p_channel text, p_ref text, p_qty bigint, p_ship boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order(p_channel, p_ref, jsonb_build_array(
                    jsonb_build_object('sku', 'TEE-M', 'qty', p_qty, 'unit_price', 19.90)));
BEGIN
    PERFORM erp.allocate(o);
    IF p_ship THEN
        PERFORM erp.pick(o, 'TEE-M', p_qty);
        PERFORM erp.pack(o);
        PERFORM erp.ship(o);
    END IF;
    RETURN o;
END
$$;
SELECT pg_temp.order_at('WEB', 'W-1', 2, true) AS w1, pg_temp.order_at('WEB', 'W-2', 3, false) AS w2,
       pg_temp.order_at('MKT', 'M-1', 4, true) AS m1, pg_temp.order_at('MKT', 'M-2', 5, false) AS m2;
-- each shipped order sends one unit back
SELECT erp.authorize_return(1, '[{"sku": "TEE-M", "qty": 1, "reason": "too_small"}]') AS w1_rma,
       erp.authorize_return(3, '[{"sku": "TEE-M", "qty": 1, "reason": "too_small"}]') AS m1_rma;
-- a count at each node, each finding a mug missing
SELECT erp.count('MUG', 'DC-MAIN', 19) AS dc_count, erp.count('MUG', '3PL-NORTH', 9) AS north_count;
-- the shop's warehouse sends 5 tees to the 3PL
SELECT erp.transfer('TEE-M', 'DC-MAIN', '3PL-NORTH', 5) AS transfer_id;

-- What a role sees, relation by relation: the nodes (or orders) of its visible
-- rows and how many rows.  The view runs as the querying role, so row level
-- security applies as it would to the role's own queries.
CREATE TEMP VIEW seen WITH (security_invoker = true) AS
          SELECT 1 AS n, 'stock_balance' AS relation, string_agg(DISTINCT x.code, ',') AS nodes_or_orders, count(*) AS rows
            FROM erp.stock_balance b JOIN erp.node x ON x.node_id = b.node_id
UNION ALL SELECT 2, 'stock_move', string_agg(DISTINCT CASE WHEN f.code <> t.code THEN f.code || '->' || t.code
                                                          ELSE coalesce(f.code, t.code) END, ','), count(*)
            FROM erp.stock_move m LEFT JOIN erp.node f ON f.node_id = m.from_node_id
            LEFT JOIN erp.node t ON t.node_id = m.to_node_id
UNION ALL SELECT 3, 'reservation', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.reservation r JOIN erp.node x ON x.node_id = r.node_id
UNION ALL SELECT 4, 'sales_order', string_agg(o.external_ref, ',' ORDER BY o.external_ref), count(*)
            FROM erp.sales_order o
UNION ALL SELECT 5, 'order_line', string_agg(o.external_ref, ',' ORDER BY o.external_ref), count(*)
            FROM erp.order_line l JOIN erp.sales_order o ON o.order_id = l.order_id
UNION ALL SELECT 6, 'shipment', string_agg(o.external_ref, ',' ORDER BY o.external_ref), count(*)
            FROM erp.shipment s JOIN erp.sales_order o ON o.order_id = s.order_id
UNION ALL SELECT 7, 'shipment_line', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.shipment_line s JOIN erp.node x ON x.node_id = s.node_id
UNION ALL SELECT 8, 'transfer', string_agg(DISTINCT f.code || '->' || t.code, ','), count(*)
            FROM erp.transfer r JOIN erp.node f ON f.node_id = r.from_node_id JOIN erp.node t ON t.node_id = r.to_node_id
UNION ALL SELECT 9, 'purchase_order', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.purchase_order p JOIN erp.node x ON x.node_id = p.node_id
UNION ALL SELECT 10, 'rma_line', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.rma_line r JOIN erp.node x ON x.node_id = r.node_id
UNION ALL SELECT 11, 'cycle_count', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.cycle_count c JOIN erp.node x ON x.node_id = c.node_id
UNION ALL SELECT 12, 'adjustment', string_agg(DISTINCT x.code, ','), count(*)
            FROM erp.adjustment a JOIN erp.node x ON x.node_id = a.node_id
UNION ALL SELECT 13, 'availability (view)', string_agg(DISTINCT a.node, ','), count(*)
            FROM erp.availability a;
GRANT SELECT ON seen TO PUBLIC;
\set seen 'SELECT relation, nodes_or_orders, rows FROM seen ORDER BY n;'
-- The stock picture, per sku and node, as the current role sees it.
\set picture 'SELECT sku, node, available, reserved, picked, packed, incoming, in_transit, return_pending, on_hand, inbound FROM erp.availability ORDER BY sku, node;'
-- The whole database's books, whoever asks (runs as its owner, who sees every
-- row): a refused call must leave every number as it was.  The balances are
-- summed from the slots the kernel keeps (erp.stock_slot, whose row level
-- security its superuser owner bypasses), not read through erp.stock_balance.
CREATE FUNCTION pg_temp.books() RETURNS TABLE (moves bigint, units_moved numeric, balances text, orders text,
                                               reserved numeric, pos text, transfers text, counts bigint,
                                               adjustments bigint, node_access bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT (SELECT count(*) FROM erp.stock_move),
           (SELECT coalesce(sum(qty), 0) FROM erp.stock_move),
           (SELECT string_agg(x.code || ':' || b.state || '=' || b.qty, ' ' ORDER BY x.code, b.state)
              FROM (SELECT s.node_id, q.state, sum(q.qty) AS qty FROM erp.stock_slot s
                     CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                                ('return_pending', s.return_pending), ('available', s.available),
                                                ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                                                ('inspection', s.inspection), ('quarantined', s.quarantined),
                                                ('damaged', s.damaged), ('refurbish', s.refurbish),
                                                ('vendor_return', s.vendor_return)) AS q(state, qty)
                     GROUP BY 1, 2 HAVING sum(q.qty) <> 0) b
              JOIN erp.node x ON x.node_id = b.node_id),
           (SELECT string_agg(external_ref || '=' || status, ' ' ORDER BY external_ref) FROM erp.sales_order),
           (SELECT coalesce(sum(qty), 0) FROM erp.reservation),
           (SELECT string_agg(purchase_order_id || '=' || status, ' ' ORDER BY purchase_order_id) FROM erp.purchase_order),
           (SELECT string_agg(transfer_id || '=' || status, ' ' ORDER BY transfer_id) FROM erp.transfer),
           (SELECT count(*) FROM erp.cycle_count),
           (SELECT count(*) FROM erp.adjustment),
           (SELECT count(*) FROM erp.node_access)
$$;
\set books 'SELECT * FROM pg_temp.books();'

-- Before anyone is listed in erp.node_access, every operator sees everything
SET ROLE regress_3pl;
:seen
RESET ROLE;

------------------------------------------------------------------------------
-- The shop lists the 3PL's role for its node
------------------------------------------------------------------------------
INSERT INTO erp.node_access (role_name, node_id)
SELECT 'regress_3pl', node_id FROM erp.node WHERE code = '3PL-NORTH';
:books

------------------------------------------------------------------------------
-- As the 3PL: only 3PL-NORTH's rows, in every table and view
------------------------------------------------------------------------------
SET ROLE regress_3pl;
SELECT current_user, erp.visible_nodes() = ARRAY[(SELECT node_id FROM erp.node WHERE code = '3PL-NORTH')] AS only_north;
:seen
:picture
SELECT o.external_ref, o.status, l.qty, l.qty_allocated, l.qty_shipped FROM erp.sales_order o
  JOIN erp.order_line l ON l.order_id = o.order_id ORDER BY o.external_ref;
SELECT x.code AS node, r.qty, r.qty_received FROM erp.rma_line r JOIN erp.node x ON x.node_id = r.node_id;
-- its replenishment row is computed from its own node's stock only.  (Rows of
-- other nodes' stock policies are not pinned here: erp.stock_policy has no row
-- level security, so the view still lists them, with their stock hidden.)
SELECT sku, node, on_hand, available, inbound, backordered, reorder_point, order_up_to, suggested_qty
  FROM erp.replenishment WHERE node = '3PL-NORTH' ORDER BY sku, node;

------------------------------------------------------------------------------
-- The 3PL works at its own node
------------------------------------------------------------------------------
-- a delivery arrives for its purchase order, and the marketplace return comes back
SELECT erp.receive_po(2);
SELECT erp.receive_return(2);
-- an unplanned receipt, a hold and a release
SELECT erp.receive('MUG', '3PL-NORTH', 6, ref => 'found') > 0 AS received;
SELECT erp.move('MUG', '3PL-NORTH', 2, 'available', 'quarantined', 'hold', ref => 'qc:n1') > 0 AS held;
SELECT erp.move('MUG', '3PL-NORTH', 2, 'quarantined', 'available', 'release_hold', ref => 'qc:n1') > 0 AS released;
-- it picks, packs and ships the open marketplace order
SELECT erp.pick(4, 'TEE-M', 5);
SELECT erp.pack(4);
SELECT erp.ship(4) > 0 AS shipped;
-- a new marketplace order is captured and allocated at its node
SELECT erp.capture_order('MKT', 'M-3', '[{"sku": "MUG", "qty": 2, "unit_price": 12.00}]') AS order_id;
SELECT * FROM erp.allocate(5);
-- it counts the mugs: two more than the books say
SELECT erp.count('MUG', '3PL-NORTH', 15) > 0 AS counted;
-- the transfer from the shop's warehouse arrives at its node
SELECT erp.receive_transfer(1);
-- and it sends 3 tees back to the shop's warehouse (the units leave its node;
-- the warehouse receives them)
SELECT erp.transfer('TEE-M', '3PL-NORTH', 'DC-MAIN', 3) AS transfer_id;
-- every move is recorded as the 3PL's
SELECT m.event, x.code AS node, m.qty, m.actor FROM erp.stock_move m
  JOIN erp.node x ON x.node_id = coalesce(m.from_node_id, m.to_node_id)
 WHERE m.actor = current_user ORDER BY m.move_id;
:picture
:seen
RESET ROLE;
:books

------------------------------------------------------------------------------
-- The 3PL cannot move stock at the shop's warehouse: IE009 naming role and
-- node, and nothing changes (the books are read by their owner)
------------------------------------------------------------------------------
SET ROLE regress_3pl;
SELECT erp.receive('MUG', 'DC-MAIN', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.move('TEE-M', 'DC-MAIN', 1, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.count('MUG', 'DC-MAIN', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.transfer('TEE-M', 'DC-MAIN', '3PL-NORTH', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
-- the transfer it sent is received by the warehouse, not by the 3PL
SELECT erp.receive_transfer(2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.create_po('ACME', 'DC-MAIN', '[{"sku": "MUG", "qty": 12}]', now() + interval '7 days');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.receive_po(1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
-- the webshop's return is expected at the warehouse
SELECT erp.receive_return(1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
-- the webshop's open order W-2 is reserved at the warehouse
SELECT erp.pick(2, 'TEE-M', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
SELECT erp.cancel_order(2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
-- a webshop order, captured by the shop (the 3PL may not capture on a channel
-- none of its nodes fulfils: test/shell/partner_login.sh), is not the 3PL's
-- to allocate, nor to see
RESET ROLE;
SELECT erp.capture_order('WEB', 'W-3', '[{"sku": "TEE-M", "qty": 1, "unit_price": 19.90}]') AS order_id;
SET ROLE regress_3pl;
SELECT count(*) AS w3_seen FROM erp.sales_order WHERE external_ref = 'W-3';
SELECT * FROM erp.allocate(6);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books

------------------------------------------------------------------------------
-- Nor can it write any table directly (42501, PostgreSQL's own privileges),
-- not even to list itself for the warehouse
------------------------------------------------------------------------------
INSERT INTO erp.node_access (role_name, node_id) SELECT 'regress_3pl', node_id FROM erp.node WHERE code = 'DC-MAIN';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.node_access SET node_id = node_id;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.node_access;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.stock_balance (item_id, node_id, state, qty)
SELECT item_id, node_id, 'available', 100 FROM erp.item, erp.node WHERE sku = 'MUG' AND code = '3PL-NORTH';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.stock_balance SET qty = qty + 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.stock_slot (item_id, node_id, slot, available)
SELECT item_id, node_id, 99, 100 FROM erp.item, erp.node WHERE sku = 'MUG' AND code = '3PL-NORTH';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.stock_slot SET available = available + 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.stock_move (item_id, qty, to_node_id, to_state, event)
SELECT item_id, 100, node_id, 'available', 'receive' FROM erp.item, erp.node WHERE sku = 'MUG' AND code = '3PL-NORTH';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.sales_order SET status = 'cancelled';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.order_line SET qty_allocated = 0;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.reservation;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.purchase_order SET status = 'received';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.transfer SET status = 'received';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.adjustment SET status = 'applied';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.cycle_count;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.rma_line SET qty_received = qty;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.node (code) VALUES ('3PL-SOUTH');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.item SET unit_cost = 0;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:books
RESET ROLE;

------------------------------------------------------------------------------
-- The shop's own operator is not listed: it sees both nodes and receives the
-- 3PL's transfer at the warehouse
------------------------------------------------------------------------------
SET ROLE regress_ops;
SELECT current_user, erp.visible_nodes() IS NULL AS sees_all;
:seen
SELECT sku, node, on_hand, available, inbound, backordered, reorder_point, order_up_to, suggested_qty
  FROM erp.replenishment ORDER BY sku, node;
SELECT erp.receive_transfer(2);
SELECT erp.allocate_pending() AS orders_served;
:picture
RESET ROLE;
-- the operator cannot write tables directly either
SET ROLE regress_ops;
UPDATE erp.stock_balance SET qty = qty + 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.node_access (role_name, node_id) SELECT 'regress_ops', node_id FROM erp.node WHERE code = 'DC-MAIN';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
:books

------------------------------------------------------------------------------
-- End of the day: the books balance; the roles go, and with them their
-- node_access rows (a row naming a dropped role would grant a future role of
-- the same name)
------------------------------------------------------------------------------
SELECT * FROM erp.verify();
DELETE FROM erp.node_access WHERE role_name IN ('regress_3pl', 'regress_ops');
DROP OWNED BY regress_3pl, regress_ops;
DROP ROLE regress_3pl;
DROP ROLE regress_ops;
SELECT count(*) AS node_access_rows FROM erp.node_access;
