-- 99_dump: pg_dump keeps every business row.  Each table of the extension (and the
-- sequence behind its identity key) is marked as configuration; rows shipped with
-- the extension (builtin) are left out, since CREATE EXTENSION recreates them.
DO $dump$
DECLARE
    t record;
    seq text;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel,
               EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'builtin' AND NOT a.attisdropped) AS has_builtin
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t.rel,
                    CASE WHEN t.has_builtin THEN 'WHERE NOT builtin' ELSE '' END);
        FOR seq IN
            SELECT s.oid::regclass::text
              FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             WHERE d.refobjid = t.rel AND d.deptype IN ('a', 'i')
        LOOP
            PERFORM pg_catalog.pg_extension_config_dump(seq, '');
        END LOOP;
    END LOOP;
END
$dump$;
