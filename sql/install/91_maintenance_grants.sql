-- 91_maintenance_grants: the maintenance functions (18_maintenance.sql) are for
-- administrators only; 90_grants gave every function to erp_operator, which
-- partners are members of.
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
