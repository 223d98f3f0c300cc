
-- 99: the privileges a fresh install gives (sql/install/90_grants.sql), for the
-- functions and tables the fragments above created.
REVOKE ALL ON ALL TABLES IN SCHEMA erp FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA erp TO erp_reader;
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, p.proname
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.fn);
        IF f.proname LIKE 'gtin%' THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f.fn);
        ELSIF f.proname NOT IN ('create_publication') THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_operator', f.fn);
        END IF;
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION erp.verify(), erp.atp(text, text, text, timestamptz) TO erp_reader;
GRANT EXECUTE ON FUNCTION erp.visible_nodes(), erp.order_visible(bigint), erp.rma_visible(bigint) TO PUBLIC;
