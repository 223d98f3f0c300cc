-- 82_guards: what an administrator may not change, because the documents (orders,
-- returns, purchase orders, transfers) or erp.verify() rely on it.  Each guard
-- refuses the whole statement with a documented code and changes nothing.
--   * erp.state_transition: no row of the business's own into or out of the
--     states the documents own (incoming, in_transit, return_pending,
--     reserved, picked, packed, inspection, refurbish, vendor_return) - units
--     there belong to a purchase order, a transfer, an order or a return, and
--     only that document's functions move them (the ledger refuses any other
--     move into or out of them, src/ledger.c); event names up to 64 bytes; no
--     TRUNCATE (the shipped rows would go).  The shipped rows themselves are
--     guarded by erp.protect_builtin().
--   * erp.item_component: a kit's bill of materials is not edited while an
--     order line of the kit holds stock (its reservations were made for the
--     old bill), an item with stock does not become a kit, and bills are one
--     level deep: a kit is never a component (nor its own), and a component
--     never becomes a kit - allocation and ATP explode one level, so a kit of
--     kits (or a cycle) would stay short for ever.
--   * erp.item.lot_tracked does not change while the item has stock or an open
--     document: its lot-less units (or its lots) would be stranded.
--   * erp.lot.item_id does not change once the ledger refers to the lot.
-- In restore mode (inventory_erp.restore_mode, superuser only) rows reloaded
-- by pg_restore are let in as they were dumped.  (The guards also ask that the
-- session be a superuser's: a value set before the module is loaded is only a
-- placeholder, which PostgreSQL checks when the module defines the setting.)

CREATE FUNCTION erp.guard_state_transition() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    doc_states CONSTANT erp.stock_state[] :=
        ARRAY['incoming', 'in_transit', 'return_pending', 'reserved', 'picked', 'packed',
              'inspection', 'refurbish', 'vendor_return']::erp.stock_state[];
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
                      DETAIL = 'Units in incoming, in_transit, return_pending, reserved, picked, packed, inspection, refurbish and vendor_return belong to a purchase order, a transfer, an order or a return; only that document''s functions move them.',
                      HINT = 'Transitions of your own may join available, quarantined and damaged, and outside.';
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
    'Trigger: refuses rows of your own into or out of the states documents own (incoming, in_transit, return_pending, reserved, picked, packed, inspection, refurbish, vendor_return) and TRUNCATE (IE010), and event names over 64 bytes (IE004)';

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
    nested record;
    on_hand bigint;
BEGIN
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    -- (runs as the extension's owner: sees every row, whatever row level
    -- security shows the administrator, and may lock the rows found).  The
    -- item rows of the kits and components involved are locked first, in id
    -- order: an allocation that locks a kit FOR SHARE before reading its
    -- components waits for this change, or this change for it; and two
    -- concurrent changes that would nest kits (A gets B while B gets C) meet
    -- on B, the second then seeing the first's row.
    PERFORM 1 FROM erp.item i
     WHERE i.item_id OPERATOR(pg_catalog.=) ANY (ARRAY[
               CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN OLD.kit_item_id END,
               CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN OLD.component_item_id END,
               CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN NEW.kit_item_id END,
               CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN NEW.component_item_id END])
     ORDER BY i.item_id FOR NO KEY UPDATE;
    FOR kit IN
        SELECT OLD.kit_item_id WHERE TG_OP IN ('UPDATE', 'DELETE')
        UNION
        SELECT NEW.kit_item_id WHERE TG_OP IN ('INSERT', 'UPDATE')
    LOOP
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
        -- bills of materials are one level deep: allocation, ATP and returns
        -- explode a kit into its components once
        IF NEW.component_item_id OPERATOR(pg_catalog.=) NEW.kit_item_id THEN
            RAISE EXCEPTION 'kit "%" cannot be a component of itself',
                    (SELECT i.sku FROM erp.item i WHERE i.item_id OPERATOR(pg_catalog.=) NEW.kit_item_id)
                USING ERRCODE = 'IE010',
                      DETAIL = 'A kit is made of other items.';
        END IF;
        SELECT i.sku AS component, k.sku AS kit INTO nested
          FROM erp.item_component c
          JOIN erp.item i ON i.item_id OPERATOR(pg_catalog.=) c.kit_item_id
          JOIN erp.item k ON k.item_id OPERATOR(pg_catalog.=) NEW.kit_item_id
         WHERE c.kit_item_id OPERATOR(pg_catalog.=) NEW.component_item_id
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'item "%" is a kit and cannot be a component of kit "%"', nested.component, nested.kit
                USING ERRCODE = 'IE010',
                      DETAIL = 'Bills of materials are one level deep: allocation and availability explode a kit into its components once, so a kit of kits would never be filled.',
                      HINT = 'List the inner kit''s components in the outer kit instead.';
        END IF;
        SELECT i.sku AS item, k.sku AS kit INTO nested
          FROM erp.item_component c
          JOIN erp.item i ON i.item_id OPERATOR(pg_catalog.=) c.component_item_id
          JOIN erp.item k ON k.item_id OPERATOR(pg_catalog.=) c.kit_item_id
         WHERE c.component_item_id OPERATOR(pg_catalog.=) NEW.kit_item_id
         ORDER BY c.kit_item_id
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'item "%" is a component of kit "%" and cannot become a kit', nested.item, nested.kit
                USING ERRCODE = 'IE010',
                      DETAIL = 'Bills of materials are one level deep: allocation and availability explode a kit into its components once, so a kit of kits would never be filled.',
                      HINT = 'Create a new kit sku with the components themselves.';
        END IF;
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
    'Trigger: refuses to change a kit''s components while an order line of the kit holds stock, to make an item with stock a kit, and to nest kits: a kit as a component (of itself or another kit), a component as a kit (IE010)';

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

CREATE FUNCTION erp.guard_item_lot_tracked() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    what text;
BEGIN
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN NEW;
    END IF;
    -- (runs as the extension's owner: sees every node's stock and documents,
    -- whatever row level security shows the administrator)
    SELECT pg_catalog.format('%s units on hand or inbound', sum(b.qty)) INTO what
      FROM erp.stock_balance b
     WHERE b.item_id OPERATOR(pg_catalog.=) NEW.item_id
    HAVING sum(b.qty) OPERATOR(pg_catalog.<>) 0;
    IF what IS NULL THEN
        SELECT pg_catalog.format('open order %s', ol.order_id) INTO what
          FROM erp.order_line ol JOIN erp.sales_order o ON o.order_id OPERATOR(pg_catalog.=) ol.order_id
         WHERE ol.item_id OPERATOR(pg_catalog.=) NEW.item_id
           AND o.status::text OPERATOR(pg_catalog.<>) ALL (ARRAY['shipped', 'cancelled'])
         ORDER BY ol.order_id LIMIT 1;
    END IF;
    IF what IS NULL THEN
        SELECT pg_catalog.format('open purchase order %s', l.purchase_order_id) INTO what
          FROM erp.purchase_order_line l
          JOIN erp.purchase_order po ON po.purchase_order_id OPERATOR(pg_catalog.=) l.purchase_order_id
         WHERE l.item_id OPERATOR(pg_catalog.=) NEW.item_id
           AND po.status::text OPERATOR(pg_catalog.=) ANY (ARRAY['open', 'partially_received'])
         ORDER BY l.purchase_order_id LIMIT 1;
    END IF;
    IF what IS NULL THEN
        SELECT pg_catalog.format('transfer %s in transit', t.transfer_id) INTO what
          FROM erp.transfer t
         WHERE t.item_id OPERATOR(pg_catalog.=) NEW.item_id AND t.status::text OPERATOR(pg_catalog.=) 'in_transit'
         ORDER BY t.transfer_id LIMIT 1;
    END IF;
    IF what IS NULL THEN
        SELECT pg_catalog.format('adjustment %s pending approval', a.adjustment_id) INTO what
          FROM erp.adjustment a
         WHERE a.item_id OPERATOR(pg_catalog.=) NEW.item_id AND a.status::text OPERATOR(pg_catalog.=) 'pending_approval'
         ORDER BY a.adjustment_id LIMIT 1;
    END IF;
    IF what IS NOT NULL THEN
        RAISE EXCEPTION 'sku "%" cannot % lot-tracked while it has %', NEW.sku,
                CASE WHEN NEW.lot_tracked THEN 'become' ELSE 'stop being' END, what
            USING ERRCODE = 'IE010',
                  DETAIL = CASE WHEN NEW.lot_tracked
                                THEN 'Its units and documents have no lot; a lot-tracked item moves only with a lot, so they would be stranded.'
                                ELSE 'Its units and documents are kept per lot; an item that is not lot-tracked moves without a lot, so they would be stranded.' END,
                  HINT = 'Finish or cancel its documents and move its stock out first, or create a new sku.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.guard_item_lot_tracked() IS
    'Trigger: refuses to change erp.item.lot_tracked while the item has stock (on hand or inbound), an open order, an open purchase order, a transfer in transit or an adjustment pending approval (IE010)';

CREATE TRIGGER item_lot_tracked_guard BEFORE UPDATE OF lot_tracked ON erp.item
    FOR EACH ROW WHEN (OLD.lot_tracked IS DISTINCT FROM NEW.lot_tracked)
    EXECUTE FUNCTION erp.guard_item_lot_tracked();

CREATE FUNCTION erp.guard_lot_item() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('inventory_erp.restore_mode', true) = 'on'
       AND (SELECT u.rolsuper FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) SESSION_USER) THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM erp.stock_move m
                WHERE m.item_id OPERATOR(pg_catalog.=) OLD.item_id AND m.lot_id OPERATOR(pg_catalog.=) OLD.lot_id)
       OR EXISTS (SELECT 1 FROM erp.stock_balance b
                   WHERE b.item_id OPERATOR(pg_catalog.=) OLD.item_id AND b.lot_id OPERATOR(pg_catalog.=) OLD.lot_id) THEN
        RAISE EXCEPTION 'lot "%" has history and cannot move to another item', OLD.lot_code
            USING ERRCODE = 'IE010',
                  DETAIL = 'The ledger and the balances keep its units under the item it was received for.',
                  HINT = 'Create a lot of the other item instead.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.guard_lot_item() IS
    'Trigger: refuses to move a lot the ledger refers to to another item (IE010)';

CREATE TRIGGER lot_item_guard BEFORE UPDATE OF item_id ON erp.lot
    FOR EACH ROW WHEN (OLD.item_id IS DISTINCT FROM NEW.item_id)
    EXECUTE FUNCTION erp.guard_lot_item();
