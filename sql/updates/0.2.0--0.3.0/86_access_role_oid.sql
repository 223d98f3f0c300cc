
-- 86: a renamed partner role stays a partner (break-it pass of issue 11):
-- erp.node_access keeps the role's oid beside its name (see 03_master.sql).
ALTER TABLE erp.node_access ADD COLUMN role_oid oid;
COMMENT ON COLUMN erp.node_access.role_oid IS 'Set by a trigger: the oid of the role role_name named when the row was written, so that the role stays a partner when it is renamed (NULL: no such role then; update the row once the role exists)';
UPDATE erp.node_access na SET role_oid = r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = na.role_name;

-- A partner role stays a partner when it is renamed: each row keeps the oid
-- of the role its name named when the row was written (and again when the name
-- changes), and src/access.c restricts a member of either.  A role created
-- again under a listed name is restricted by the name.  Restored rows (another
-- cluster's oids) take the oid of their name here.
CREATE FUNCTION erp.node_access_role() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.role_name IS DISTINCT FROM OLD.role_name THEN
        NEW.role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name);
    ELSE
        NEW.role_oid := OLD.role_oid;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.node_access_role() IS
    'Trigger: erp.node_access.role_oid is the oid of the role role_name named when the row was written (NULL when no such role existed then), so that a renamed partner role stays a partner';
CREATE TRIGGER node_access_role BEFORE INSERT OR UPDATE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.node_access_role();
