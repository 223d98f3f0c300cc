-- 81: idempotent calls, as sql/install/14_idempotency.sql creates them.

CREATE TABLE erp.idempotency_key (
    role_oid     oid NOT NULL,
    role_name    name NOT NULL,
    key          text NOT NULL CHECK (pg_catalog.octet_length(key) BETWEEN 1 AND 200),
    function     text NOT NULL,
    content_hash bytea NOT NULL CHECK (pg_catalog.length(content_hash) = 32),
    result       text,
    result_rows  text[],
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (role_oid, key)
);
CREATE INDEX idempotency_key_created_at ON erp.idempotency_key (created_at);
COMMENT ON TABLE erp.idempotency_key IS
    'The calls made with an idempotency key, one row per (login, key), kept for inventory_erp.idempotency_retention: a retry returns result (or result_rows) without running. Only the extension writes it (no role has INSERT, UPDATE or DELETE). Reading: row level security shows each login its own keys only, since a result can name another partner''s documents and stock; a retry needs no read (the call itself replays), so nothing is lost by the restriction.';
COMMENT ON COLUMN erp.idempotency_key.role_oid IS 'Who called, by oid: a renamed login keeps its keys, a role created again under an old name does not inherit them';
COMMENT ON COLUMN erp.idempotency_key.role_name IS 'Who called, by name: the login (in a superuser''s session, the role it acts as); two logins never share a key; a restore into another cluster maps keys to roles by this name';
COMMENT ON COLUMN erp.idempotency_key.key IS 'The client''s key: 1 to 200 bytes';
COMMENT ON COLUMN erp.idempotency_key.function IS 'The function called, as its signature without the key (erp.receive(text,text,bigint,...))';
COMMENT ON COLUMN erp.idempotency_key.content_hash IS 'SHA-256 of the function and every other argument: a retry with other arguments is refused (IE010)';
COMMENT ON COLUMN erp.idempotency_key.result IS 'A scalar result in its type''s text form (NULL: the result was NULL)';
COMMENT ON COLUMN erp.idempotency_key.result_rows IS 'A set-returning function''s rows as text[row][column] (type text forms, NULLs kept)';
COMMENT ON COLUMN erp.idempotency_key.created_at IS 'When the call ran; the key expires inventory_erp.idempotency_retention after it';

ALTER TABLE erp.idempotency_key ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_keys ON erp.idempotency_key FOR SELECT
    USING (role_oid OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                             WHERE r.rolname OPERATOR(pg_catalog.=) SESSION_USER));

-- A restore into another cluster (inventory_erp.restore_mode on) brings the
-- old cluster's role oids: each key goes to the role of its name here, and the
-- keys of a login that does not exist here are left out.
CREATE FUNCTION erp.idempotency_key_restored() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name);
    IF NEW.role_oid IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.idempotency_key_restored() IS
    'Trigger (restore mode only): a restored idempotency key belongs to the role of its name in this cluster; keys of a login that does not exist here are left out';
CREATE TRIGGER idempotency_key_restored BEFORE INSERT ON erp.idempotency_key
    FOR EACH ROW WHEN (pg_catalog.current_setting('inventory_erp.restore_mode', true) OPERATOR(pg_catalog.=) 'on')
    EXECUTE FUNCTION erp.idempotency_key_restored();

SELECT pg_catalog.pg_extension_config_dump('erp.idempotency_key', '');

CREATE FUNCTION erp.prune_idempotency_keys()
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_idempotency_prune'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.prune_idempotency_keys() IS
    'Deletes the idempotency keys older than inventory_erp.idempotency_retention (they count as absent already); returns how many';
