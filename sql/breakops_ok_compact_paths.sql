-- breakops_ok_compact_paths: every path of erp.compact_slots() in one session
-- (also run under valgrind: TESTS=breakops_ok_compact make valgrind):
-- refusals (max_rows 0 or negative: IE004; REPEATABLE READ / SERIALIZABLE:
-- IE010; nothing deleted), max_rows NULL (the default), max_rows 1, a slot
-- this very transaction owns (skipped: StockTagHeld), a slot emptied and
-- refilled in the same transaction (not empty: stays), a rolled back
-- compaction (the rows come back), and the kernel writing a compacted balance
-- again.  Balances never change; erp.verify() stays empty.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

INSERT INTO erp.item (sku, title) VALUES ('A', 'a'), ('B', 'b'), ('C', 'c'), ('D', 'd');
INSERT INTO erp.node (code) VALUES ('DC-1');
SELECT erp.receive(sku, 'DC-1', 4) > 0 AS received FROM erp.item ORDER BY sku;
SELECT erp.move(sku, 'DC-1', 4, 'available', NULL, 'adjust') > 0 AS emptied FROM erp.item WHERE sku <> 'D' ORDER BY sku;
\set slots 'SELECT i.sku, count(*) AS rows, sum(s.available) AS available FROM erp.stock_slot s JOIN erp.item i USING (item_id) GROUP BY i.sku ORDER BY i.sku;'
:slots

-- refused, nothing deleted
SELECT erp.compact_slots(0);
SELECT erp.compact_slots(-5);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT erp.compact_slots();
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT erp.compact_slots(1);
ROLLBACK;
:slots

-- rolled back: the rows come back
BEGIN;
SELECT erp.compact_slots(NULL) AS compacted;
ROLLBACK;
:slots

-- this transaction owns A's slot (it wrote it) and refills/empties it: skipped;
-- max_rows counts the candidates read, not the rows deleted: with max_rows 1
-- the one candidate is A's (the first by key), skipped, so nothing goes
-- (noted in the report); without a limit B's and C's go
BEGIN;
SELECT erp.receive('A', 'DC-1', 1) > 0 AS a_received;
SELECT erp.move('A', 'DC-1', 1, 'available', NULL, 'adjust') > 0 AS a_emptied;
SELECT erp.compact_slots(1) AS compacted;
SELECT erp.compact_slots() AS compacted;
COMMIT;
:slots
-- A's row now goes
SELECT erp.compact_slots(NULL) AS compacted;
:slots
-- the kernel writes a compacted balance again
SELECT erp.receive('B', 'DC-1', 2) > 0 AS b_received;
SELECT erp.compact_slots() AS compacted;
:slots
SELECT count(*) AS problems FROM erp.verify();
DROP EXTENSION inventory_erp CASCADE;
