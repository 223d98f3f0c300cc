-- 18_maintenance: keeping the database from growing forever, and the periodic
-- work scheduled with pg_cron (doc/maintenance.md).
--   erp.prune_events       events every consumer acknowledged, their commit
--                          stamps, feed changes, expired idempotency keys
--   erp.close_period       a snapshot of the balances and their values (the
--   erp.archive_ledger     costs, erp.period_cost in 21_valuation.sql) at the end
--                          of a day, so that the ledger rows and cost entries
--                          before it can go while erp.verify() stays empty
--   erp.compact_slots      balance slot rows with nothing in them
--   erp.schedule_jobs      the periodic work, registered with pg_cron
-- Every one of them is for administrators (sql/install/91_maintenance_grants.sql).

-- ---------------------------------------------------------------------------
-- Closed periods
-- ---------------------------------------------------------------------------
CREATE TABLE erp.period_close (
    upto        date PRIMARY KEY,
    cut         timestamptz NOT NULL UNIQUE,
    last_move_id bigint NOT NULL,
    closed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_by   name NOT NULL DEFAULT erp.current_actor(),
    archived_at timestamptz,
    last_cost_entry_id bigint
);
COMMENT ON TABLE erp.period_close IS 'Closed periods (erp.close_period): the balances at the end of upto are kept in erp.period_balance.  A move belongs to the period when it is dated before cut and its move_id is at most last_move_id; a move of a transaction that began before the cut but wrote after the close belongs to the open period';
COMMENT ON COLUMN erp.period_close.upto IS 'The last day of the closed period';
COMMENT ON COLUMN erp.period_close.cut IS 'The end of upto (midnight after it in the TimeZone of the session that closed it): moves dated before it belong to the closed period';
COMMENT ON COLUMN erp.period_close.last_move_id IS 'The highest move_id when the period was closed: every move up to it had committed (the close waits for the ledger''s writers), every later one gets a higher id';
COMMENT ON COLUMN erp.period_close.archived_at IS 'When erp.archive_ledger last removed the ledger rows of this period; NULL = they are still in erp.stock_move';
COMMENT ON COLUMN erp.period_close.last_cost_entry_id IS 'The highest cost_entry_id when the period was closed (the close waits for the writers of erp.cost_entry too): a cost entry belongs to the period when it is dated before cut and its id is at most this; its costs per item and node are in erp.period_cost.  NULL: closed before 0.4.0, without a cost snapshot';

CREATE TABLE erp.period_balance (
    upto        date NOT NULL,
    item_id     bigint NOT NULL,
    node_id     bigint NOT NULL,
    bin_id      bigint NOT NULL DEFAULT 0,
    lot_id      bigint NOT NULL DEFAULT 0,
    state       erp.stock_state NOT NULL,
    qty         bigint NOT NULL,
    value       numeric(14,2) CONSTRAINT period_balance_value_not_nan CHECK (value <> 'NaN'::numeric),
    PRIMARY KEY (upto, item_id, node_id, bin_id, lot_id, state)
);
COMMENT ON TABLE erp.period_balance IS 'The balances of a closed period as the ledger gives them at its cut: one row per item, node, bin, lot and state with units (erp.close_period); erp.verify() starts from the latest closed period';
COMMENT ON COLUMN erp.period_balance.upto IS 'The closed period (erp.period_close.upto); no foreign key, so that pg_restore -j may load the two tables in either order';
COMMENT ON COLUMN erp.period_balance.bin_id IS 'Place inside the node (erp.bin); 0 = the node''s stock outside bins';
COMMENT ON COLUMN erp.period_balance.lot_id IS 'Lot of a lot-tracked item; 0 = no lot';
COMMENT ON COLUMN erp.period_balance.value IS 'Value of the units at the cut: the item''s cost at the node at the cut (erp.period_cost) spread over its rows in valued states by quantity (cents, the residue on the largest row); NULL for incoming and return_pending (not valued), for a node with no cost at the cut, and for periods closed before 0.4.0';

CREATE TABLE erp.stock_move_archive (LIKE erp.stock_move);
COMMENT ON TABLE erp.stock_move_archive IS 'Ledger rows of closed periods moved out of erp.stock_move by erp.archive_ledger(upto, keep_copy => true); history to read, dump or drop; nothing derives from it';

-- a partner reads the closed balances and archived moves of its nodes only
-- (the one partner rule, as sql/install/85_access.sql applies it)
ALTER TABLE erp.period_balance ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.period_balance
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER TABLE erp.stock_move_archive ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_move_archive
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

SELECT pg_catalog.pg_extension_config_dump('erp.period_close', '');
SELECT pg_catalog.pg_extension_config_dump('erp.period_balance', '');
SELECT pg_catalog.pg_extension_config_dump('erp.stock_move_archive', '');

CREATE FUNCTION erp.close_period(upto date)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cut_at timestamptz;
    last_id bigint;
    last_cost_id bigint;
    prev record;
    n bigint;
BEGIN
    IF upto OPERATOR(pg_catalog.<) '1970-01-01'::date OR upto OPERATOR(pg_catalog.>) '9999-12-31'::date THEN
        RAISE EXCEPTION 'invalid upto: %', upto
            USING ERRCODE = 'IE004', DETAIL = 'Dates are real calendar dates in the years 1970 to 9999.';
    END IF;
    IF upto IS NULL OR upto OPERATOR(pg_catalog.>=) CURRENT_DATE THEN
        RAISE EXCEPTION 'cannot close the period up to %: only days before today can be closed', coalesce(upto::text, 'NULL')
            USING ERRCODE = 'IE004',
                  DETAIL = pg_catalog.format('Today is %s.', CURRENT_DATE);
    END IF;
    cut_at := (upto OPERATOR(pg_catalog.+) 1)::timestamptz;
    -- one close at a time: a second one waits, then finds the first's period
    LOCK TABLE erp.period_close IN SHARE ROW EXCLUSIVE MODE;
    SELECT c.upto, c.cut, c.last_move_id, c.last_cost_entry_id INTO prev
      FROM erp.period_close c ORDER BY c.cut DESC LIMIT 1;
    IF FOUND AND prev.cut OPERATOR(pg_catalog.>=) cut_at THEN
        RAISE EXCEPTION 'cannot close the period up to %: it is closed up to % already', upto, prev.upto
            USING ERRCODE = 'IE010',
                  HINT = 'Close a later day; a closed period is never reopened.';
    END IF;
    -- wait for the transactions writing the ledger now, and hold new ones
    -- until this one commits: every move up to the highest move_id read
    -- below has committed, every later one will get a higher id (the kernel
    -- draws ids after it locks the table).  The same for the cost entries,
    -- in the order the kernel writes them (ledger, then costs).
    -- A landed cost may hold cost entries while it waits for stock a sale owns, and
    -- that sale for the ledger this function holds: the cost entries are only tried
    -- (NOWAIT); when busy both locks are let go (the block's subtransaction) and
    -- taken again shortly, never a deadlock.
    LOOP
        BEGIN
            LOCK TABLE erp.stock_move IN SHARE MODE;
            LOCK TABLE erp.cost_entry IN SHARE MODE NOWAIT;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_catalog.pg_sleep(0.01);
        END;
    END LOOP;
    SELECT coalesce(max(m.move_id), 0) INTO last_id FROM erp.stock_move m;
    last_id := greatest(last_id, coalesce(prev.last_move_id, 0));
    SELECT coalesce(max(e.cost_entry_id), 0) INTO last_cost_id FROM erp.cost_entry e;
    last_cost_id := greatest(last_cost_id, coalesce(prev.last_cost_entry_id, 0));
    INSERT INTO erp.period_close (upto, cut, last_move_id, last_cost_entry_id)
    VALUES (upto, cut_at, last_id, last_cost_id);
    -- the previous period's balances plus the moves of this period that it
    -- did not count
    INSERT INTO erp.period_balance (upto, item_id, node_id, bin_id, lot_id, state, qty)
    SELECT close_period.upto, s.item_id, s.node_id, s.bin_id, s.lot_id, s.state, sum(s.qty)::bigint
      FROM (SELECT b.item_id, b.node_id, b.bin_id, b.lot_id, b.state, b.qty
              FROM erp.period_balance b WHERE b.upto OPERATOR(pg_catalog.=) prev.upto
            UNION ALL
            SELECT m.item_id, q.node_id, coalesce(q.bin_id, 0), coalesce(m.lot_id, 0), q.state, q.qty
              FROM erp.stock_move m
             CROSS JOIN LATERAL (VALUES (m.to_node_id, m.to_bin_id, m.to_state, m.qty),
                                        (m.from_node_id, m.from_bin_id, m.from_state, -m.qty)) AS q(node_id, bin_id, state, qty)
             WHERE q.state IS NOT NULL
               AND m.at OPERATOR(pg_catalog.<) cut_at AND m.move_id OPERATOR(pg_catalog.<=) last_id
               AND NOT (m.at OPERATOR(pg_catalog.<) coalesce(prev.cut, '-infinity')
                        AND m.move_id OPERATOR(pg_catalog.<=) coalesce(prev.last_move_id, 0))) s
     GROUP BY s.item_id, s.node_id, s.bin_id, s.lot_id, s.state
    HAVING sum(s.qty) OPERATOR(pg_catalog.<>) 0;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- the costs at the cut per item and node: the previous period's (when it
    -- kept them) plus the cost entries of this period it did not count
    INSERT INTO erp.period_cost (upto, item_id, node_id, qty, value)
    SELECT close_period.upto, s.item_id, s.node_id, sum(s.qty)::bigint, sum(s.value)
      FROM (SELECT p.item_id, p.node_id, p.qty, p.value
              FROM erp.period_cost p
             WHERE p.upto OPERATOR(pg_catalog.=) prev.upto AND prev.last_cost_entry_id IS NOT NULL
            UNION ALL
            SELECT e.item_id, e.node_id, e.qty, e.value
              FROM erp.cost_entry e
             WHERE e.at OPERATOR(pg_catalog.<) cut_at AND e.cost_entry_id OPERATOR(pg_catalog.<=) last_cost_id
               AND NOT (prev.last_cost_entry_id IS NOT NULL
                        AND e.at OPERATOR(pg_catalog.<) prev.cut
                        AND e.cost_entry_id OPERATOR(pg_catalog.<=) prev.last_cost_entry_id)) s
     GROUP BY s.item_id, s.node_id
    HAVING sum(s.qty) OPERATOR(pg_catalog.<>) 0 OR sum(s.value) OPERATOR(pg_catalog.<>) 0;
    -- the value of each balance row: its node's cost spread over the rows in
    -- valued states (all but incoming and return_pending) by quantity, in
    -- cents, the residue on the largest row (then by state, lot)
    WITH r AS (
        SELECT b.item_id, b.node_id, b.bin_id, b.lot_id, b.state, b.qty, c.value AS node_value,
               sum(b.qty) OVER w AS total,
               pg_catalog.row_number() OVER (w ORDER BY b.qty DESC, b.state, b.lot_id, b.bin_id) AS rank
          FROM erp.period_balance b
          JOIN erp.period_cost c
            ON c.upto OPERATOR(pg_catalog.=) b.upto AND c.item_id OPERATOR(pg_catalog.=) b.item_id
           AND c.node_id OPERATOR(pg_catalog.=) b.node_id
         WHERE b.upto OPERATOR(pg_catalog.=) close_period.upto
           AND b.state OPERATOR(pg_catalog.<>) ALL (ARRAY['incoming', 'return_pending']::erp.stock_state[])
           AND b.qty OPERATOR(pg_catalog.>) 0
        WINDOW w AS (PARTITION BY b.item_id, b.node_id)
    ), s AS (
        SELECT r.*, round(r.node_value OPERATOR(pg_catalog.*) r.qty OPERATOR(pg_catalog./) r.total, 2) AS share
          FROM r
    ), v AS (
        SELECT s.*, s.share OPERATOR(pg_catalog.+)
                    CASE WHEN s.rank OPERATOR(pg_catalog.=) 1
                         THEN s.node_value OPERATOR(pg_catalog.-) sum(s.share) OVER (PARTITION BY s.item_id, s.node_id)
                         ELSE 0 END AS value
          FROM s
    )
    UPDATE erp.period_balance b SET value = v.value
      FROM v
     WHERE b.upto OPERATOR(pg_catalog.=) close_period.upto AND b.item_id OPERATOR(pg_catalog.=) v.item_id
       AND b.node_id OPERATOR(pg_catalog.=) v.node_id AND b.bin_id OPERATOR(pg_catalog.=) v.bin_id
       AND b.lot_id OPERATOR(pg_catalog.=) v.lot_id AND b.state OPERATOR(pg_catalog.=) v.state;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.close_period(date) IS
    'Closes the period up to the end of upto (a day before today, later than the last closed one): snapshots the balances per item, node, bin, lot and state into erp.period_balance from the moves dated before the cut (midnight after upto, in the session''s TimeZone), and the costs per item and node into erp.period_cost from the cost entries dated before it (period_balance.value: that cost spread over the rows in valued states by quantity); waits for the transactions writing the ledger and the cost entries and holds new ones until it commits; returns how many balance rows it kept. A move or cost entry of a transaction that began before the cut and writes after the close counts in the open period. Refused: today or later, infinity, a year outside 1970-9999 (IE004), a day not after the last closed one (IE010)';

CREATE FUNCTION erp.archive_ledger(upto date, keep_copy boolean DEFAULT true)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    closed record;
    n bigint;
    role_before text := pg_catalog.current_setting('session_replication_role');
BEGIN
    IF upto OPERATOR(pg_catalog.<) '1970-01-01'::date OR upto OPERATOR(pg_catalog.>) '9999-12-31'::date THEN
        RAISE EXCEPTION 'invalid upto: %', upto
            USING ERRCODE = 'IE004', DETAIL = 'Dates are real calendar dates in the years 1970 to 9999.';
    END IF;
    IF keep_copy IS NULL THEN
        RAISE EXCEPTION 'invalid keep_copy: NULL'
            USING ERRCODE = 'IE004',
                  DETAIL = 'true copies the archived moves into erp.stock_move_archive (the default); false deletes them.';
    END IF;
    SELECT c.upto, c.cut, c.last_move_id, c.last_cost_entry_id INTO closed FROM erp.period_close c
     WHERE c.upto OPERATOR(pg_catalog.<=) archive_ledger.upto ORDER BY c.cut DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot archive the ledger up to %: no period is closed up to that day', coalesce(upto::text, 'NULL')
            USING ERRCODE = 'IE010',
                  HINT = 'Close the period first: SELECT erp.close_period(''' || coalesce(upto::text, 'yyyy-mm-dd') || ''').';
    END IF;
    -- the one path that removes ledger rows: the append-only guard is a
    -- trigger, and so are the other checks on the ledger; none of them fires
    -- in replica mode, which only a superuser (the extension's owner) sets
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    IF keep_copy THEN
        WITH gone AS (DELETE FROM erp.stock_move m
                       WHERE m.at OPERATOR(pg_catalog.<) closed.cut
                         AND m.move_id OPERATOR(pg_catalog.<=) closed.last_move_id RETURNING m.*)
        INSERT INTO erp.stock_move_archive SELECT * FROM gone;
    ELSE
        DELETE FROM erp.stock_move m
         WHERE m.at OPERATOR(pg_catalog.<) closed.cut AND m.move_id OPERATOR(pg_catalog.<=) closed.last_move_id;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- the cost entries the period's erp.period_cost rows stand for (a period
    -- closed before 0.4.0 kept no costs: its cost entries stay)
    IF closed.last_cost_entry_id IS NOT NULL THEN
        IF keep_copy THEN
            WITH gone AS (DELETE FROM erp.cost_entry e
                           WHERE e.at OPERATOR(pg_catalog.<) closed.cut
                             AND e.cost_entry_id OPERATOR(pg_catalog.<=) closed.last_cost_entry_id RETURNING e.*)
            INSERT INTO erp.cost_entry_archive SELECT * FROM gone;
        ELSE
            DELETE FROM erp.cost_entry e
             WHERE e.at OPERATOR(pg_catalog.<) closed.cut
               AND e.cost_entry_id OPERATOR(pg_catalog.<=) closed.last_cost_entry_id;
        END IF;
    END IF;
    PERFORM pg_catalog.set_config('session_replication_role', role_before, true);
    UPDATE erp.period_close c SET archived_at = pg_catalog.now() WHERE c.cut OPERATOR(pg_catalog.<=) closed.cut;
    IF n OPERATOR(pg_catalog.>) 0 THEN
        -- feeds read the ledger rows of the transactions their cursor did not see
        INSERT INTO erp.feed_horizon (horizon, reason)
        VALUES (pg_catalog.pg_current_xact_id(), 'erp.archive_ledger up to ' || closed.upto);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.archive_ledger(date, boolean) IS
    'Removes from erp.stock_move the moves of the latest closed period up to upto (dated before its cut, move_id up to its last_move_id) (erp.close_period), copying them into erp.stock_move_archive unless keep_copy is false (NULL: IE004), and from erp.cost_entry the cost entries of that period (dated before its cut, cost_entry_id up to its last_cost_entry_id; into erp.cost_entry_archive unless keep_copy is false; a period closed before 0.4.0 keeps them); erp.verify() and erp.verify_costs() stay empty (they start from the period''s balances and costs), and so does erp.inventory_value_at (it reads the archive); feed cursors older than this call must resynchronise (a horizon of erp.feed_horizon); returns how many moves left the ledger. Refused: infinity or a year outside 1970-9999, keep_copy NULL (IE004), no period closed up to upto (IE010)';

-- ---------------------------------------------------------------------------
-- Pruning the outbox, the feed history and idempotency keys
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.prune_events(older_than interval)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cut_at timestamptz;
    low record;
    n bigint;
    changes bigint;
BEGIN
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) interval '0' THEN
        RAISE EXCEPTION 'invalid retention %: events older than a negative or NULL interval', coalesce(older_than::text, 'NULL')
            USING ERRCODE = 'IE004',
                  HINT = 'Give how long events are kept, e.g. erp.prune_events(''30 days'').';
    END IF;
    cut_at := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    -- no consumer reads, acknowledges or is created until this commits
    -- (erp.read_events takes ROW EXCLUSIVE before it reads): a new consumer's
    -- first read counts in the cursor below, or waits and reads what is left
    LOCK TABLE erp.event_consumer IN SHARE MODE;
    -- the lowest acknowledged cursor of all consumers: nobody still needs
    -- what is at or below it (no consumer: nobody needs anything)
    SELECT c.acked_commit_seq, c.acked_event_id INTO low
      FROM erp.event_consumer c ORDER BY c.acked_commit_seq, c.acked_event_id LIMIT 1;
    DELETE FROM erp.event e
     USING erp.event_commit s
     WHERE s.txn_id OPERATOR(pg_catalog.=) e.txn_id
       AND e.at OPERATOR(pg_catalog.<) cut_at
       AND (low.acked_commit_seq IS NULL
            OR s.commit_seq OPERATOR(pg_catalog.<) low.acked_commit_seq
            OR (s.commit_seq OPERATOR(pg_catalog.=) low.acked_commit_seq
                AND e.event_id OPERATOR(pg_catalog.<=) low.acked_event_id));
    GET DIAGNOSTICS n = ROW_COUNT;
    -- commit stamps with no event left, but the newest (readers start from it)
    DELETE FROM erp.event_commit s
     WHERE s.committed_at OPERATOR(pg_catalog.<) cut_at
       AND s.commit_seq OPERATOR(pg_catalog.<) (SELECT max(t.commit_seq) FROM erp.event_commit t)
       AND NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id OPERATOR(pg_catalog.=) s.txn_id);
    -- feed history: cursors taken before this call must resynchronise
    DELETE FROM erp.feed_change f WHERE f.changed_at OPERATOR(pg_catalog.<) cut_at;
    GET DIAGNOSTICS changes = ROW_COUNT;
    IF changes OPERATOR(pg_catalog.>) 0 THEN
        INSERT INTO erp.feed_horizon (horizon, reason)
        VALUES (pg_catalog.pg_current_xact_id(), 'erp.prune_events: feed changes before ' || cut_at);
    END IF;
    -- a horizon may go once a later one was set by a transaction that saw it
    -- committed: a cursor that sees the later one then sees it too.  (Not
    -- "keep the newest id": two prunes can commit in the other order than
    -- their ids, and a cursor could see the newer id but not the older.)
    -- Horizons ahead of this database (a dump of another cluster) stay.
    DELETE FROM erp.feed_horizon h
     WHERE h.horizon OPERATOR(pg_catalog.<=) pg_catalog.pg_current_xact_id()
       AND EXISTS (SELECT 1 FROM erp.feed_horizon k
                    WHERE k.seen IS NOT NULL
                      AND k.horizon OPERATOR(pg_catalog.>) h.horizon
                      AND k.horizon OPERATOR(pg_catalog.<=) pg_catalog.pg_current_xact_id()
                      AND pg_catalog.pg_visible_in_snapshot(h.horizon, k.seen));
    PERFORM erp.prune_idempotency_keys();
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.prune_events(interval) IS
    'Deletes the events older than older_than that every consumer has acknowledged (an event some consumer has not acknowledged is kept, however old: drop an abandoned consumer''s row from erp.event_consumer to release it), their commit stamps, feed changes older than older_than (feed cursors taken before the call then resynchronise: IE010 from erp.channel_availability_changes) and expired idempotency keys; returns how many events it deleted. Refused: a negative or NULL interval (IE004)';

-- ---------------------------------------------------------------------------
-- Empty balance slots
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.compact_slots(max_rows integer DEFAULT 10000)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_maintenance_compact_slots'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.compact_slots(integer) IS
    'Deletes at most max_rows rows of erp.stock_slot whose every state is zero, each under the slot''s ownership lock as the stock kernel takes it (a slot some transaction owns now is skipped, never waited for); balances do not change; returns how many rows it deleted. Refused: max_rows below 1 (IE004), a REPEATABLE READ or SERIALIZABLE transaction (IE010)';

-- ---------------------------------------------------------------------------
-- The periodic work, with pg_cron
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.maintenance_jobs()
    RETURNS TABLE (job_name text, schedule text, command text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT j.job_name, j.schedule, j.command
      FROM (VALUES
        (1, 'inventory_erp.allocate_pending', '* * * * *', 'SELECT erp.allocate_pending()', NULL::text),
        (2, 'inventory_erp.expire_returns', '7 * * * *', 'SELECT erp.expire_returns()', NULL),
        (3, 'inventory_erp.expire_holds', '*/5 * * * *', 'SELECT erp.expire_holds()', 'erp.expire_holds()'),
        (4, 'inventory_erp.refresh_forecasts', '15 2 * * *', 'SELECT erp.refresh_forecasts()', 'erp.refresh_forecasts(text)'),
        (5, 'inventory_erp.detect_anomalies', '23 * * * *', 'SELECT erp.detect_anomalies()', 'erp.detect_anomalies()'),
        (6, 'inventory_erp.prune_events', '40 3 * * *', 'SELECT erp.prune_events(''30 days'')', NULL),
        (7, 'inventory_erp.compact_slots', '50 3 * * *', 'SELECT erp.compact_slots()', NULL),
        (8, 'inventory_erp.citus_collect_events', '* * * * *', 'SELECT erp.citus_collect_events()', 'citus')
      ) AS j(ord, job_name, schedule, command, needs)
     WHERE j.needs IS NULL
        OR (j.needs OPERATOR(pg_catalog.<>) 'citus' AND pg_catalog.to_regprocedure(j.needs) IS NOT NULL)
        -- events written through Citus workers reach the coordinator's erp.event
        -- (doc/scaling.md): only where Citus is installed, and only for a caller
        -- that may run the collector (the jobs run as the caller)
        OR (j.needs OPERATOR(pg_catalog.=) 'citus'
            AND EXISTS (SELECT 1 FROM pg_catalog.pg_extension x WHERE x.extname OPERATOR(pg_catalog.=) 'citus')
            AND pg_catalog.has_function_privilege('erp.citus_collect_events(integer)', 'EXECUTE'))
     ORDER BY j.ord
$$;
COMMENT ON FUNCTION erp.maintenance_jobs() IS
    'The periodic work of the extension, as erp.schedule_jobs() registers it: job name, cron schedule, command; the functions of features not installed are left out';

CREATE FUNCTION erp.scheduled_job_owners()
    RETURNS SETOF name
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- pg_cron shows each role only its own jobs (row level security on
    -- cron.job): read as the extension's owner, names of ours only
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE 'SELECT DISTINCT j.username::name FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING ARRAY['inventory_erp.allocate_pending', 'inventory_erp.expire_returns', 'inventory_erp.expire_holds',
                    'inventory_erp.refresh_forecasts', 'inventory_erp.detect_anomalies', 'inventory_erp.prune_events',
                    'inventory_erp.compact_slots', 'inventory_erp.citus_collect_events'];
END
$$;
COMMENT ON FUNCTION erp.scheduled_job_owners() IS
    'The roles whose pg_cron jobs run the periodic work of erp.schedule_jobs() in this database (none without pg_cron); erp.schedule_jobs() refuses to register the jobs a second time under another role';

CREATE FUNCTION erp.schedule_jobs()
    RETURNS TABLE (job_name text, schedule text, command text, jobid bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    j record;
    plan text := '';
BEGIN
    IF pg_catalog.to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
        FOR j IN SELECT * FROM erp.maintenance_jobs() LOOP
            plan := plan || pg_catalog.format(E'\n  %-12s %s', j.schedule, j.command);
        END LOOP;
        RAISE NOTICE 'pg_cron is not installed in database "%": nothing was scheduled', pg_catalog.current_database()
            USING DETAIL = 'Run these with your scheduler (cron syntax, as the database''s administrator):' || plan,
                  HINT = 'Or install pg_cron (Debian: postgresql-15-cron; shared_preload_libraries = ''pg_cron'', cron.database_name = '''
                         || pg_catalog.current_database() || '''), CREATE EXTENSION pg_cron, and call erp.schedule_jobs() again.';
        RETURN QUERY SELECT m.job_name, m.schedule, m.command, NULL::bigint FROM erp.maintenance_jobs() m;
        RETURN;
    END IF;
    -- one set of jobs per database: another administrator's would run everything twice
    SELECT o INTO j FROM erp.scheduled_job_owners() o WHERE o OPERATOR(pg_catalog.<>) CURRENT_USER LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the periodic work of inventory_erp is scheduled by role % already', j.o
            USING ERRCODE = 'IE010',
                  HINT = 'Call erp.unschedule_jobs() as that role first, or leave its jobs as they are.';
    END IF;
    -- cron.schedule with a job name replaces that job of the caller's: calling
    -- again updates, never duplicates; the jobs run as the caller
    FOR j IN SELECT * FROM erp.maintenance_jobs() LOOP
        job_name := j.job_name;
        schedule := j.schedule;
        command := j.command;
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING j.job_name, j.schedule, j.command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION erp.schedule_jobs() IS
    'Registers the periodic work of erp.maintenance_jobs() with pg_cron, as jobs named inventory_erp.* that run as the caller (calling again updates them, never duplicates); returns the jobs with their pg_cron job ids; refused (IE010) when another role has them scheduled already.  Without pg_cron in this database: a NOTICE listing what to run and how often, the same rows with jobid NULL, and nothing changed';

CREATE FUNCTION erp.unschedule_jobs()
    RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer := 0;
    name text;
BEGIN
    IF pg_catalog.to_regprocedure('cron.unschedule(name)') IS NULL THEN
        RAISE NOTICE 'pg_cron is not installed in database "%": no job to remove', pg_catalog.current_database();
        RETURN 0;
    END IF;
    -- only the names erp.maintenance_jobs() can list (a DBA's own job named
    -- inventory_erp.something stays)
    FOR name IN EXECUTE 'SELECT j.jobname FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
                        ' AND j.username OPERATOR(pg_catalog.=) CURRENT_USER'
        USING ARRAY['inventory_erp.allocate_pending', 'inventory_erp.expire_returns', 'inventory_erp.expire_holds',
                    'inventory_erp.refresh_forecasts', 'inventory_erp.detect_anomalies', 'inventory_erp.prune_events',
                    'inventory_erp.compact_slots', 'inventory_erp.citus_collect_events']
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING name;
        n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.unschedule_jobs() IS
    'Removes the caller''s pg_cron jobs that erp.schedule_jobs() registers (by their names, which erp.maintenance_jobs() lists; other jobs stay, also a DBA''s own named inventory_erp.*); returns how many';
