-- 98 (update): as sql/install/98_search_path.sql: every function of the extension runs with a fixed search_path,
-- so that nobody's own operators or functions (an `=` created in a schema the
-- caller put first) change what a guard, a trigger or a check means.  Set here,
-- after every other file, for each function that does not set one itself.
-- Left out: the erp.gtin type's support functions (I/O, comparison, hashing),
-- which look nothing up and run once per value or per index comparison.
-- Cost: one GUC switch (save, set, restore) per call - a few microseconds,
-- next to the SPI statements every such function runs.
DO $search_path$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
           AND p.prokind IN ('f', 'p')
           AND p.proname !~ '^gtin'
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS c(setting)
                            WHERE c.setting LIKE 'search\_path=%')
         ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END
$search_path$;
