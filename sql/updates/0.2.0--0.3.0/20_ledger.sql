-- 20_ledger: the ledger's part of 0.3.0, as sql/install/04_ledger.sql and
-- sql/install/82_guards.sql now create it.
--   * erp.stock_move.actor records the session's login (erp.current_actor()),
--     not a role it SET; the ledger trigger stamps the same.
--   * The guards of erp.state_transition and erp.item_component (82_guards).
-- (Every function's fixed search_path: 98_search_path.sql.)

CREATE FUNCTION erp.current_actor() RETURNS name
    AS 'MODULE_PATHNAME', 'ierp_ledger_current_actor'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION erp.current_actor() IS 'The name recorded as the actor of a move: the session''s login, whatever role it SET (in a superuser''s session, the role it acts as)';
ALTER TABLE erp.stock_move ALTER COLUMN actor SET DEFAULT erp.current_actor();
COMMENT ON COLUMN erp.stock_move.actor IS 'Who moved the stock: the login of the session (erp.current_actor()), not a role it SET';
COMMENT ON FUNCTION erp.ledger_apply_move() IS 'Trigger: checks a new ledger row against the state machine and applies it to erp.stock_balance; refuses a row that brings an id the ledger has not issued (IE005) unless inventory_erp.restore_mode is on';

-- as sql/install/82_guards.sql
CREATE FUNCTION erp.guard_state_transition() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    doc_states CONSTANT erp.stock_state[] :=
        ARRAY['reserved', 'picked', 'packed', 'return_pending', 'inspection']::erp.stock_state[];
    r record;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'TRUNCATE of erp.state_transition is not allowed'
            USING ERRCODE = 'IE010',
                  DETAIL = 'It would remove the transitions shipped with inventory_erp, which every document relies on.',
                  HINT = 'Delete the rows of your own: DELETE FROM erp.state_transition WHERE NOT builtin.';
    END IF;
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    FOR r IN
        SELECT OLD.from_state AS from_state, OLD.to_state AS to_state, OLD.event AS event,
               OLD.builtin AS builtin
         WHERE TG_OP IN ('UPDATE', 'DELETE')
        UNION ALL
        SELECT NEW.from_state, NEW.to_state, NEW.event, NEW.builtin
         WHERE TG_OP IN ('INSERT', 'UPDATE')
    LOOP
        -- shipped rows: erp.protect_builtin() refuses any change of them
        CONTINUE WHEN r.builtin;
        IF r.from_state OPERATOR(pg_catalog.=) ANY (doc_states)
           OR r.to_state OPERATOR(pg_catalog.=) ANY (doc_states) THEN
            RAISE EXCEPTION 'transition from "%" to "%" by event "%" touches a state that documents own',
                    coalesce(r.from_state::text, 'outside'), coalesce(r.to_state::text, 'outside'), r.event
                USING ERRCODE = 'IE010',
                      DETAIL = 'Units in reserved, picked, packed, return_pending and inspection belong to an order or a return; only the order and returns functions move them.',
                      HINT = 'Transitions of your own may join the other states.';
        END IF;
    END LOOP;
    IF TG_OP IN ('INSERT', 'UPDATE') AND pg_catalog.octet_length(NEW.event) > 64 THEN
        RAISE EXCEPTION 'event name is % bytes long', pg_catalog.octet_length(NEW.event)
            USING ERRCODE = 'IE004',
                  DETAIL = 'Event names are at most 64 bytes.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION erp.guard_state_transition() IS
    'Trigger: refuses rows of your own into or out of the states documents own (reserved, picked, packed, return_pending, inspection) and TRUNCATE (IE010), and event names over 64 bytes (IE004)';

CREATE TRIGGER state_transition_guard BEFORE INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.guard_state_transition();
CREATE TRIGGER state_transition_no_truncate BEFORE TRUNCATE ON erp.state_transition
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_state_transition();

CREATE FUNCTION erp.guard_item_component() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kit bigint;
    holding record;
    on_hand bigint;
BEGIN
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    FOR kit IN
        SELECT OLD.kit_item_id WHERE TG_OP IN ('UPDATE', 'DELETE')
        UNION
        SELECT NEW.kit_item_id WHERE TG_OP IN ('INSERT', 'UPDATE')
    LOOP
        -- (runs as the extension's owner: sees every row, whatever row level
        -- security shows the administrator, and may lock the rows found).
        -- The kit's item row is locked first: an allocation that locks it FOR
        -- SHARE before reading the components waits for this change, or this
        -- change for it.
        PERFORM 1 FROM erp.item i WHERE i.item_id OPERATOR(pg_catalog.=) kit FOR NO KEY UPDATE;
        SELECT ol.order_id, ol.line_no INTO holding
          FROM erp.order_line ol
         WHERE ol.item_id OPERATOR(pg_catalog.=) kit
           AND (ol.qty_allocated OPERATOR(pg_catalog.>) ol.qty_shipped
                OR EXISTS (SELECT 1 FROM erp.reservation r
                            WHERE r.order_id OPERATOR(pg_catalog.=) ol.order_id
                              AND r.line_no OPERATOR(pg_catalog.=) ol.line_no
                              AND r.qty OPERATOR(pg_catalog.>) 0))
         LIMIT 1
           FOR SHARE OF ol;
        IF FOUND THEN
            RAISE EXCEPTION 'the components of kit "%" cannot change while order % line % holds stock for it',
                    (SELECT i.sku FROM erp.item i WHERE i.item_id OPERATOR(pg_catalog.=) kit),
                    holding.order_id, holding.line_no
                USING ERRCODE = 'IE010',
                      DETAIL = 'Its reservations were made for the current bill of materials.',
                      HINT = 'Ship or cancel the kit''s allocated orders first, or create a new kit sku.';
        END IF;
    END LOOP;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(sum(b.qty), 0) INTO on_hand
          FROM erp.stock_balance b WHERE b.item_id OPERATOR(pg_catalog.=) NEW.kit_item_id;
        IF on_hand OPERATOR(pg_catalog.<>) 0 THEN
            RAISE EXCEPTION 'item "%" holds % units and cannot become a kit',
                    (SELECT i.sku FROM erp.item i WHERE i.item_id OPERATOR(pg_catalog.=) NEW.kit_item_id), on_hand
                USING ERRCODE = 'IE010',
                      DETAIL = 'A kit holds no stock of its own: its availability is that of its components.',
                      HINT = 'Move its stock out first, or create a new kit sku.';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION erp.guard_item_component() IS
    'Trigger: refuses to change a kit''s components while an order line of the kit holds stock, or to make an item with stock a kit (IE010)';

CREATE TRIGGER item_component_guard BEFORE INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.guard_item_component();

CREATE FUNCTION erp.guard_item_component_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM erp.order_line ol
                WHERE ol.qty_allocated OPERATOR(pg_catalog.>) ol.qty_shipped
                  AND EXISTS (SELECT 1 FROM erp.item_component c
                               WHERE c.kit_item_id OPERATOR(pg_catalog.=) ol.item_id)) THEN
        RAISE EXCEPTION 'TRUNCATE of erp.item_component is not allowed while kit orders hold stock'
            USING ERRCODE = 'IE010',
                  DETAIL = 'Their reservations were made for the current bills of materials.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION erp.guard_item_component_truncate() IS
    'Trigger: refuses TRUNCATE of erp.item_component while an order line of a kit holds stock (IE010)';

CREATE TRIGGER item_component_no_truncate BEFORE TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_item_component_truncate();
