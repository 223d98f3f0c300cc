-- 99_grants_substitutes: what sql/install/97_substitutes_grants.sql gives, after
-- 99_grants.sql gave every new function to erp_operator and every table to erp_reader.
GRANT INSERT, UPDATE, DELETE ON erp.item_substitute TO erp_admin;
REVOKE EXECUTE ON FUNCTION erp.set_substitute(text, text, integer) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.set_substitute(text, text, integer) TO erp_admin;
