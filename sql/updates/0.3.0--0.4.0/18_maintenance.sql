-- 18_maintenance (0.3.0 -> 0.4.0): erp.schedule_jobs() registers
-- erp.citus_collect_events() every minute where Citus is installed and the
-- caller may run it.  The whole functions, as sql/install/18_maintenance.sql has them.

CREATE OR REPLACE FUNCTION erp.maintenance_jobs()
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

CREATE OR REPLACE FUNCTION erp.scheduled_job_owners()
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

CREATE OR REPLACE FUNCTION erp.unschedule_jobs()
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
