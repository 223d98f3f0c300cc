-- breakops_archive_keep_copy_null: erp.archive_ledger(upto, keep_copy => NULL)
-- deletes the closed period's ledger rows WITHOUT copying them into
-- erp.stock_move_archive, as if keep_copy were false.  The copy is the
-- default (keep_copy DEFAULT true) and doc/maintenance.md names
-- keep_copy => false as the one way to delete without a copy; a NULL (an
-- unset parameter of a client, a NULL column in a maintenance script) must
-- keep the copy or be refused (IE004) -- never lose history silently.
-- Also the close_period dates no other test gives: NULL, 'infinity', a
-- future day, the same day twice.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
RESET client_min_messages;
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never
SET DateStyle = ISO;

INSERT INTO erp.item (sku, title) VALUES ('TEE', 'tee');
INSERT INTO erp.node (code) VALUES ('DC-1');
SELECT erp.receive('TEE', 'DC-1', 10) > 0 AS received;
SELECT erp.move('TEE', 'DC-1', 2, 'available', 'damaged', 'damage') > 0 AS moved;
-- the fixture (as maint_growth): the two moves happened five days ago
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '5 days';
COMMIT;
SELECT erp.receive('TEE', 'DC-1', 1) > 0 AS received_today;

-- refused, nothing closed: NULL, infinity, today, a future day (IE004)
SELECT erp.close_period(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.close_period('infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.close_period(current_date + 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS closes FROM erp.period_close;

SELECT erp.close_period(current_date - 2) AS closed_balances;
-- the same day twice: IE010, still one close
SELECT erp.close_period(current_date - 2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS closes FROM erp.period_close;

-- keep_copy => NULL: the two moves must be in the archive (or the call refused)
SELECT erp.archive_ledger(current_date - 2, keep_copy => NULL) AS left_ledger;
SELECT (SELECT count(*) FROM erp.stock_move) AS moves,
       (SELECT count(*) FROM erp.stock_move_archive) AS archived,
       (SELECT count(*) FROM erp.stock_move) + (SELECT count(*) FROM erp.stock_move_archive) AS moves_kept_somewhere;
SELECT count(*) AS problems FROM erp.verify();

DROP EXTENSION inventory_erp CASCADE;
