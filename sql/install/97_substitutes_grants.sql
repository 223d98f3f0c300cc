-- 97_substitutes_grants: administrators keep the substitutes (erp.item_substitute and
-- erp.set_substitute, which writes it as its caller); 90_grants.sql gave the function to
-- every operator, and readers read the tables and the view.
GRANT INSERT, UPDATE, DELETE ON erp.item_substitute TO erp_admin;
REVOKE EXECUTE ON FUNCTION erp.set_substitute(text, text, integer) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.set_substitute(text, text, integer) TO erp_admin;
