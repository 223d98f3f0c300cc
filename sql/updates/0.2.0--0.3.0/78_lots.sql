-- 88_lots: a lot inserted by anyone (an import as well as a first receipt) is
-- owned in the global lock order until its transaction ends (src/lookup.c), so a
-- receipt creating the same lot meanwhile never waits in the unique index out of
-- order (doc/concurrency.md).
CREATE FUNCTION erp.own_new_lot() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_own_new_lot' LANGUAGE C;
COMMENT ON FUNCTION erp.own_new_lot() IS 'Trigger: owns a new lot''s tag in the global lock order until the inserting transaction ends';
CREATE TRIGGER lot_owned BEFORE INSERT ON erp.lot
    FOR EACH ROW EXECUTE FUNCTION erp.own_new_lot();
