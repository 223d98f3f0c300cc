-- ledger: a day in a small warehouse, told through the stock ledger (SPEC.md 1-4).
--
-- A distribution centre and a store open their books, put stock on hold and
-- release it, write off damage, send a transfer to the store (one unit is lost
-- on the way), correct a count and receive two lots of a lot-tracked item; the
-- stock picture is shown before and after.  Then every kind of refused call
-- the ledger knows is tried: each refusal shows its message, its SQLSTATE
-- (psql's LAST_ERROR_SQLSTATE) and, right after, proof that nothing changed.  The day ends with erp.verify() finding no
-- inconsistency.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;

\set VERBOSITY default
\set SHOW_CONTEXT never

-- The stock picture per sku and node, in the states this day touches.
\set picture 'SELECT sku, node, available, quarantined, damaged, in_transit, on_hand, inbound, atp FROM erp.availability ORDER BY sku, node;'
-- Every non-zero balance, per lot (summed over the balance's slots).
\set balances 'SELECT i.sku, n.code AS node, l.lot_code AS lot, b.state, sum(b.qty) AS qty FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id LEFT JOIN erp.lot l ON l.lot_id = b.lot_id GROUP BY 1, 2, 3, 4 HAVING sum(b.qty) <> 0 ORDER BY 1, 2, 3, 4;'
-- How long the ledger is.
\set ledger 'SELECT count(*) AS moves, coalesce(sum(qty), 0) AS units_moved FROM erp.stock_move;'

------------------------------------------------------------------------------
-- Master data: three items (one with a barcode, one kept per lot) and two nodes
------------------------------------------------------------------------------
INSERT INTO erp.item (sku, gtin, title, unit_cost, unit_price)
VALUES ('TEE-M', '4006381333931', 'Organic tee, size M', 6.50, 19.90);
INSERT INTO erp.item (sku, title, unit_cost, unit_price)
VALUES ('MUG', 'Stoneware mug', 3.10, 12.00);
INSERT INTO erp.item (sku, title, lot_tracked, unit_cost, unit_price)
VALUES ('VITC-60', 'Vitamin C, 60 tablets', true, 2.00, 8.50);
INSERT INTO erp.node (code, name, kind)
VALUES ('DC-EAST', 'East distribution centre', 'warehouse'),
       ('STORE-01', 'High Street store', 'store');
SELECT sku, gtin, lot_tracked FROM erp.item ORDER BY sku;

-- Before the first receipt the ledger is empty and nothing is anywhere.
:ledger
:picture

------------------------------------------------------------------------------
-- 07:00 opening balances
------------------------------------------------------------------------------
SELECT erp.receive('TEE-M', 'DC-EAST', 100, ref => 'opening');
SELECT erp.receive('MUG', 'DC-EAST', 24, ref => 'opening');
:picture

------------------------------------------------------------------------------
-- 08:00 quality: six tees look off-colour and go on hold; four are fine after all
------------------------------------------------------------------------------
SELECT erp.move('TEE-M', 'DC-EAST', 6, 'available', 'quarantined', 'hold', ref => 'qc:1');
SELECT erp.move('TEE-M', 'DC-EAST', 4, 'quarantined', 'available', 'release_hold', ref => 'qc:1');

-- 08:30 a forklift tears two tees
SELECT erp.move('TEE-M', 'DC-EAST', 2, 'available', 'damaged', 'damage', ref => 'incident:7');
:picture

------------------------------------------------------------------------------
-- 09:00 the store is restocked: 30 tees leave the DC and are in transit to it
------------------------------------------------------------------------------
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-01', 30) AS transfer \gset
-- the units are no longer at the DC, and are inbound (not yet on hand) at the store
:picture

-- 13:00 the van arrives: the transfer is booked in at the store.  One tee fell
-- off on the way: the units in transit belong to the transfer, so it is
-- received whole and the store's count writes the lost tee off.
SELECT erp.receive_transfer(:transfer);
SELECT erp.count('TEE-M', 'STORE-01', 29);
:picture

------------------------------------------------------------------------------
-- 14:00 a cycle count finds one mug missing: adjusted out
------------------------------------------------------------------------------
SELECT erp.move('MUG', 'DC-EAST', 1, 'available', NULL, 'adjust', ref => 'count:1');

------------------------------------------------------------------------------
-- 15:00 two lots of vitamin C arrive; the lots are created on receipt
------------------------------------------------------------------------------
SELECT erp.receive('VITC-60', 'DC-EAST', 50, 'L2031-03', '2031-03-31', ref => 'po:11');
SELECT erp.receive('VITC-60', 'DC-EAST', 40, 'L2031-09', '2031-09-30', ref => 'po:12');
-- a second receipt into an existing lot adds to it
SELECT erp.receive('VITC-60', 'DC-EAST', 10, 'L2031-03', '2031-03-31', ref => 'po:13');
SELECT l.lot_code, to_char(l.expires_on, 'YYYY-MM-DD') AS expires_on FROM erp.lot l JOIN erp.item i ON i.item_id = l.item_id
 WHERE i.sku = 'VITC-60' ORDER BY l.lot_code;
-- three units of the older lot are held for a supplier recall check
SELECT erp.move('VITC-60', 'DC-EAST', 3, 'available', 'quarantined', 'hold', 'L2031-03', 'recall:2');

------------------------------------------------------------------------------
-- End of the day's work: the picture, the balances per lot and the ledger
------------------------------------------------------------------------------
:picture
:balances
SELECT m.move_id, i.sku, l.lot_code AS lot, m.qty,
       fn.code AS from_node, m.from_state, tn.code AS to_node, m.to_state,
       m.event, m.ref, m.actor
  FROM erp.stock_move m
  JOIN erp.item i ON i.item_id = m.item_id
  LEFT JOIN erp.lot l ON l.lot_id = m.lot_id
  LEFT JOIN erp.node fn ON fn.node_id = m.from_node_id
  LEFT JOIN erp.node tn ON tn.node_id = m.to_node_id
 ORDER BY m.move_id;
:ledger

------------------------------------------------------------------------------
-- What the ledger refuses.  Each refusal: the error, its SQLSTATE, then proof
-- that the balances and the ledger are exactly as above.
------------------------------------------------------------------------------

-- IE002: tees cannot be packed straight from the shelf (no pick, no order)
SELECT erp.move('TEE-M', 'DC-EAST', 1, 'available', 'packed', 'pack');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: the right states under the wrong event
SELECT erp.move('TEE-M', 'DC-EAST', 1, 'available', 'damaged', 'hold');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: a receipt cannot land straight in reserved
SELECT erp.receive('MUG', 'DC-EAST', 5, state => 'reserved');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: damage is not a transfer, so it cannot take stock to another node
SELECT erp.move('TEE-M', 'DC-EAST', 1, 'available', 'damaged', 'damage', to_node => 'STORE-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: units in transit belong to their transfer: a generic move neither sends
-- them (erp.transfer does), nor books them in, nor writes them off on the way
SELECT erp.move('TEE-M', 'DC-EAST', 1, 'available', 'in_transit', 'transfer_out', to_node => 'STORE-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('TEE-M', 'STORE-01', 1, 'in_transit', NULL, 'adjust', ref => 'lost');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE002: a receipt of a new lot into a state receipts cannot reach; the lot
-- the receipt would have created is not left behind either
SELECT erp.receive('VITC-60', 'DC-EAST', 5, 'L2032-01', '2032-01-31', state => 'incoming');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger
SELECT count(*) AS lots FROM erp.lot;

-- IE001: the DC has 66 tees available, not 67
SELECT erp.move('TEE-M', 'DC-EAST', 67, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE001: two tees are damaged; disposing of three is refused
SELECT erp.move('TEE-M', 'DC-EAST', 3, 'damaged', NULL, 'dispose');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE001: the store never had any quarantined stock
SELECT erp.move('TEE-M', 'STORE-01', 1, 'quarantined', 'available', 'release_hold');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE001: 97 vitamin C are available in all, but lot L2031-09 holds only 40
SELECT erp.move('VITC-60', 'DC-EAST', 41, 'available', 'damaged', 'damage', 'L2031-09');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger

-- IE004: zero and negative quantities, in a receipt and in a move
SELECT erp.receive('MUG', 'DC-EAST', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive('MUG', 'DC-EAST', -5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('MUG', 'DC-EAST', 0, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('MUG', 'DC-EAST', -1, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE004: one call moves at most a billion units
SELECT erp.receive('MUG', 'DC-EAST', 1000000001);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger

-- IE003: a sku, a node and a lot nobody created; a lot-tracked item without its lot
SELECT erp.receive('HAT-L', 'DC-EAST', 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('TEE-M', 'DC-WEST', 1, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-99', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive('VITC-60', 'DC-EAST', 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('VITC-60', 'DC-EAST', 1, 'available', 'damaged', 'damage');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.move('VITC-60', 'DC-EAST', 1, 'available', 'damaged', 'damage', 'L2099-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- IE003: and a lot given for an item that is not kept per lot
SELECT erp.move('MUG', 'DC-EAST', 1, 'available', 'damaged', 'damage', 'L2031-03');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger
SELECT count(*) AS lots FROM erp.lot;

-- IE006: a barcode with a wrong check digit cannot be put on an item
INSERT INTO erp.item (sku, gtin, title) VALUES ('TEE-L', '4006381333932', 'Organic tee, size L');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.item SET gtin = '4006381333930' WHERE sku = 'TEE-M';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT sku, gtin FROM erp.item ORDER BY sku;

-- IE005: the ledger is append-only
UPDATE erp.stock_move SET qty = 1 WHERE event = 'damage';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.stock_move WHERE event = 'adjust';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE erp.stock_move;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:ledger

-- IE005: balances are derived from the ledger, never written directly: neither
-- the view erp.stock_balance nor the slots it sums (erp.stock_slot); a view
-- cannot be truncated at all (PostgreSQL's own 42809), its table can't either
INSERT INTO erp.stock_balance (item_id, node_id, state, qty)
SELECT item_id, node_id, 'available', 1000 FROM erp.availability WHERE sku = 'MUG';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.stock_balance SET qty = qty + 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.stock_balance WHERE state = 'damaged';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE erp.stock_balance;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.stock_slot (item_id, node_id, slot, available)
SELECT item_id, node_id, 99, 1000 FROM erp.availability WHERE sku = 'MUG';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE erp.stock_slot SET available = available + 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM erp.stock_slot WHERE damaged > 0;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE erp.stock_slot;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger

-- IE004: every text is bounded (in 0.2.0 a 200 kB ref crashed the server)
SELECT erp.receive('MUG', 'DC-EAST', 1, ref => repeat('x', 200000));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive('VITC-60', 'DC-EAST', 1, '', '2031-03-31');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive('VITC-60', 'DC-EAST', 1, 'L2099-01', 'infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.receive(NULL, 'DC-EAST', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- IE005: rows of the ledger are appended only by the stock kernel: a direct row,
-- with an id the ledger never issued or without one, is refused and changes no
-- balance; only a superuser's pg_restore in restore mode reloads history
INSERT INTO erp.stock_move (move_id, item_id, qty, to_node_id, to_state, event) OVERRIDING SYSTEM VALUE
SELECT 1000000, item_id, 500, node_id, 'available', 'receive' FROM erp.availability WHERE sku = 'MUG';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.stock_move (item_id, qty, to_node_id, to_state, event)
SELECT item_id, 500, node_id, 'available', 'receive' FROM erp.availability WHERE sku = 'MUG';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:balances
:ledger

-- IE010: the states documents own are theirs alone, and the state machine stays
INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('available', 'reserved', 'set_aside');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('in_transit', 'available', 'found');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE erp.state_transition;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS transitions FROM erp.state_transition;
:balances
:ledger
SELECT count(*) AS lots FROM erp.lot;

------------------------------------------------------------------------------
-- Closing: the picture is unchanged by the refusals, and the books balance
------------------------------------------------------------------------------
:picture
SELECT * FROM erp.verify();
