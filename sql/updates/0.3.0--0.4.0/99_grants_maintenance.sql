-- 99_grants_maintenance: as sql/install/91_maintenance_grants.sql (runs after 99_grants.sql).
-- The maintenance functions are for administrators only; 99_grants gave every
-- function to erp_operator, which partners are members of.
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY['erp.prune_events(interval)', 'erp.close_period(date)',
                             'erp.archive_ledger(date,boolean)', 'erp.compact_slots(integer)',
                             'erp.schedule_jobs()', 'erp.unschedule_jobs()',
                             'erp.scheduled_job_owners()']::regprocedure[]
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, erp_operator', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_admin', f);
    END LOOP;
END
$grants$;
