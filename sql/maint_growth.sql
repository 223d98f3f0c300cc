-- maint_growth: keeping the database from growing forever (SPEC.md section 14,
-- doc/maintenance.md).  A shop with six weeks of history closes the period up
-- to ten days ago, archives the ledger before it, and erp.verify() stays
-- empty; a move dated inside the closed period is refused.  Old events every
-- consumer acknowledged are pruned, one a consumer still waits for is kept,
-- and a feed cursor older than the pruning is told to resynchronise.  Empty
-- balance slots are compacted.  Operators and partners may call none of it.
--
-- History cannot be written in the past (a move is dated when its transaction
-- begins), so the fixture ages it: as superuser, in replica mode (no guard
-- fires), it moves the dates of the first moves, events and feed changes six
-- weeks back.  Everything after the fixture goes through the functions.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_maint_ops;
DROP ROLE IF EXISTS regress_maint_admin;
RESET client_min_messages;
CREATE ROLE regress_maint_ops IN ROLE erp_operator;
CREATE ROLE regress_maint_admin IN ROLE erp_admin;

\set VERBOSITY default
\set SHOW_CONTEXT never
SET DateStyle = ISO;

-- a refusal as one line, its SQLSTATE and message with the day's dates masked
-- (the scenario closes days relative to today)
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'done';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d{4}-\d{2}-\d{2}', 'YYYY-MM-DD', 'g');
END
$$;

\set balances 'SELECT i.sku, n.code AS node, b.state, b.qty FROM erp.stock_balance b JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id) ORDER BY 1, 2, 3;'
\set sizes 'SELECT (SELECT count(*) FROM erp.stock_move) AS moves, (SELECT count(*) FROM erp.stock_move_archive) AS archived, (SELECT count(*) FROM erp.period_balance) AS closed_balances, (SELECT count(*) FROM erp.verify()) AS problems;'

INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('TEE-M', 'Organic tee, size M', 6.50, 19.90),
                                                                  ('MUG', 'Stoneware mug', 3.10, 12.00);
INSERT INTO erp.node (code, name, kind) VALUES ('DC-EAST', 'East distribution centre', 'warehouse'),
                                               ('STORE-01', 'High Street store', 'store');
INSERT INTO erp.channel (code, name, kind, priority) VALUES ('WEB', 'Web shop', 'storefront', 10);
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'WEB' AND n.code = 'DC-EAST';

------------------------------------------------------------------------------
-- Six weeks ago: opening stock and a few moves
------------------------------------------------------------------------------
SELECT erp.receive('TEE-M', 'DC-EAST', 100, ref => 'opening') > 0 AS received;
SELECT erp.receive('MUG', 'DC-EAST', 40, ref => 'opening') > 0 AS received;
SELECT erp.move('TEE-M', 'DC-EAST', 5, 'available', 'damaged', 'damage', ref => 'incident:1') > 0 AS moved;
SELECT erp.receive_transfer(erp.transfer('MUG', 'DC-EAST', 'STORE-01', 10)) IS NOT NULL AS transferred;
INSERT INTO erp.event (kind, payload) VALUES ('low_stock', '{"n": 1}');
INSERT INTO erp.event (kind, payload) VALUES ('low_stock', '{"n": 2}');
INSERT INTO erp.event (kind, payload) VALUES ('low_stock', '{"n": 3}');
-- a feed takes its cursor now (six weeks ago, once aged); then a stock policy
-- changes (a feed change)
SELECT next_since AS old_cursor FROM erp.channel_availability_changes('WEB') LIMIT 1 \gset
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point, order_up_to, lead_time_days)
SELECT i.item_id, n.node_id, 2, 10, 50, 7 FROM erp.item i, erp.node n WHERE i.sku = 'MUG' AND n.code = 'DC-EAST';

-- the fixture: six weeks back
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '42 days';
UPDATE erp.event SET at = at - interval '42 days';
UPDATE erp.event_commit SET committed_at = committed_at - interval '42 days';
UPDATE erp.feed_change SET changed_at = changed_at - interval '42 days';
COMMIT;

------------------------------------------------------------------------------
-- Today: more business
------------------------------------------------------------------------------
SELECT erp.move('TEE-M', 'DC-EAST', 2, 'damaged', NULL, 'dispose', ref => 'incident:1') > 0 AS moved;
SELECT erp.receive('MUG', 'DC-EAST', 12, ref => 'po:2') > 0 AS received;
INSERT INTO erp.event (kind, payload) VALUES ('low_stock', '{"n": 4}');
:balances
:sizes

------------------------------------------------------------------------------
-- Closing the period up to ten days ago, then archiving the ledger before it
------------------------------------------------------------------------------
-- refused: today cannot be closed (IE004)
SELECT pg_temp.try('SELECT erp.close_period(current_date)');
-- refused: a day that is no calendar day of the business (IE004)
SELECT erp.close_period('-infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.close_period('1900-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- refused: an operator may not close a period (42501), nor archive
SET ROLE regress_maint_ops;
SELECT erp.close_period(current_date - 10);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.archive_ledger(current_date - 10);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- refused: nothing is closed yet, so nothing may be archived (IE010)
SELECT pg_temp.try('SELECT erp.archive_ledger(current_date - 10)');
:sizes

SET ROLE regress_maint_admin;
-- four balances at the cut: TEE-M available 95 and damaged 5, MUG 30 at DC-EAST and 10 at the store
SELECT erp.close_period(current_date - 10) AS closed_balances;
SELECT i.sku, n.code AS node, b.state, b.qty, b.value
  FROM erp.period_balance b JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id) ORDER BY 1, 2, 3;
-- refused: the same day again, or an earlier one (IE010)
SELECT pg_temp.try('SELECT erp.close_period(current_date - 11)');
:sizes
-- the five moves before the cut (two receipts, the damage, the transfer out and
-- in) leave the ledger for the archive
SELECT erp.archive_ledger(current_date - 10) AS archived;
RESET ROLE;
:sizes
-- the balances did not change; erp.verify() starts from the closed period
:balances
SELECT * FROM erp.verify();
-- and a balance that no longer matches is still found: the check did not go blind
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.period_balance SET qty = qty + 1 WHERE state = 'damaged';
SELECT problem, state, expected, actual FROM erp.verify();
ROLLBACK;

-- a transaction that began before the cut and writes after the close: its
-- move is dated inside the closed period but counts in the open one (the close
-- took every move up to the highest move_id it saw).  The fixture dates a new
-- receipt back to before the cut to be that transaction.
SELECT erp.receive('MUG', 'DC-EAST', 1, ref => 'late') AS late_move \gset
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = (SELECT cut FROM erp.period_close) - interval '1 minute' WHERE move_id = :late_move;
COMMIT;
SELECT count(*) AS problems FROM erp.verify();
-- archiving again leaves it in the ledger: it is not part of the closed period
SELECT erp.archive_ledger(current_date - 10) AS archived;
SELECT count(*) AS late_move_kept FROM erp.stock_move WHERE move_id = :late_move;
-- a direct INSERT into the ledger, dated in the closed period or not, is refused (IE005)
INSERT INTO erp.stock_move (item_id, qty, to_node_id, to_state, event, at)
SELECT i.item_id, 1, n.node_id, 'available', 'receive', current_date - 20
  FROM erp.item i, erp.node n WHERE i.sku = 'MUG' AND n.code = 'DC-EAST';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
:sizes

------------------------------------------------------------------------------
-- Pruning events: what every consumer acknowledged, and nothing else
------------------------------------------------------------------------------
-- consumer "erp-sync" acknowledges the first two old events; "bi" the first three
SELECT count(*) AS read FROM erp.read_events('erp-sync', 2);
SELECT cursor AS sync_cursor FROM erp.read_events('erp-sync', 2) ORDER BY commit_seq DESC, event_id DESC LIMIT 1 \gset
SELECT erp.ack_events('erp-sync', :'sync_cursor');
SELECT cursor AS bi_cursor FROM erp.read_events('bi', 3) ORDER BY commit_seq DESC, event_id DESC LIMIT 1 \gset
SELECT erp.ack_events('bi', :'bi_cursor');
SELECT kind, payload FROM erp.event ORDER BY event_id;
-- refused: an operator may not prune (42501); a negative retention is refused (IE004)
SET ROLE regress_maint_ops;
SELECT erp.prune_events('30 days');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT erp.prune_events('-1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET ROLE regress_maint_admin;
-- two old events both consumers acknowledged go; the third ("bi" only) and today's stay
SELECT erp.prune_events('30 days') AS pruned;
RESET ROLE;
SELECT kind, payload FROM erp.event ORDER BY event_id;
-- the consumers go on where they were
SELECT payload FROM erp.read_events('erp-sync');
SELECT payload FROM erp.read_events('bi');
-- no stamp without events is left but the newest; no old feed change is left
SELECT count(*) AS stamps_without_events FROM erp.event_commit s
 WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id = s.txn_id)
   AND s.commit_seq < (SELECT max(commit_seq) FROM erp.event_commit);
SELECT count(*) AS old_feed_changes FROM erp.feed_change WHERE changed_at < now() - interval '30 days';
-- the feed's cursor from six weeks ago is refused (IE010): resynchronise
SELECT * FROM erp.channel_availability_changes('WEB', :'old_cursor');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) > 0 AS resynchronised FROM erp.channel_availability_changes('WEB');
-- pruning again finds nothing more
SELECT erp.prune_events('30 days') AS pruned;

------------------------------------------------------------------------------
-- Compacting empty balance slots
------------------------------------------------------------------------------
-- the store's MUG balance emptied: its slot row has nothing left
SELECT erp.move('MUG', 'STORE-01', 10, 'available', NULL, 'adjust', ref => 'count:9') > 0 AS moved;
SELECT count(*) AS empty_slots FROM erp.stock_slot
 WHERE incoming = 0 AND in_transit = 0 AND return_pending = 0 AND available = 0 AND reserved = 0
   AND picked = 0 AND packed = 0 AND inspection = 0 AND quarantined = 0 AND damaged = 0
   AND refurbish = 0 AND vendor_return = 0;
SELECT count(*) AS slots FROM erp.stock_slot;
SET ROLE regress_maint_ops;
SELECT erp.compact_slots();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET ROLE regress_maint_admin;
SELECT erp.compact_slots(0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT erp.compact_slots() AS compacted;
RESET ROLE;
SELECT count(*) AS slots FROM erp.stock_slot;
:balances
-- the store's balance comes back with the next receipt
SELECT erp.receive('MUG', 'STORE-01', 3, ref => 'po:3') > 0 AS received;
SELECT count(*) AS problems FROM erp.verify();

DROP ROLE regress_maint_ops;
DROP ROLE regress_maint_admin;
