-- breakops_ok_maint_access: a reader, an operator, an approver (an operator
-- with the right to approve) and a partner (an operator with node access)
-- may call none of the maintenance functions: each call is refused with
-- 42501 and nothing changed (no close, no archived move, no pruned event, no
-- compacted slot).  An administrator may.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_bo_reader;
DROP ROLE IF EXISTS regress_bo_ops;
DROP ROLE IF EXISTS regress_bo_approver;
DROP ROLE IF EXISTS regress_bo_partner;
DROP ROLE IF EXISTS regress_bo_admin;
RESET client_min_messages;
CREATE ROLE regress_bo_reader IN ROLE erp_reader;
CREATE ROLE regress_bo_ops IN ROLE erp_operator;
CREATE ROLE regress_bo_approver IN ROLE erp_approver;
CREATE ROLE regress_bo_partner IN ROLE erp_operator;
CREATE ROLE regress_bo_admin IN ROLE erp_admin;
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

INSERT INTO erp.item (sku, title) VALUES ('TEE', 'tee');
INSERT INTO erp.node (code) VALUES ('DC-1');
INSERT INTO erp.node_access (role_name, node_id) SELECT 'regress_bo_partner', node_id FROM erp.node;
SELECT erp.receive('TEE', 'DC-1', 3) > 0 AS received;
SELECT erp.move('TEE', 'DC-1', 3, 'available', NULL, 'adjust') > 0 AS emptied;
INSERT INTO erp.event (kind, payload) VALUES ('bo', '{}');
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '3 days';
UPDATE erp.event SET at = at - interval '3 days';
COMMIT;

CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT format('closes %s, moves %s, archived %s, events %s, slots %s, cron %s',
                  (SELECT count(*) FROM erp.period_close), (SELECT count(*) FROM erp.stock_move),
                  (SELECT count(*) FROM erp.stock_move_archive), (SELECT count(*) FROM erp.event),
                  (SELECT count(*) FROM erp.stock_slot), 'n/a')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.state() TO PUBLIC;
SELECT pg_temp.state();

CREATE FUNCTION pg_temp.try_all(r text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY ARRAY['SELECT erp.close_period(current_date - 1)',
                             'SELECT erp.archive_ledger(current_date - 1)',
                             'SELECT erp.archive_ledger(current_date - 1, false)',
                             'SELECT erp.prune_events(''0 seconds'')',
                             'SELECT erp.compact_slots()',
                             'SELECT erp.schedule_jobs()',
                             'SELECT erp.unschedule_jobs()'] LOOP
        BEGIN
            EXECUTE format('SET LOCAL ROLE %I', r);
            EXECUTE c;
            RESET ROLE;
            RETURN NEXT r || ': ' || c || ' -> allowed';
        EXCEPTION WHEN OTHERS THEN
            RETURN NEXT r || ': ' || c || ' -> ' || SQLSTATE;
        END;
    END LOOP;
    RESET ROLE;
END
$$;
SELECT pg_temp.try_all('regress_bo_reader');
SELECT pg_temp.try_all('regress_bo_ops');
SELECT pg_temp.try_all('regress_bo_approver');
SELECT pg_temp.try_all('regress_bo_partner');
SELECT pg_temp.state();

-- an administrator may (and something changes)
SET ROLE regress_bo_admin;
SELECT erp.close_period(current_date - 1) AS closed_balances;
SELECT erp.archive_ledger(current_date - 1) AS archived;
SELECT erp.prune_events('0 seconds') AS pruned;
SELECT erp.compact_slots() AS compacted;
RESET ROLE;
SELECT pg_temp.state();

DROP EXTENSION inventory_erp CASCADE;
DROP ROLE regress_bo_reader, regress_bo_ops, regress_bo_approver, regress_bo_partner, regress_bo_admin;
