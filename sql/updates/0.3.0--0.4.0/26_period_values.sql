-- 26_period_values (0.3.0 -> 0.4.0): erp.close_period snapshots values too
-- (issue 14): the costs per item and node at the cut into erp.period_cost (created
-- by 21_valuation.sql, with the column erp.period_close.last_cost_entry_id) and
-- erp.period_balance.value; erp.archive_ledger archives the cost entries of the
-- period with its moves.  The whole functions, as sql/install/18_maintenance.sql
-- has them.
COMMENT ON COLUMN erp.period_close.last_cost_entry_id IS 'The highest cost_entry_id when the period was closed (the close waits for the writers of erp.cost_entry too): a cost entry belongs to the period when it is dated before cut and its id is at most this; its costs per item and node are in erp.period_cost.  NULL: closed before 0.4.0, without a cost snapshot';
COMMENT ON COLUMN erp.period_balance.value IS 'Value of the units at the cut: the item''s cost at the node at the cut (erp.period_cost) spread over its rows in valued states by quantity (cents, the residue on the largest row); NULL for incoming and return_pending (not valued), for a node with no cost at the cut, and for periods closed before 0.4.0';

CREATE OR REPLACE FUNCTION erp.close_period(upto date)
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

CREATE OR REPLACE FUNCTION erp.archive_ledger(upto date, keep_copy boolean DEFAULT true)
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

COMMENT ON COLUMN erp.period_balance.bin_id IS 'Place inside the node (erp.bin); 0 = the node''s stock outside bins';
