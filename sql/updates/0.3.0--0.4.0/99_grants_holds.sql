-- 99_grants_holds: as sql/install/96_holds_grants.sql, after 99_grants.sql.
GRANT SELECT ON erp.checkout_hold, erp.checkout_hold_line, erp.hold_conversion TO erp_reader;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON erp.checkout_hold, erp.checkout_hold_line FROM erp_operator, erp_admin;
