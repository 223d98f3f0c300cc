-- 96_holds_grants: checkout holds (27_holds.sql).  Readers read the holds and the
-- conversion view (as every table, 90_grants.sql); operators call erp.hold,
-- erp.release_hold, erp.expire_holds and capture_order's hold_ref (90_grants.sql
-- grants every function); nobody writes the hold tables but those functions.
GRANT SELECT ON erp.checkout_hold, erp.checkout_hold_line, erp.hold_conversion TO erp_reader;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON erp.checkout_hold, erp.checkout_hold_line FROM erp_operator, erp_admin;
