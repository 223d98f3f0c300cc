\echo Use "ALTER EXTENSION inventory_erp UPDATE TO '0.3.0'" to load this file. \quit
-- inventory_erp 0.2.0 -> 0.3.0: trust.  One partner rule enforced in one place,
-- governance without gaps (thresholds on every adjustment, four eyes, recorded
-- policy changes, guarded rules), bounded input, and the memory and concurrency
-- fixes of the hardening issue.  Each following fragment covers one area and
-- repeats, for databases updated from 0.2.0, what sql/install/ now creates.
-- 10: one partner rule, enforced once (issue 9, section 3).  What
-- sql/install/03_master.sql, 80_verify.sql and 85_access.sql now create:
-- erp.visible_nodes() becomes the C rule of src/access.c (the session's login,
-- not a role it SETs; no search_path of the caller's), erp.order_visible and
-- erp.rma_visible decide for orders and returns as the document functions do,
-- every policy decides with them, and erp.verify() shows a partner only its
-- own rows.
COMMENT ON TABLE erp.node_access IS 'Partner roles (a 3PL''s, a store''s) and the nodes they may see and act at: a session whose login (or the role a superuser''s session SETs) is a member of a listed role, inheriting or not, sees and acts at those nodes only; every other session sees everything';

-- The nodes the session may see when it is a partner, NULL when it sees every
-- node: the one partner rule of src/access.c (the session's login, or the role
-- a superuser's session SETs; membership inheriting or not), the same the C
-- checks of every function apply.  Row level security policies and views call
-- it; it reads erp.node_access itself, so it works for any caller and no
-- search_path or operator of the caller's can change its answer.
CREATE OR REPLACE FUNCTION erp.visible_nodes() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'ierp_access_visible_nodes'
    LANGUAGE C STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.visible_nodes() IS 'Nodes the session may see and act at when it is a partner (its login, or the role a superuser SETs, is a member of a role listed in erp.node_access), NULL when it sees every node';

-- Whether the session may see and act on an order, or a return: the rule the
-- document functions check (AccessCheckOrder, AccessCheckRma).  They run as the
-- extension owner so that they see the document's other nodes too.
CREATE FUNCTION erp.order_visible(order_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_order_visible'
    LANGUAGE C STABLE STRICT SECURITY DEFINER PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.order_visible(bigint) IS 'Whether the session may see and act on the order: always for a session that is no partner; for a partner, when every node where the order holds or shipped stock is one of its nodes, or, while it holds and shipped nothing, when one of its nodes fulfils the order''s channel';

CREATE FUNCTION erp.rma_visible(rma_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ierp_access_rma_visible'
    LANGUAGE C STABLE STRICT SECURITY DEFINER PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.rma_visible(bigint) IS 'Whether the session may see and act on the return: always for a session that is no partner; for a partner, when every node of its lines (expected and received) is one of its nodes';

-- every policy, as 85_access.sql creates it
ALTER POLICY partner_nodes ON erp.stock_balance
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.reservation
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.shipment_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.purchase_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.cycle_count
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.adjustment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.event
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.stock_move
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.transfer
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.rma_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR received_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER POLICY partner_nodes ON erp.sales_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR ((EXISTS (SELECT 1 FROM erp.reservation r
                         WHERE r.order_id OPERATOR(pg_catalog.=) sales_order.order_id
                           AND r.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                OR EXISTS (SELECT 1 FROM erp.shipment_line s
                            WHERE s.order_id OPERATOR(pg_catalog.=) sales_order.order_id
                              AND s.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                OR EXISTS (SELECT 1 FROM erp.channel_node cn
                            WHERE cn.channel_id OPERATOR(pg_catalog.=) sales_order.channel_id
                              AND cn.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))))
               AND erp.order_visible(sales_order.order_id)));
ALTER POLICY partner_nodes ON erp.order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) order_line.order_id));
ALTER POLICY partner_nodes ON erp.shipment
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) shipment.order_id));
ALTER POLICY partner_nodes ON erp.rma
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR (EXISTS (SELECT 1 FROM erp.rma_line l WHERE l.rma_id OPERATOR(pg_catalog.=) rma.rma_id)
               AND erp.rma_visible(rma.rma_id)));
ALTER POLICY partner_nodes ON erp.purchase_order_line
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.purchase_order p
                       WHERE p.purchase_order_id OPERATOR(pg_catalog.=) purchase_order_line.purchase_order_id));
ALTER TABLE erp.node_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.node_access
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- erp.verify(), as 80_verify.sql creates it
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM erp.stock_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';
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

-- 25: events.  The NOTIFY trigger function gets a fixed search_path like every
-- trigger function, and the comments say that a notification carries the event
-- id only (pick exceptions that wait for a worker slot need no SQL change).
ALTER FUNCTION erp.event_notify() SET search_path = pg_catalog, pg_temp;
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...); read it from the last event_id you processed, and LISTEN erp_event to be woken (the notification carries the event id only)';
COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with the new event id (and nothing else), delivered when the transaction that wrote the event commits';

-- 26: events (round 2).  A refusal's event no longer names, in its columns, an
-- order, RMA, item or node that the refused call's own transaction created
-- (it rolls back): the id is kept in the payload instead (src/events.c).
COMMENT ON COLUMN erp.event.payload IS 'Facts of the event (quantities, skus, codes) as JSON; a pick_exception or return_discrepancy whose order, rma, item or node was created by the refused call''s own, rolled-back transaction keeps that id here as uncommitted_order_id (uncommitted_rma_id, ...) and NULL in its column';
-- 30_orders: orders, allocation and balances (issue 9, sections 2, 3 and 5).
-- The changes are in C (bounded capture input, IE010 for a redelivery with other
-- content, partner checks, allocate_pending isolating each order, the global lock
-- order of balance slots); the functions' descriptions say what they now do.
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010)';
COMMENT ON FUNCTION erp.allocate_pending(integer) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; an order that fails is skipped with a WARNING and the batch goes on; returns how many orders received stock';
-- 35_deadlock: no deadlock among order transactions (issue 9, section 5).
-- Slots and orders are owned through transaction-scoped lock tags in one global
-- order (src/balance.c; doc/concurrency.md, "Deadlocks").  An order function that
-- takes its own reserved, picked or packed units while other transactions own
-- the slots that have them books the rest as a negative quantity in a slot of
-- its own instead of waiting: such a slot may be negative, the balance (the sum
-- over its slots) never.  sql/install/04_ledger.sql and 80_verify.sql create the
-- same.
ALTER TABLE erp.stock_balance DROP CONSTRAINT stock_balance_qty_check;
ALTER TABLE erp.stock_balance ADD CONSTRAINT stock_balance_qty_check
    CHECK (qty >= 0 OR state IN ('reserved', 'picked', 'packed'));
COMMENT ON COLUMN erp.stock_balance.qty IS 'Units in this slot; never negative, but for a reserved, picked or packed slot that booked an order''s own units taken while other transactions held the slots that have them (the balance, the sum over slots, is never negative)';

-- erp.verify(), as 80_verify.sql creates it: a negative balance is one whose
-- slots sum below zero; a negative slot outside reserved, picked and packed
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM by_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'negative slot', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM erp.stock_balance b WHERE b.qty < 0 AND b.state NOT IN ('reserved', 'picked', 'packed')
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';
-- 40: returns, supply, counts (RSC helper of issue 9).  Repeats what
-- sql/install/08_returns.sql, 11_governance.sql and 12_intelligence.sql now
-- create: who made a refund due (four eyes on refunds), erp.adjust, the
-- record of policy changes, and the dashboard's policy_changes_7d.

-- 08_returns: who made a refund due; approvals name the login
ALTER TABLE erp.rma_line ADD COLUMN refund_requested_by name;
COMMENT ON COLUMN erp.rma_line.approved_by IS 'Approver who released a refund that waited for approval (the login, not a role it SET)';
COMMENT ON COLUMN erp.rma_line.refund_requested_by IS 'Who made the refund due: received the units (on_receipt rule) or inspected them (otherwise); never its approver (four eyes)';
COMMENT ON FUNCTION erp.approve_refund(bigint) IS
    'Releases a refund that waits for approval; only members of erp_approver other than the person who made the refund due (refund_requested_by), at a node the caller may act at (IE009); returns the amount';

COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days (1 to 3650, IE004) of shipment (IE008); a kit comes back as its components; the units become return_pending at the node that shipped them';

-- 11_governance: four eyes on adjustments, erp.adjust, the policy record
COMMENT ON FUNCTION erp.count(text, text, bigint, text) IS
    'Records a cycle count of available units (counted 0 to 1,000,000,000, IE004); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment by another person; returns the cycle count id';
COMMENT ON FUNCTION erp.approve_adjustment(bigint) IS
    'Applies an adjustment that waits for approval; only members of erp_approver other than its creator (created_by), at a node the caller may act at (IE009)';

-- Adjustments by hand -------------------------------------------------------
-- The same threshold as a count's variance: within it applied at once, above it
-- pending_approval with an adjustment_approval_needed event.
CREATE FUNCTION erp.adjust(sku text, node text, qty_delta bigint, reason text, lot text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_adjust'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.adjust(text, text, bigint, text, text) IS
    'Adjusts available stock by hand (qty_delta > 0 adds, < 0 writes off; at most 1,000,000,000 units) for a reason; applied at once when |qty_delta| x unit_cost is within the adjustment threshold of erp.approval_policy, else pending_approval until another person in erp_approver runs erp.approve_adjustment; returns the adjustment id';

-- The record of policy changes -----------------------------------------------
-- Who changed which rule, when, from what to what: every INSERT, UPDATE, DELETE
-- and TRUNCATE of the tables that decide what the engines allow.

CREATE TABLE erp.policy_change (
    policy_change_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    changed_by          name NOT NULL,
    table_name          name NOT NULL,
    operation           text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    old_row             jsonb,
    new_row             jsonb
);
CREATE INDEX policy_change_at_idx ON erp.policy_change (changed_at);
COMMENT ON TABLE erp.policy_change IS 'Append-only record of every change to erp.approval_policy, erp.disposition_rule, erp.state_transition, erp.node_access and erp.item_component: who, when, the row before and after';
COMMENT ON COLUMN erp.policy_change.changed_at IS 'Start of the transaction that made the change';
COMMENT ON COLUMN erp.policy_change.changed_by IS 'The login that made the change (a role it SET does not replace it; a superuser session is recorded as the role it acts as)';
COMMENT ON COLUMN erp.policy_change.table_name IS 'The policy table changed, in schema erp';
COMMENT ON COLUMN erp.policy_change.old_row IS 'The row before an UPDATE or DELETE; NULL for INSERT and TRUNCATE';
COMMENT ON COLUMN erp.policy_change.new_row IS 'The row after an INSERT or UPDATE; NULL for DELETE and TRUNCATE';

CREATE FUNCTION erp.record_policy_change()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_governance_policy_changed'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.record_policy_change() IS
    'Trigger on the policy tables: writes each change, with the login that made it, to erp.policy_change';

CREATE FUNCTION erp.refuse_policy_change_edit()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_governance_policy_change_guard'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.refuse_policy_change_edit() IS
    'Trigger on erp.policy_change: UPDATE, DELETE and TRUNCATE are refused (IE005)';

CREATE TRIGGER policy_change_append_only BEFORE UPDATE OR DELETE ON erp.policy_change
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_policy_change_edit();
CREATE TRIGGER policy_change_no_truncate BEFORE TRUNCATE ON erp.policy_change
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_policy_change_edit();

CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.approval_policy
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.approval_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.disposition_rule
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.disposition_rule
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.state_transition
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();

-- Readers (auditors, BI) see the record; partners do not: it names other
-- partners' roles and nodes and the business's thresholds.
ALTER TABLE erp.policy_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY not_partners ON erp.policy_change
    USING ((SELECT erp.visible_nodes()) IS NULL);

-- pg_dump keeps the record (sql/install/99_dump.sql marks it on a fresh install)
SELECT pg_catalog.pg_extension_config_dump('erp.policy_change', '');
SELECT pg_catalog.pg_extension_config_dump(
           pg_catalog.pg_get_serial_sequence('erp.policy_change', 'policy_change_id')::regclass, '');

-- 12_intelligence: policy changes on the dashboard (a column added at its end)
-- and erp.policy_audit
CREATE OR REPLACE VIEW erp.dashboard WITH (security_invoker = true) AS
SELECT
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance
      WHERE state NOT IN ('incoming', 'in_transit', 'return_pending'))::bigint AS units_on_hand,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available')::bigint AS units_available,
    (SELECT COALESCE(sum(b.qty * i.unit_cost), 0) FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
      WHERE b.state NOT IN ('incoming', 'in_transit', 'return_pending'))::numeric(14,2) AS inventory_value,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state IN ('incoming', 'in_transit', 'return_pending'))::bigint
        AS units_inbound,
    (SELECT count(*) FROM erp.sales_order WHERE created_at >= date_trunc('day', pg_catalog.now()))::bigint AS orders_today,
    (SELECT count(*) FROM erp.sales_order WHERE status NOT IN ('shipped', 'cancelled'))::bigint AS orders_open,
    (SELECT count(*) FROM erp.shipment WHERE shipped_at >= date_trunc('day', pg_catalog.now()))::bigint AS shipments_today,
    (SELECT round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2)
       FROM erp.order_line ol JOIN erp.sales_order o ON o.order_id = ol.order_id
      WHERE o.status <> 'cancelled') AS unit_fill_rate_pct,
    (SELECT COALESCE(sum(qty_backordered), 0) FROM erp.order_line)::bigint AS units_backordered,
    (SELECT round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / NULLIF(count(*), 0), 2)
       FROM (SELECT count(DISTINCT node_id) AS nodes FROM erp.shipment_line GROUP BY order_id) p) AS split_rate_pct,
    (SELECT count(*) FROM erp.rma WHERE status NOT IN ('closed', 'expired'))::bigint AS returns_open,
    (SELECT count(*) FROM erp.rma_line WHERE refund_status = 'awaiting_approval')::bigint AS refunds_awaiting_approval,
    (SELECT count(*) FROM erp.adjustment WHERE status = 'pending_approval')::bigint AS adjustments_awaiting_approval,
    (SELECT round(100.0 * count(*) FILTER (WHERE variance = 0) / NULLIF(count(*), 0), 2) FROM erp.cycle_count)
        AS count_accuracy_pct,
    (SELECT round((extract(epoch FROM avg(available_at - received_at)) / 3600)::numeric, 2)
       FROM erp.rma_line WHERE available_at IS NOT NULL AND received_at IS NOT NULL) AS return_cycle_hours,
    (SELECT count(*) FROM erp.event WHERE at >= pg_catalog.now() - interval '24 hours')::bigint AS events_24h,
    (SELECT count(*) FROM erp.policy_change WHERE changed_at >= pg_catalog.now() - interval '7 days')::bigint
        AS policy_changes_7d;
COMMENT ON VIEW erp.dashboard IS
    'One row for the operations lead: stock on hand, available, inbound and its value at cost; orders today and open; shipments today; unit fill rate; backordered units; split shipment rate; open returns; refunds and adjustments waiting for approval; count accuracy; return cycle time; events of the last 24 hours; policy changes of the last 7 days (erp.policy_audit)';

CREATE VIEW erp.policy_audit WITH (security_invoker = true) AS
SELECT pc.policy_change_id, pc.changed_at, pc.changed_by, pc.table_name, pc.operation,
       ARRAY(SELECT k.key
               FROM jsonb_object_keys(COALESCE(pc.new_row, pc.old_row, '{}'::jsonb)) AS k(key)
              WHERE (pc.old_row -> k.key) IS DISTINCT FROM (pc.new_row -> k.key)
              ORDER BY k.key) AS changed_columns,
       pc.old_row, pc.new_row
  FROM erp.policy_change pc
 ORDER BY pc.changed_at DESC, pc.policy_change_id DESC;
COMMENT ON VIEW erp.policy_audit IS
    'Policy changes, newest first: who changed which policy table (approval thresholds, disposition rules, state transitions, partner access, kit components), when, the columns that changed, and the rows before and after';


-- 45: erp.create_publication refuses a name that is missing, empty or longer
-- than an identifier (IE004; PostgreSQL would truncate it) and one in use (IE010).
CREATE OR REPLACE FUNCTION erp.create_publication(name text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' OR pg_catalog.octet_length(name) > 63 THEN
        RAISE EXCEPTION 'invalid publication name "%"', pg_catalog.left(COALESCE(name, ''), 80)
            USING ERRCODE = 'IE004',
                  DETAIL = 'A publication name is 1 to 63 bytes long.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = name) THEN
        RAISE EXCEPTION 'publication "%" exists already', name
            USING ERRCODE = 'IE010',
                  HINT = 'Choose another name, or drop the publication first.';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE PUBLICATION %I FOR TABLE erp.item, erp.item_component, erp.node, erp.channel, '
        'erp.channel_node, erp.supplier, erp.lot, erp.stock_policy, erp.channel_reserve, '
        'erp.stock_move, erp.stock_balance, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event', name);
END
$$;

-- 46: an adjustment of an item without a unit cost is valued at its price, so
-- that the approval threshold holds for it too.
COMMENT ON COLUMN erp.adjustment.value IS '|qty_delta| x the item''s unit_cost, or its unit_price when it has no cost (what is at stake is never valued at 0 while the item has a price)';
-- 47_gov2: governance follow-ups of issue 9 (breaker round).
-- Channel nodes, channel reserves and an item's governance columns are
-- recorded in erp.policy_change; no money column holds NaN (83_value_checks).
-- An existing NaN in one of those columns makes this update fail: correct the
-- row (it is a value no computation can use) and run the update again.

-- A channel's nodes are an access grant (a partner sees and may cancel the
-- not yet allocated orders of a channel its node fulfils), and a channel
-- reserve decides which channels may take which stock: both are recorded.
-- erp.stock_policy (safety stock, reorder parameters) is planning, not a rule
-- of who may do what, and is not.
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_node
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_reserve
    FOR EACH ROW EXECUTE FUNCTION erp.record_policy_change();
CREATE TRIGGER policy_truncated AFTER TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_policy_change();
-- An item's governance columns: its cost and price value adjustments against
-- the approval threshold, high_value sends its refunds to an approver, and the
-- flags decide what allocation, receiving and ATP allow.  A change of any of
-- them (not of its title, category or gtin) is recorded; a new item is not (its
-- row is its own record).
CREATE TRIGGER item_governance_changed
    AFTER UPDATE OF unit_cost, unit_price, lot_tracked, min_shelf_life_days, allow_backorder,
                    allow_preorder, high_value, requires_qc, active ON erp.item
    FOR EACH ROW
    WHEN (OLD.unit_cost IS DISTINCT FROM NEW.unit_cost OR OLD.unit_price IS DISTINCT FROM NEW.unit_price
          OR OLD.lot_tracked IS DISTINCT FROM NEW.lot_tracked
          OR OLD.min_shelf_life_days IS DISTINCT FROM NEW.min_shelf_life_days
          OR OLD.allow_backorder IS DISTINCT FROM NEW.allow_backorder
          OR OLD.allow_preorder IS DISTINCT FROM NEW.allow_preorder
          OR OLD.high_value IS DISTINCT FROM NEW.high_value OR OLD.requires_qc IS DISTINCT FROM NEW.requires_qc
          OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION erp.record_policy_change();

COMMENT ON TABLE erp.policy_change IS 'Append-only record of every change to erp.approval_policy, erp.disposition_rule, erp.state_transition, erp.node_access, erp.item_component, erp.channel_node and erp.channel_reserve, and of every change of an item''s governance columns (unit_cost, unit_price, lot_tracked, min_shelf_life_days, allow_backorder, allow_preorder, high_value, requires_qc, active): who, when, the row before and after';

COMMENT ON VIEW erp.policy_audit IS
    'Policy changes, newest first: who changed which policy table (approval thresholds, disposition rules, state transitions, partner access, kit components, channel nodes and reserves, an item''s cost, price and flags), when, the columns that changed, and the rows before and after';

ALTER TABLE erp.item ADD CONSTRAINT item_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.item ADD CONSTRAINT item_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.approval_policy ADD CONSTRAINT approval_policy_max_auto_value_not_nan CHECK (max_auto_value <> 'NaN'::numeric);
ALTER TABLE erp.order_line ADD CONSTRAINT order_line_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_min_unit_value_not_nan CHECK (min_unit_value <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_max_unit_value_not_nan CHECK (max_unit_value <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_restocking_fee_pct_not_nan CHECK (restocking_fee_pct <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_restocking_fee_pct_not_nan CHECK (restocking_fee_pct <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_refund_amount_not_nan CHECK (refund_amount <> 'NaN'::numeric);
ALTER TABLE erp.purchase_order_line ADD CONSTRAINT purchase_order_line_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);

-- At most 1,000 lines per call; four eyes by role membership too.
COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days (1 to 3650, IE004) of shipment (IE008); a kit comes back as its components; the units become return_pending at the node that shipped them; at most 1,000 lines (IE004)';
COMMENT ON FUNCTION erp.receive_return(bigint, text, jsonb) IS
    'Records returned units arriving (all that is expected, or lines = [{"sku": .., "qty": ..}]) at node (default: the node that shipped them); they go to inspection; a sku not on the RMA is refused (IE007) and recorded as a return_discrepancy event; at most 1,000 lines (IE004)';
COMMENT ON FUNCTION erp.approve_refund(bigint) IS
    'Releases a refund that waits for approval; only members of erp_approver other than the person who made the refund due (refund_requested_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009); returns the amount';
COMMENT ON FUNCTION erp.create_po(text, text, jsonb, timestamptz) IS
    'Records a supplier-confirmed purchase order (lines = [{"sku": .., "qty": .., "unit_cost": ..}]); its units become incoming at node; at most 1,000 lines (IE004); returns the purchase order id';
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}]; lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';
COMMENT ON FUNCTION erp.approve_adjustment(bigint) IS
    'Applies an adjustment that waits for approval; only members of erp_approver other than its creator (created_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009)';
-- 48_ledger2: the states documents own, one-level bills of materials and the
-- lot_tracked guard (issue 9, round 2), as sql/install/82_guards.sql and
-- src/ledger.c now have them.
--   * Units in incoming, in_transit, return_pending, reserved, picked, packed,
--     inspection, refurbish and vendor_return belong to a purchase order, a
--     transfer, an order or a return: erp.move and direct ledger rows may not
--     take units into or out of them (IE002, in C, for rows of the business's
--     own added before this version too), and no row of one's own may join
--     them (erp.guard_state_transition, IE010).
--   * erp.item_component: no kit as a component, no component as a kit.
--   * erp.item.lot_tracked does not change while the item has stock or an
--     open document; erp.lot.item_id does not change once the ledger refers
--     to the lot.

CREATE OR REPLACE FUNCTION erp.guard_state_transition() RETURNS trigger
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

CREATE OR REPLACE FUNCTION erp.guard_item_component() RETURNS trigger
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
    IF EXISTS (SELECT 1 FROM erp.stock_move m WHERE m.lot_id OPERATOR(pg_catalog.=) OLD.lot_id)
       OR EXISTS (SELECT 1 FROM erp.stock_balance b WHERE b.lot_id OPERATOR(pg_catalog.=) OLD.lot_id) THEN
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

-- as sql/install/04_ledger.sql
COMMENT ON COLUMN erp.state_transition.engine IS 'The function family that owns this transition (orders, returns, purchasing); erp.move() refuses it so the documents behind the stock stay consistent; NULL = any move, except that no move but a document function''s enters or leaves incoming, in_transit, return_pending, reserved, picked, packed, inspection, refurbish or vendor_return';
COMMENT ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text) IS
    'Moves qty units of sku at node from one state to another under event (NULL state = outside), between available, quarantined, damaged and outside (the other states belong to documents: IE002); to_node for a transition of your own that changes node; returns the move id';
-- 49_fix3: a short pick's write-off is an adjustment (issue 9, breaker round 2).
-- erp.short_pick records its write-off in erp.adjustment (reason 'short_pick')
-- under the one adjustment threshold; above it the missing units wait in
-- quarantined and the adjustment, pending_approval, writes them off from there
-- when approved.  Existing adjustments wrote off available units.
ALTER TABLE erp.adjustment
    ADD COLUMN from_state erp.stock_state NOT NULL DEFAULT 'available'
        CONSTRAINT adjustment_from_state_check CHECK (from_state IN ('available', 'quarantined', 'reserved'));
COMMENT ON TABLE erp.adjustment IS 'A correction of on-hand stock (from a count, by hand, or the write-off of a short pick): applied at once when its value is within erp.approval_policy, else pending_approval until an approver applies it';
COMMENT ON COLUMN erp.adjustment.from_state IS 'The state a write-off takes (or took) its units from: available (a count, erp.adjust), reserved (a short pick within the threshold, applied at once), or quarantined (a short pick above it: the missing units wait there, on hand but not promisable, until an approver writes them off)';

-- 50: a short pick's write-off goes through the adjustment threshold.
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint) IS
    'Reports missing reserved units; their write-off is an adjustment (reason short_pick): applied at once within the adjustment threshold, else the units move to quarantined and the adjustment waits for erp.approve_adjustment by another person; the line is re-allocated at another node';

-- 51: the adjustment threshold holds for a person's changes of an item over a day,
-- summed from erp.adjustment by item and time.
CREATE INDEX adjustment_item_idx ON erp.adjustment (item_id, created_at);

-- 60: the public C functions run as their owner through their C entry, which records
-- the caller, instead of SECURITY DEFINER, which hid a caller's own SECURITY DEFINER
-- function from the partner and four-eyes rules.
ALTER FUNCTION erp.order_visible(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.rma_visible(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text) SECURITY INVOKER;
ALTER FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer) SECURITY INVOKER;
ALTER FUNCTION erp.allocate(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.allocate_pending(integer) SECURITY INVOKER;
ALTER FUNCTION erp.atp(text, text, text, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.cancel_order(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.pick(bigint, text, bigint) SECURITY INVOKER;
ALTER FUNCTION erp.short_pick(bigint, text, bigint) SECURITY INVOKER;
ALTER FUNCTION erp.pack(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.ship(bigint, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.authorize_return(bigint, jsonb, integer) SECURITY INVOKER;
ALTER FUNCTION erp.receive_return(bigint, text, jsonb) SECURITY INVOKER;
ALTER FUNCTION erp.inspect_return(bigint, erp.item_condition) SECURITY INVOKER;
ALTER FUNCTION erp.approve_refund(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.complete_refurbish(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.return_to_vendor(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.expire_returns() SECURITY INVOKER;
ALTER FUNCTION erp.create_po(text, text, jsonb, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.receive_po(bigint, jsonb) SECURITY INVOKER;
ALTER FUNCTION erp.delay_po(bigint, timestamptz) SECURITY INVOKER;
ALTER FUNCTION erp.transfer(text, text, text, bigint, text) SECURITY INVOKER;
ALTER FUNCTION erp.receive_transfer(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.create_replenishment_pos() SECURITY INVOKER;
ALTER FUNCTION erp.count(text, text, bigint, text) SECURITY INVOKER;
ALTER FUNCTION erp.approve_adjustment(bigint) SECURITY INVOKER;
ALTER FUNCTION erp.adjust(text, text, bigint, text, text) SECURITY INVOKER;
ALTER FUNCTION erp.record_policy_change() SECURITY INVOKER;
ALTER FUNCTION erp.verify() SECURITY INVOKER;
-- 70 (update): the stock kernel's re-keying (issue 10), as sql/install/04_ledger.sql,
-- 80_verify.sql and 85_access.sql now create it.
--   * erp.stock_balance, a table of slot rows (one per item, node, lot, state and
--     slot), becomes a view over erp.stock_slot (one row per item, node, bin, lot
--     and slot, one column per state).  Every balance is carried across: the sum
--     per (item, node, lot, state) lands in slot 0 of (item, node, bin 0, lot).
--     How 0.2.0 split a balance over slots does not survive (a reserved, picked or
--     packed slot may be below zero there; the sums never are), the sums do, and
--     the update checks that they are the same before it drops the old table.
--   * erp.stock_move is keyed (item_id, move_id); the ledger trigger that applied
--     rows becomes a guard that refuses rows the kernel did not write.
--   * The views that read erp.stock_balance are dropped first and recreated, as
--     sql/install defines them, over the new view; erp.verify() reads the slots.
-- Runs after every earlier fragment (they still saw the 0.2.0 table) and before
-- 98_search_path and 99_grants.

-- the views over the old table (09_supply, 10_availability, 12_intelligence)
DROP VIEW erp.dashboard;
DROP VIEW erp.kpi_backorder_exposure;
DROP VIEW erp.availability;
DROP VIEW erp.replenishment;

-- the ledger: keyed by item; the kernel appends its rows, the trigger only guards
DROP TRIGGER stock_move_apply ON erp.stock_move;
DROP FUNCTION erp.ledger_apply_move();
ALTER TABLE erp.stock_move DROP CONSTRAINT stock_move_pkey;
ALTER TABLE erp.stock_move ADD PRIMARY KEY (item_id, move_id);
DROP INDEX erp.stock_move_item_idx;

-- The ledger's guard: the stock kernel appends its rows itself; every other INSERT is refused.
CREATE FUNCTION erp.guard_ledger_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_move_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_ledger_insert() IS 'Trigger: refuses an INSERT into erp.stock_move that does not come from the stock kernel (IE005), unless inventory_erp.restore_mode is on (history reloaded by pg_restore)';
CREATE TRIGGER stock_move_guard BEFORE INSERT ON erp.stock_move
    FOR EACH ROW EXECUTE FUNCTION erp.guard_ledger_insert();

CREATE OR REPLACE FUNCTION erp.guard_balance_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_slot_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_balance_write() IS 'Trigger: refuses any write of erp.stock_slot or erp.stock_balance that does not come from the stock kernel (IE005)';

-- The balances: one row per item, node, bin, lot and slot, one column per stock
-- state (in erp.stock_state's order), so that a move between two states of one
-- balance changes one row.  A balance is the sum of its slots.  One slot is the
-- norm; under contention the kernel spreads a hot balance over a few slots
-- (inventory_erp.balance_slots) so concurrent orders of one SKU do not queue on
-- a single row lock.  Only the stock kernel writes it (src/stock/slots.c).
CREATE TABLE erp.stock_slot (
    item_id             bigint NOT NULL,
    node_id             bigint NOT NULL,
    bin_id              bigint NOT NULL DEFAULT 0,
    lot_id              bigint NOT NULL DEFAULT 0,
    slot                integer NOT NULL,
    incoming            bigint NOT NULL DEFAULT 0,
    in_transit          bigint NOT NULL DEFAULT 0,
    return_pending      bigint NOT NULL DEFAULT 0,
    available           bigint NOT NULL DEFAULT 0,
    reserved            bigint NOT NULL DEFAULT 0,
    picked              bigint NOT NULL DEFAULT 0,
    packed              bigint NOT NULL DEFAULT 0,
    inspection          bigint NOT NULL DEFAULT 0,
    quarantined         bigint NOT NULL DEFAULT 0,
    damaged             bigint NOT NULL DEFAULT 0,
    refurbish           bigint NOT NULL DEFAULT 0,
    vendor_return       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, node_id, bin_id, lot_id, slot),
    CONSTRAINT stock_slot_not_negative CHECK (incoming >= 0 AND in_transit >= 0 AND return_pending >= 0
        AND available >= 0 AND inspection >= 0 AND quarantined >= 0 AND damaged >= 0
        AND refurbish >= 0 AND vendor_return >= 0)
);
COMMENT ON TABLE erp.stock_slot IS 'The balances as the stock kernel keeps them: units per state of an item at a node (bin, lot), split over slots to spread lock contention; derived from erp.stock_move in the same transaction. Read erp.stock_balance';
COMMENT ON COLUMN erp.stock_slot.bin_id IS 'Place inside the node; 0 = the node''s stock outside bins (bins come with the warehouse release)';
COMMENT ON COLUMN erp.stock_slot.lot_id IS 'Lot of a lot-tracked item; 0 = no lot';
COMMENT ON COLUMN erp.stock_slot.slot IS 'Part of a balance split across rows to spread lock contention; the balance is the sum over slots';
COMMENT ON COLUMN erp.stock_slot.reserved IS 'Units held for orders; a slot may be below zero when an order took its own units while other transactions owned the slots that had them (the sum over slots never is); so may picked and packed';

-- The balances carried across, before the slots' triggers exist (they refuse
-- every write that does not come from the kernel).  FILTER over the 0.2.0 rows of
-- one (item, node, lot): the sum of each state, 0 when it has no row.
INSERT INTO erp.stock_slot (item_id, node_id, bin_id, lot_id, slot, incoming, in_transit, return_pending,
                            available, reserved, picked, packed, inspection, quarantined, damaged,
                            refurbish, vendor_return)
SELECT b.item_id, b.node_id, 0, COALESCE(b.lot_id, 0), 0,
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'incoming'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'in_transit'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'return_pending'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'available'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'reserved'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'picked'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'packed'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'inspection'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'quarantined'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'damaged'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'refurbish'), 0),
       COALESCE(sum(b.qty) FILTER (WHERE b.state = 'vendor_return'), 0)
  FROM erp.stock_balance b
 GROUP BY b.item_id, b.node_id, COALESCE(b.lot_id, 0);

-- Nothing lost: every balance (item, node, lot, state) of the old table has the
-- same sum in the slots, and the slots hold no other units (a state the columns
-- above do not name would show here).  Otherwise the update stops, changing nothing.
DO $carried$
DECLARE
    differences bigint;
    first_difference text;
BEGIN
    WITH old_sums AS (
        SELECT b.item_id, b.node_id, COALESCE(b.lot_id, 0) AS lot_id, b.state, sum(b.qty) AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), new_sums AS (
        SELECT s.item_id, s.node_id, s.lot_id, q.state, sum(q.qty) AS qty
          FROM erp.stock_slot s
         CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                    ('return_pending', s.return_pending), ('available', s.available),
                                    ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                                    ('inspection', s.inspection), ('quarantined', s.quarantined),
                                    ('damaged', s.damaged), ('refurbish', s.refurbish),
                                    ('vendor_return', s.vendor_return)) AS q(state, qty)
         GROUP BY 1, 2, 3, 4
    ), diff AS (
        SELECT COALESCE(o.item_id, n.item_id) AS item_id, COALESCE(o.node_id, n.node_id) AS node_id,
               COALESCE(o.lot_id, n.lot_id) AS lot_id, COALESCE(o.state, n.state) AS state,
               COALESCE(o.qty, 0) AS before, COALESCE(n.qty, 0) AS after
          FROM old_sums o
          FULL JOIN new_sums n
            ON n.item_id = o.item_id AND n.node_id = o.node_id AND n.lot_id = o.lot_id AND n.state = o.state
         WHERE COALESCE(o.qty, 0) <> COALESCE(n.qty, 0)
    )
    SELECT count(*), min(pg_catalog.format('item %s, node %s, lot %s, %s: %s before, %s after',
                                           item_id, node_id, lot_id, state, before, after))
      INTO differences, first_difference
      FROM diff;
    IF differences > 0 THEN
        RAISE EXCEPTION 'inventory_erp update: % balance(s) would change when erp.stock_balance becomes erp.stock_slot', differences
            USING DETAIL = 'First: ' || first_difference || '.';
    END IF;
END
$carried$;

-- A publication of the balances (erp.create_publication) publishes the slots
-- instead: dropping the old table takes it out of the publication.  (Each
-- subscriber is updated too, which carries its own balances across; then
-- ALTER SUBSCRIPTION ... REFRESH PUBLICATION WITH (copy_data = false).)
DO $publications$
DECLARE
    pub name;
BEGIN
    FOR pub IN
        SELECT p.pubname FROM pg_catalog.pg_publication p
          JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid
         WHERE r.prrelid = 'erp.stock_balance'::regclass
         ORDER BY p.pubname
    LOOP
        EXECUTE pg_catalog.format('ALTER PUBLICATION %I ADD TABLE erp.stock_slot', pub);
    END LOOP;
END
$publications$;

-- the old table goes with its triggers, policy, index and identity sequence
-- (both leave the extension's dump configuration first)
ALTER EXTENSION inventory_erp DROP SEQUENCE erp.stock_balance_stock_balance_id_seq;
ALTER EXTENSION inventory_erp DROP TABLE erp.stock_balance;
DROP TABLE erp.stock_balance;

CREATE VIEW erp.stock_balance WITH (security_barrier = true) AS
SELECT s.item_id, s.node_id, NULLIF(s.lot_id, 0) AS lot_id, q.state, sum(q.qty)::bigint AS qty
  FROM erp.stock_slot s
 CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                            ('return_pending', s.return_pending), ('available', s.available),
                            ('reserved', s.reserved), ('picked', s.picked), ('packed', s.packed),
                            ('inspection', s.inspection), ('quarantined', s.quarantined),
                            ('damaged', s.damaged), ('refurbish', s.refurbish),
                            ('vendor_return', s.vendor_return)) AS q(state, qty)
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR s.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
    OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r
         WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
 GROUP BY s.item_id, s.node_id, s.lot_id, q.state
HAVING sum(q.qty) <> 0;
COMMENT ON VIEW erp.stock_balance IS 'Quantity per item, node, lot and state (states with units only), summed over the slots of erp.stock_slot; derived from erp.stock_move in the same transaction';

CREATE TRIGGER stock_slot_derived BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_slot
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_slot_derived_insert BEFORE INSERT ON erp.stock_slot
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_balance_derived INSTEAD OF INSERT OR UPDATE OR DELETE ON erp.stock_balance
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();

-- as 85_access.sql: a partner reads the slots of its nodes only
ALTER TABLE erp.stock_slot ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_slot
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- as 09_supply.sql
CREATE VIEW erp.replenishment WITH (security_invoker = true) AS
WITH stock AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state IN ('available', 'reserved', 'picked', 'packed', 'inspection',
                                                'quarantined', 'damaged', 'refurbish', 'vendor_return')) AS on_hand,
           sum(b.qty) FILTER (WHERE b.state = 'available') AS available,
           sum(b.qty) FILTER (WHERE b.state IN ('incoming', 'in_transit', 'return_pending')) AS inbound
      FROM erp.stock_balance b GROUP BY b.item_id, b.node_id
), demand AS (
    SELECT sl.item_id, sl.node_id, sum(sl.qty) AS shipped
      FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
     WHERE s.shipped_at >= pg_catalog.now() - interval '28 days'
     GROUP BY sl.item_id, sl.node_id
), waiting AS (
    -- a backorder waits at the best-ranked node of its order's channel
    SELECT ol.item_id, first_node.node_id, sum(ol.qty_backordered) AS qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
      CROSS JOIN LATERAL (SELECT cn.node_id FROM erp.channel_node cn
                           WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1) first_node
     WHERE ol.qty_backordered > 0   -- a line keeps its backorder while its allocated part is picked
     GROUP BY ol.item_id, first_node.node_id
), position AS (
    SELECT p.item_id, p.node_id, p.reorder_point, p.order_up_to,
           COALESCE(p.lead_time_days, s.lead_time_days, 7) AS lead_time_days,
           COALESCE(st.on_hand, 0) AS on_hand, COALESCE(st.available, 0) AS available,
           COALESCE(st.inbound, 0) AS inbound, COALESCE(w.qty, 0) AS backordered,
           COALESCE(d.shipped, 0) / 28.0 AS daily_demand
      FROM erp.stock_policy p
      LEFT JOIN erp.supplier s ON s.supplier_id = p.supplier_id
      LEFT JOIN stock st ON st.item_id = p.item_id AND st.node_id = p.node_id
      LEFT JOIN demand d ON d.item_id = p.item_id AND d.node_id = p.node_id
      LEFT JOIN waiting w ON w.item_id = p.item_id AND w.node_id = p.node_id
)
SELECT i.sku, n.code AS node,
       x.on_hand::bigint, x.available::bigint, x.inbound::bigint, x.backordered::bigint,
       round(x.daily_demand, 2) AS avg_daily_demand, x.reorder_point, x.order_up_to,
       CASE WHEN x.available + x.inbound - x.backordered < x.reorder_point
            THEN greatest(x.order_up_to - (x.available + x.inbound - x.backordered), 0) ELSE 0 END::bigint AS suggested_qty,
       CASE WHEN x.daily_demand > 0 THEN round(x.available / x.daily_demand, 1) END AS days_of_cover,
       CASE WHEN x.available = 0 AND (x.backordered > 0 OR x.daily_demand > 0) THEN 'stockout'
            WHEN x.daily_demand > 0 AND (x.available + x.inbound) / x.daily_demand < x.lead_time_days THEN 'high'
            WHEN x.available + x.inbound - x.backordered < x.reorder_point THEN 'medium'
            ELSE 'low' END AS stockout_risk,
       x.lead_time_days, x.item_id, x.node_id
  FROM position x
  JOIN erp.item i ON i.item_id = x.item_id
  JOIN erp.node n ON n.node_id = x.node_id
 -- stock policies carry no row security of their own: partners see their nodes only
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR x.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.replenishment IS
    'Per item and node with a stock policy: position = available + inbound - backordered; suggested_qty = order_up_to - position when position < reorder_point, else 0; avg_daily_demand = units shipped from the node in the last 28 days / 28; days_of_cover = available / avg_daily_demand; stockout_risk: stockout (nothing available and demand waiting), high (available + inbound lasts less than the lead time), medium (below the reorder point), low';
COMMENT ON COLUMN erp.replenishment.backordered IS 'Units backordered by orders whose channel''s best-ranked node is this node';
COMMENT ON COLUMN erp.replenishment.suggested_qty IS 'Units to order to bring the position back to order_up_to';

-- as 10_availability.sql
CREATE VIEW erp.availability WITH (security_invoker = true) AS
WITH per_state AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state = 'available')      AS available,
           sum(b.qty) FILTER (WHERE b.state = 'available'
                              AND (i.min_shelf_life_days = 0 OR b.lot_id IS NULL
                                   OR l.expires_on IS NULL
                                   OR l.expires_on >= CURRENT_DATE + i.min_shelf_life_days)) AS promisable,
           sum(b.qty) FILTER (WHERE b.state = 'reserved')       AS reserved,
           sum(b.qty) FILTER (WHERE b.state = 'picked')         AS picked,
           sum(b.qty) FILTER (WHERE b.state = 'packed')         AS packed,
           sum(b.qty) FILTER (WHERE b.state = 'inspection')     AS inspection,
           sum(b.qty) FILTER (WHERE b.state = 'quarantined')    AS quarantined,
           sum(b.qty) FILTER (WHERE b.state = 'damaged')        AS damaged,
           sum(b.qty) FILTER (WHERE b.state = 'refurbish')      AS refurbish,
           sum(b.qty) FILTER (WHERE b.state = 'vendor_return')  AS vendor_return,
           sum(b.qty) FILTER (WHERE b.state = 'incoming')       AS incoming,
           sum(b.qty) FILTER (WHERE b.state = 'in_transit')     AS in_transit,
           sum(b.qty) FILTER (WHERE b.state = 'return_pending') AS return_pending
      FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id
      LEFT JOIN erp.lot l ON l.lot_id = b.lot_id
     GROUP BY b.item_id, b.node_id
), fenced AS (
    -- each channel's ring-fence, less what that channel's orders hold now (as erp.atp)
    SELECT r.item_id,
           sum(greatest(r.qty - coalesce((SELECT sum(v.qty) FROM erp.reservation v
                                            JOIN erp.sales_order o ON o.order_id = v.order_id
                                           WHERE v.item_id = r.item_id AND o.channel_id = r.channel_id), 0), 0)) AS qty
      FROM erp.channel_reserve r GROUP BY r.item_id
)
SELECT i.sku, n.code AS node,
       coalesce(s.available, 0)::bigint      AS available,
       coalesce(s.reserved, 0)::bigint       AS reserved,
       coalesce(s.picked, 0)::bigint         AS picked,
       coalesce(s.packed, 0)::bigint         AS packed,
       coalesce(s.inspection, 0)::bigint     AS inspection,
       coalesce(s.quarantined, 0)::bigint    AS quarantined,
       coalesce(s.damaged, 0)::bigint        AS damaged,
       coalesce(s.refurbish, 0)::bigint      AS refurbish,
       coalesce(s.vendor_return, 0)::bigint  AS vendor_return,
       coalesce(s.incoming, 0)::bigint       AS incoming,
       coalesce(s.in_transit, 0)::bigint     AS in_transit,
       coalesce(s.return_pending, 0)::bigint AS return_pending,
       (coalesce(s.available, 0) + coalesce(s.reserved, 0) + coalesce(s.picked, 0)
        + coalesce(s.packed, 0) + coalesce(s.inspection, 0) + coalesce(s.quarantined, 0)
        + coalesce(s.damaged, 0) + coalesce(s.refurbish, 0) + coalesce(s.vendor_return, 0))::bigint AS on_hand,
       (coalesce(s.incoming, 0) + coalesce(s.in_transit, 0) + coalesce(s.return_pending, 0))::bigint AS inbound,
       coalesce(p.safety_stock, 0)::bigint AS safety_stock,
       greatest(coalesce(s.promisable, 0) - coalesce(p.safety_stock, 0) - coalesce(f.qty, 0), 0)::bigint AS atp,
       i.item_id, n.node_id
  FROM per_state s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  LEFT JOIN erp.stock_policy p ON p.item_id = s.item_id AND p.node_id = s.node_id
  LEFT JOIN fenced f ON f.item_id = s.item_id;
COMMENT ON VIEW erp.availability IS
    'One row per sku and node that has ever held stock: units in each state, on_hand = available + reserved + picked + packed + inspection + quarantined + damaged + refurbish + vendor_return, inbound = incoming + in_transit + return_pending, and atp = promisable available - safety stock - every channel''s ring-fence (never below 0)';
COMMENT ON COLUMN erp.availability.atp IS 'Available-to-promise with no channel given: available in lots with enough shelf life, less safety stock and all ring-fenced units';
COMMENT ON COLUMN erp.availability.on_hand IS 'Units physically at the node, whatever their state';
COMMENT ON COLUMN erp.availability.inbound IS 'Units on their way to the node: incoming from suppliers, in transit from other nodes, returns authorised';

-- as 12_intelligence.sql
CREATE VIEW erp.kpi_backorder_exposure WITH (security_invoker = true) AS
SELECT i.sku,
       count(DISTINCT ol.order_id)::bigint AS orders,
       sum(ol.qty_backordered)::bigint AS units_backordered,
       sum(ol.qty_backordered * ol.unit_price)::numeric(14,2) AS revenue_at_risk,
       round((extract(epoch FROM max(pg_catalog.now() - o.created_at)) / 3600)::numeric, 1) AS oldest_age_hours,
       COALESCE((SELECT sum(b.qty) FROM erp.stock_balance b
                  WHERE b.item_id = i.item_id AND b.state IN ('incoming', 'in_transit')), 0)::bigint AS inbound,
       (SELECT min(po.expected_at) FROM erp.purchase_order po
          JOIN erp.purchase_order_line pl ON pl.purchase_order_id = po.purchase_order_id
         WHERE pl.item_id = i.item_id AND pl.qty > pl.qty_received
           AND po.status IN ('open', 'partially_received')) AS next_expected_at
  FROM erp.order_line ol
  JOIN erp.sales_order o ON o.order_id = ol.order_id
  JOIN erp.item i ON i.item_id = ol.item_id
 WHERE ol.qty_backordered > 0   -- also while the allocated part of the line is being picked
 GROUP BY i.sku, i.item_id;
COMMENT ON VIEW erp.kpi_backorder_exposure IS
    'Per item with backorders: orders and units waiting, revenue_at_risk = sum backordered x unit price, oldest wait in hours, units inbound (incoming + in transit) and the next purchase order due';

CREATE VIEW erp.dashboard WITH (security_invoker = true) AS
SELECT
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance
      WHERE state NOT IN ('incoming', 'in_transit', 'return_pending'))::bigint AS units_on_hand,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available')::bigint AS units_available,
    (SELECT COALESCE(sum(b.qty * i.unit_cost), 0) FROM erp.stock_balance b JOIN erp.item i ON i.item_id = b.item_id
      WHERE b.state NOT IN ('incoming', 'in_transit', 'return_pending'))::numeric(14,2) AS inventory_value,
    (SELECT COALESCE(sum(qty), 0) FROM erp.stock_balance WHERE state IN ('incoming', 'in_transit', 'return_pending'))::bigint
        AS units_inbound,
    (SELECT count(*) FROM erp.sales_order WHERE created_at >= date_trunc('day', pg_catalog.now()))::bigint AS orders_today,
    (SELECT count(*) FROM erp.sales_order WHERE status NOT IN ('shipped', 'cancelled'))::bigint AS orders_open,
    (SELECT count(*) FROM erp.shipment WHERE shipped_at >= date_trunc('day', pg_catalog.now()))::bigint AS shipments_today,
    (SELECT round(100.0 * sum(ol.qty_allocated) / NULLIF(sum(ol.qty), 0), 2)
       FROM erp.order_line ol JOIN erp.sales_order o ON o.order_id = ol.order_id
      WHERE o.status <> 'cancelled') AS unit_fill_rate_pct,
    (SELECT COALESCE(sum(qty_backordered), 0) FROM erp.order_line)::bigint AS units_backordered,
    (SELECT round(100.0 * count(*) FILTER (WHERE p.nodes > 1) / NULLIF(count(*), 0), 2)
       FROM (SELECT count(DISTINCT node_id) AS nodes FROM erp.shipment_line GROUP BY order_id) p) AS split_rate_pct,
    (SELECT count(*) FROM erp.rma WHERE status NOT IN ('closed', 'expired'))::bigint AS returns_open,
    (SELECT count(*) FROM erp.rma_line WHERE refund_status = 'awaiting_approval')::bigint AS refunds_awaiting_approval,
    (SELECT count(*) FROM erp.adjustment WHERE status = 'pending_approval')::bigint AS adjustments_awaiting_approval,
    (SELECT round(100.0 * count(*) FILTER (WHERE variance = 0) / NULLIF(count(*), 0), 2) FROM erp.cycle_count)
        AS count_accuracy_pct,
    (SELECT round((extract(epoch FROM avg(available_at - received_at)) / 3600)::numeric, 2)
       FROM erp.rma_line WHERE available_at IS NOT NULL AND received_at IS NOT NULL) AS return_cycle_hours,
    (SELECT count(*) FROM erp.event WHERE at >= pg_catalog.now() - interval '24 hours')::bigint AS events_24h,
    (SELECT count(*) FROM erp.policy_change WHERE changed_at >= pg_catalog.now() - interval '7 days')::bigint
        AS policy_changes_7d;
COMMENT ON VIEW erp.dashboard IS
    'One row for the operations lead: stock on hand, available, inbound and its value at cost; orders today and open; shipments today; unit fill rate; backordered units; split shipment rate; open returns; refunds and adjustments waiting for approval; count accuracy; return cycle time; events of the last 24 hours; policy changes of the last 7 days (erp.policy_audit)';

-- as 80_verify.sql: negative slots are read from erp.stock_slot
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH ledger AS (
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM by_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'negative slot', s.item_id, s.node_id, NULLIF(s.lot_id, 0), q.state, 0, q.qty, NULL
      FROM erp.stock_slot s
     CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                ('return_pending', s.return_pending), ('available', s.available),
                                ('inspection', s.inspection), ('quarantined', s.quarantined),
                                ('damaged', s.damaged), ('refurbish', s.refurbish),
                                ('vendor_return', s.vendor_return)) AS q(state, qty)
     WHERE q.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger, negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';

-- as 90_grants.sql and 99_dump.sql: readers read the new relations (nobody but
-- the kernel writes them), and pg_dump keeps the slots
REVOKE ALL ON erp.stock_slot, erp.stock_balance, erp.replenishment, erp.availability,
              erp.kpi_backorder_exposure, erp.dashboard FROM PUBLIC;
GRANT SELECT ON erp.stock_slot, erp.stock_balance, erp.replenishment, erp.availability,
                erp.kpi_backorder_exposure, erp.dashboard TO erp_reader;
SELECT pg_catalog.pg_extension_config_dump('erp.stock_slot', '');
-- 87_caches: every session caches the master data it looks up by business key
-- (items by sku and id, nodes and channels by code, the nodes of a channel, stock
-- policies, which items are ring-fenced: src/master_cache.c).  A change of one of
-- these tables tells every session to drop its copy (erp.reload_rules sends the
-- relcache invalidation; others receive it at commit).  The triggers are row
-- triggers (a logical-replication subscriber's apply worker fires row triggers
-- only) with a statement trigger for TRUNCATE, and fire ALWAYS: also for changes a
-- subscriber or a data-only restore writes (session_replication_role = replica).
CREATE TRIGGER item_cached AFTER INSERT OR UPDATE OR DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_cached_truncate AFTER TRUNCATE ON erp.item
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_component_cached AFTER INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_component_cached_truncate AFTER TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER node_cached AFTER INSERT OR UPDATE OR DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER node_cached_truncate AFTER TRUNCATE ON erp.node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_cached_truncate AFTER TRUNCATE ON erp.channel
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_node_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel_node
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_node_cached_truncate AFTER TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER stock_policy_cached AFTER INSERT OR UPDATE OR DELETE ON erp.stock_policy
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER stock_policy_cached_truncate AFTER TRUNCATE ON erp.stock_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_reserve_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel_reserve
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_reserve_cached_truncate AFTER TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
-- the rules cached since 0.2.0 (partner access, the state machine, disposition
-- rules) are heard from a subscriber too
CREATE TRIGGER node_access_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER state_transition_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER disposition_rule_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.disposition_rule
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
DO $always$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.tgname, tg.tgrelid::regclass AS rel
          FROM pg_catalog.pg_trigger tg
         WHERE tg.tgfoid = 'erp.reload_rules()'::regprocedure AND NOT tg.tgisinternal
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname);
    END LOOP;
END
$always$;
COMMENT ON FUNCTION erp.reload_rules() IS 'Trigger: tells every session, at commit, to drop what it caches from this table (state machine, disposition rules, partner access, items, nodes, channels, channel nodes, stock policies, ring-fences)';

-- the publication carries the balances as erp.stock_slot (a view cannot be published)
CREATE OR REPLACE FUNCTION erp.create_publication(name text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' OR pg_catalog.octet_length(name) > 63 THEN
        RAISE EXCEPTION 'invalid publication name "%"', pg_catalog.left(COALESCE(name, ''), 80)
            USING ERRCODE = 'IE004',
                  DETAIL = 'A publication name is 1 to 63 bytes long.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = name) THEN
        RAISE EXCEPTION 'publication "%" exists already', name
            USING ERRCODE = 'IE010',
                  HINT = 'Choose another name, or drop the publication first.';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE PUBLICATION %I FOR TABLE erp.item, erp.item_component, erp.node, erp.channel, '
        'erp.channel_node, erp.supplier, erp.lot, erp.stock_policy, erp.channel_reserve, '
        'erp.stock_move, erp.stock_slot, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event', name);
END
$$;
-- 77_rekey: the item-scoped document tables are keyed (item_id, <id>) (SPEC 2),
-- as the ledger (70_kernel) already is, so that they can be distributed by
-- item: erp.lot, erp.reservation, erp.transfer, erp.adjustment and
-- erp.cycle_count.  The foreign keys that point at them carry item_id; the
-- unique key of a reservation leads with item_id; a plain index on the id
-- serves the one lookup of a document by its id (erp.receive_transfer,
-- erp.approve_adjustment) and on order_id the reads of an order's
-- reservations.  Rows stay in place: only constraints and indexes change.

-- the foreign keys first: they depend on the primary keys they reference
ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_adjustment_id_fkey;
ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_lot_id_fkey;
ALTER TABLE erp.adjustment DROP CONSTRAINT adjustment_lot_id_fkey;
ALTER TABLE erp.transfer DROP CONSTRAINT transfer_lot_id_fkey;
ALTER TABLE erp.rma_line DROP CONSTRAINT rma_line_lot_id_fkey;

ALTER TABLE erp.lot DROP CONSTRAINT lot_pkey;
ALTER TABLE erp.lot ADD CONSTRAINT lot_pkey PRIMARY KEY (item_id, lot_id);

ALTER TABLE erp.reservation DROP CONSTRAINT reservation_pkey;
ALTER TABLE erp.reservation ADD CONSTRAINT reservation_pkey PRIMARY KEY (item_id, reservation_id);
DROP INDEX erp.reservation_key;
CREATE UNIQUE INDEX reservation_key ON erp.reservation (item_id, order_id, line_no, node_id, (COALESCE(lot_id, 0)));
DROP INDEX erp.reservation_item_idx;
CREATE INDEX reservation_order_idx ON erp.reservation (order_id);

ALTER TABLE erp.transfer DROP CONSTRAINT transfer_pkey;
ALTER TABLE erp.transfer ADD CONSTRAINT transfer_pkey PRIMARY KEY (item_id, transfer_id);
CREATE INDEX transfer_id_idx ON erp.transfer (transfer_id);

ALTER TABLE erp.adjustment DROP CONSTRAINT adjustment_pkey;
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_pkey PRIMARY KEY (item_id, adjustment_id);
CREATE INDEX adjustment_id_idx ON erp.adjustment (adjustment_id);

ALTER TABLE erp.cycle_count DROP CONSTRAINT cycle_count_pkey;
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_pkey PRIMARY KEY (item_id, cycle_count_id);

ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.transfer ADD CONSTRAINT transfer_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_lot_id_fkey
    FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_adjustment_id_fkey
    FOREIGN KEY (item_id, adjustment_id) REFERENCES erp.adjustment (item_id, adjustment_id);

-- a ledger row and its lot are joined on (item_id, lot_id)
CREATE OR REPLACE VIEW erp.availability WITH (security_invoker = true) AS
WITH per_state AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state = 'available')      AS available,
           sum(b.qty) FILTER (WHERE b.state = 'available'
                              AND (i.min_shelf_life_days = 0 OR b.lot_id IS NULL
                                   OR l.expires_on IS NULL
                                   OR l.expires_on >= CURRENT_DATE + i.min_shelf_life_days)) AS promisable,
           sum(b.qty) FILTER (WHERE b.state = 'reserved')       AS reserved,
           sum(b.qty) FILTER (WHERE b.state = 'picked')         AS picked,
           sum(b.qty) FILTER (WHERE b.state = 'packed')         AS packed,
           sum(b.qty) FILTER (WHERE b.state = 'inspection')     AS inspection,
           sum(b.qty) FILTER (WHERE b.state = 'quarantined')    AS quarantined,
           sum(b.qty) FILTER (WHERE b.state = 'damaged')        AS damaged,
           sum(b.qty) FILTER (WHERE b.state = 'refurbish')      AS refurbish,
           sum(b.qty) FILTER (WHERE b.state = 'vendor_return')  AS vendor_return,
           sum(b.qty) FILTER (WHERE b.state = 'incoming')       AS incoming,
           sum(b.qty) FILTER (WHERE b.state = 'in_transit')     AS in_transit,
           sum(b.qty) FILTER (WHERE b.state = 'return_pending') AS return_pending
      FROM erp.stock_balance b
      JOIN erp.item i ON i.item_id = b.item_id
      LEFT JOIN erp.lot l ON l.item_id = b.item_id AND l.lot_id = b.lot_id
     GROUP BY b.item_id, b.node_id
), fenced AS (
    -- each channel's ring-fence, less what that channel's orders hold now (as erp.atp)
    SELECT r.item_id,
           sum(greatest(r.qty - coalesce((SELECT sum(v.qty) FROM erp.reservation v
                                            JOIN erp.sales_order o ON o.order_id = v.order_id
                                           WHERE v.item_id = r.item_id AND o.channel_id = r.channel_id), 0), 0)) AS qty
      FROM erp.channel_reserve r GROUP BY r.item_id
)
SELECT i.sku, n.code AS node,
       coalesce(s.available, 0)::bigint      AS available,
       coalesce(s.reserved, 0)::bigint       AS reserved,
       coalesce(s.picked, 0)::bigint         AS picked,
       coalesce(s.packed, 0)::bigint         AS packed,
       coalesce(s.inspection, 0)::bigint     AS inspection,
       coalesce(s.quarantined, 0)::bigint    AS quarantined,
       coalesce(s.damaged, 0)::bigint        AS damaged,
       coalesce(s.refurbish, 0)::bigint      AS refurbish,
       coalesce(s.vendor_return, 0)::bigint  AS vendor_return,
       coalesce(s.incoming, 0)::bigint       AS incoming,
       coalesce(s.in_transit, 0)::bigint     AS in_transit,
       coalesce(s.return_pending, 0)::bigint AS return_pending,
       (coalesce(s.available, 0) + coalesce(s.reserved, 0) + coalesce(s.picked, 0)
        + coalesce(s.packed, 0) + coalesce(s.inspection, 0) + coalesce(s.quarantined, 0)
        + coalesce(s.damaged, 0) + coalesce(s.refurbish, 0) + coalesce(s.vendor_return, 0))::bigint AS on_hand,
       (coalesce(s.incoming, 0) + coalesce(s.in_transit, 0) + coalesce(s.return_pending, 0))::bigint AS inbound,
       coalesce(p.safety_stock, 0)::bigint AS safety_stock,
       greatest(coalesce(s.promisable, 0) - coalesce(p.safety_stock, 0) - coalesce(f.qty, 0), 0)::bigint AS atp,
       i.item_id, n.node_id
  FROM per_state s
  JOIN erp.item i ON i.item_id = s.item_id
  JOIN erp.node n ON n.node_id = s.node_id
  LEFT JOIN erp.stock_policy p ON p.item_id = s.item_id AND p.node_id = s.node_id
  LEFT JOIN fenced f ON f.item_id = s.item_id;

-- the lot guard asks the ledger and the balances of the lot's own item
CREATE OR REPLACE FUNCTION erp.guard_lot_item() RETURNS trigger
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
-- 88_lots: a lot inserted by anyone (an import as well as a first receipt) is
-- owned in the global lock order until its transaction ends (src/lookup.c), so a
-- receipt creating the same lot meanwhile never waits in the unique index out of
-- order (doc/concurrency.md).
CREATE FUNCTION erp.own_new_lot() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_own_new_lot' LANGUAGE C;
COMMENT ON FUNCTION erp.own_new_lot() IS 'Trigger: owns a new lot''s tag in the global lock order until the inserting transaction ends';
CREATE TRIGGER lot_owned BEFORE INSERT ON erp.lot
    FOR EACH ROW EXECUTE FUNCTION erp.own_new_lot();
-- 79: every function that changes state takes an optional idempotency key as
-- its last argument (doc/integration.md): a function's arguments are part of
-- its identity, so each is dropped and created again with the key.

DROP FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text);
CREATE FUNCTION erp.receive(sku text, node text, qty bigint, lot text DEFAULT NULL,
                            expires_on date DEFAULT NULL,
                            state erp.stock_state DEFAULT 'available', ref text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id';

DROP FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text);
CREATE FUNCTION erp.move(sku text, node text, qty bigint, from_state erp.stock_state,
                         to_state erp.stock_state, event text, lot text DEFAULT NULL,
                         ref text DEFAULT NULL, to_node text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_move'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text, text) IS
    'Moves qty units of sku at node from one state to another under event (NULL state = outside), between available, quarantined, damaged and outside (the other states belong to documents: IE002); to_node for a transition of your own that changes node; returns the move id';

DROP FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer);
CREATE FUNCTION erp.capture_order(channel text, external_ref text, lines jsonb,
                                  ship_to jsonb DEFAULT NULL, priority integer DEFAULT 0, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_capture'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.capture_order(text, text, jsonb, jsonb, integer, text) IS
    'Records an order from a channel; lines = [{"sku": "A-1", "qty": 2, "unit_price": 19.90}] (at most 1,000), ship_to = {"lat": .., "lon": ..} (real degrees); a redelivered (channel, external_ref) with the same content returns the same order id and changes nothing, with other content it is refused (IE010)';

DROP FUNCTION erp.allocate(bigint);
CREATE FUNCTION erp.allocate(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint, text) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what it reserved';

DROP FUNCTION erp.allocate_pending(integer);
CREATE FUNCTION erp.allocate_pending(max_orders integer DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_allocate_pending'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate_pending(integer, text) IS
    'Allocates waiting orders (open, backordered, partially allocated) by priority then age; an order that fails is skipped with a WARNING and the batch goes on; returns how many orders received stock';

DROP FUNCTION erp.cancel_order(bigint);
CREATE FUNCTION erp.cancel_order(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_cancel'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.cancel_order(bigint, text) IS
    'Cancels an order that has not been packed: reserved units are released and picked units put back to available';

DROP FUNCTION erp.pick(bigint, text, bigint);
CREATE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT 1, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint, text) IS
    'Confirms picking qty units of the scanned sku or GTIN for an order; a scan that is not on the order is refused (IE007) and recorded as a pick_exception event';

DROP FUNCTION erp.short_pick(bigint, text, bigint);
CREATE FUNCTION erp.short_pick(order_id bigint, sku text, missing bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_short_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint, text) IS
    'Reports missing reserved units; their write-off is an adjustment (reason short_pick): applied at once within the adjustment threshold, else the units move to quarantined and the adjustment waits for erp.approve_adjustment by another person; the line is re-allocated at another node';

DROP FUNCTION erp.pack(bigint);
CREATE FUNCTION erp.pack(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pack'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pack(bigint, text) IS 'Packs every picked unit of an order once nothing reserved is left to pick';

DROP FUNCTION erp.ship(bigint, text, text);
CREATE FUNCTION erp.ship(order_id bigint, carrier text DEFAULT NULL, tracking text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_orders_ship'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.ship(bigint, text, text, text) IS 'Ships a packed order: the packed units leave the business; returns the shipment id (IE010 when the order is not packed)';

DROP FUNCTION erp.authorize_return(bigint, jsonb, integer);
CREATE FUNCTION erp.authorize_return(order_id bigint, lines jsonb, return_window_days integer DEFAULT 30, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_returns_authorize'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.authorize_return(bigint, jsonb, integer, text) IS
    'Authorises the return of shipped units of an order (lines = [{"sku": "A-1", "qty": 1, "reason": "too_small"}]); never more than shipped and not yet returned, only within return_window_days (1 to 3650, IE004) of shipment (IE008); a kit comes back as its components; the units become return_pending at the node that shipped them; at most 1,000 lines (IE004)';

DROP FUNCTION erp.receive_return(bigint, text, jsonb);
CREATE FUNCTION erp.receive_return(rma_id bigint, node text DEFAULT NULL, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_return(bigint, text, jsonb, text) IS
    'Records returned units arriving (all that is expected, or lines = [{"sku": .., "qty": ..}]) at node (default: the node that shipped them); they go to inspection; a sku not on the RMA is refused (IE007) and recorded as a return_discrepancy event; at most 1,000 lines (IE004)';

DROP FUNCTION erp.inspect_return(bigint, erp.item_condition);
CREATE FUNCTION erp.inspect_return(rma_line_id bigint, condition erp.item_condition, idempotency_key text DEFAULT NULL)
    RETURNS erp.disposition
    AS 'MODULE_PATHNAME', 'ierp_returns_inspect'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.inspect_return(bigint, erp.item_condition, text) IS
    'Records the condition of received units, routes them by the first matching erp.disposition_rule and moves them; returns the disposition; refunds due on inspection are computed (and wait for approval when high-value or above the refund threshold)';

DROP FUNCTION erp.approve_refund(bigint);
CREATE FUNCTION erp.approve_refund(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'ierp_returns_approve_refund'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_refund(bigint, text) IS
    'Releases a refund that waits for approval; only members of erp_approver other than the person who made the refund due (refund_requested_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009); returns the amount';

DROP FUNCTION erp.complete_refurbish(bigint);
CREATE FUNCTION erp.complete_refurbish(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_complete_refurbish'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.complete_refurbish(bigint, text) IS 'Refurbished units of a return line are sellable again (refurbish -> available)';

DROP FUNCTION erp.return_to_vendor(bigint);
CREATE FUNCTION erp.return_to_vendor(rma_line_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_returns_to_vendor'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.return_to_vendor(bigint, text) IS 'Units of a return line routed to the vendor leave for the vendor (vendor_return -> outside)';

DROP FUNCTION erp.expire_returns();
CREATE FUNCTION erp.expire_returns(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_returns_expire'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.expire_returns(text) IS
    'Expires authorisations whose window passed with nothing received: return_pending units leave the books (rma_expired); returns how many RMAs expired';

DROP FUNCTION erp.create_po(text, text, jsonb, timestamptz);
CREATE FUNCTION erp.create_po(supplier text, node text, lines jsonb, expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_create_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_po(text, text, jsonb, timestamptz, text) IS
    'Records a supplier-confirmed purchase order (lines = [{"sku": .., "qty": .., "unit_cost": ..}]); its units become incoming at node; at most 1,000 lines (IE004); returns the purchase order id';

DROP FUNCTION erp.receive_po(bigint, jsonb);
CREATE FUNCTION erp.receive_po(po_id bigint, lines jsonb DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb, text) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}]; lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';

DROP FUNCTION erp.delay_po(bigint, timestamptz);
CREATE FUNCTION erp.delay_po(po_id bigint, new_expected_at timestamptz, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_delay_po'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.delay_po(bigint, timestamptz, text) IS
    'Moves a purchase order''s expected date and emits a supplier_delay event naming the backordered orders of its items now at risk';

DROP FUNCTION erp.transfer(text, text, text, bigint, text);
CREATE FUNCTION erp.transfer(sku text, from_node text, to_node text, qty bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_supply_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.transfer(text, text, text, bigint, text, text) IS
    'Sends available units from one node to another: in transit, inbound at the destination; returns the transfer id';

DROP FUNCTION erp.receive_transfer(bigint);
CREATE FUNCTION erp.receive_transfer(transfer_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_supply_receive_transfer'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive_transfer(bigint, text) IS 'The units of a transfer arrived: available at the destination';

DROP FUNCTION erp.create_replenishment_pos();
CREATE FUNCTION erp.create_replenishment_pos(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_supply_create_replenishment_pos'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.create_replenishment_pos(text) IS
    'Turns every suggestion of erp.replenishment into purchase orders, one per supplier and node, expected after the lead time; returns how many were created';

DROP FUNCTION erp.count(text, text, bigint, text);
CREATE FUNCTION erp.count(sku text, node text, counted bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count(text, text, bigint, text, text) IS
    'Records a cycle count of available units (counted 0 to 1,000,000,000, IE004); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment by another person; returns the cycle count id';

DROP FUNCTION erp.approve_adjustment(bigint);
CREATE FUNCTION erp.approve_adjustment(adjustment_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_counts_approve_adjustment'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_adjustment(bigint, text) IS
    'Applies an adjustment that waits for approval; only members of erp_approver other than its creator (created_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009)';

DROP FUNCTION erp.adjust(text, text, bigint, text, text);
CREATE FUNCTION erp.adjust(sku text, node text, qty_delta bigint, reason text, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_adjust'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.adjust(text, text, bigint, text, text, text) IS
    'Adjusts available stock by hand (qty_delta > 0 adds, < 0 writes off; at most 1,000,000,000 units) for a reason; applied at once when |qty_delta| x unit_cost is within the adjustment threshold of erp.approval_policy, else pending_approval until another person in erp_approver runs erp.approve_adjustment; returns the adjustment id';
-- 80 (update): erp.allocate returns what the order holds after the call, with
-- the line's and the order's status (issue 11): a result type change, so the
-- function is dropped and created again.
DROP FUNCTION erp.allocate(bigint, text);
CREATE FUNCTION erp.allocate(order_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (line_no integer, sku text, node text, lot text, qty bigint,
                   line_status erp.line_status, qty_backordered bigint, qty_short bigint,
                   order_status erp.order_status)
    AS 'MODULE_PATHNAME', 'ierp_allocate'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.allocate(bigint, text) IS
    'Reserves stock for every open line of an order by the allocation rules (one node when possible, lowest rank, nearest, else fewest nodes; FEFO lots; never into safety stock or another channel''s ring-fence); returns what the order holds afterwards, whatever its status (an order with nothing left to allocate is no error): one row per reservation (qty = units reserved, picked or packed there; a kit line''s rows name its components), one row with node and lot NULL and qty 0 per line that holds nothing (shipped units are no longer held), each with the line''s status, qty_backordered, qty_short (units neither held, shipped nor backordered; 0 on a cancelled line) and the order''s status';
-- 80 (update): erp.pick reads GS1 element strings (issue 11): qty's default
-- becomes NULL (1 unit, or the scan's AI 30/37 count).
CREATE OR REPLACE FUNCTION erp.pick(order_id bigint, scan text, qty bigint DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_orders_pick'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.pick(bigint, text, bigint, text) IS
    'Confirms picking qty units (NULL, the default: 1, or the count of a GS1 scan''s AI 30/37) of the scanned sku, GTIN or GS1 element string for an order; a GS1 scan''s lot (AI 10) must be a lot reserved for the order and its expiry (AI 17) that lot''s; a scan that is not on the order, a malformed GS1 string, a wrong lot or expiry are refused (IE007) and recorded as a pick_exception event';
-- 80 (update): erp.place_order, the webhook handler in one call (issue 11).
CREATE FUNCTION erp.place_order(channel text, external_ref text, lines jsonb, ship_to jsonb DEFAULT NULL,
                                priority integer DEFAULT 0, idempotency_key text DEFAULT NULL)
    RETURNS TABLE (order_id bigint, created boolean, line_no integer, sku text, node text, lot text,
                   qty bigint, line_status erp.line_status, qty_backordered bigint, qty_short bigint,
                   order_status erp.order_status)
    AS 'MODULE_PATHNAME', 'ierp_orders_place'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.place_order(text, text, jsonb, jsonb, integer, text) IS
    'A webhook''s work in one call: captures the order as erp.capture_order does (idempotent on channel and external_ref; other content under the same external_ref is refused, IE010), then allocates it as erp.allocate does and returns erp.allocate''s rows, each led by the order id and whether this call created the order; a redelivery of an order that is allocated, packed, shipped or cancelled returns what it holds, no error';
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
-- 82: the exact event consumer (issue 11).  Events carry their transaction's
-- number (txn_id); erp.event_commit stamps each such transaction in commit
-- order; erp.read_events / erp.ack_events keep a cursor per named consumer;
-- NOTIFY erp_event carries {"id", "kind", "node_id"} (src/event_stamp.c,
-- src/event_consumer.c, src/events.c).  The events already there get this
-- update's transaction number and one stamp, so a consumer reads them first,
-- in event_id order (they were all committed before).  Adding the column
-- rewrites erp.event once.

CREATE SEQUENCE erp.event_txn_id_seq;
COMMENT ON SEQUENCE erp.event_txn_id_seq IS 'Numbers the transactions that write events (erp.event.txn_id)';
CREATE FUNCTION erp.event_txn_id() RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_event_txn_id' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.event_txn_id() IS
    'The number of the current transaction as the events it writes carry it (erp.event.txn_id): drawn from erp.event_txn_id_seq at its first call in a transaction, the same for every later call in it';

ALTER TABLE erp.event ADD COLUMN txn_id bigint NOT NULL DEFAULT erp.event_txn_id();
CREATE INDEX event_txn_idx ON erp.event (txn_id, event_id);
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...; doc/events.md).  Read it exactly once and in commit order with erp.read_events(consumer) and erp.ack_events(consumer, cursor), or join erp.event_commit on txn_id and read (commit_seq, event_id) > your last pair ORDER BY commit_seq, event_id; never by event_id alone (ids are assigned at insert, rows appear at commit, out of id order).  LISTEN erp_event to be woken ({"id", "kind", "node_id"})';
COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay';
COMMENT ON COLUMN erp.event.payload IS 'Facts of the event (quantities, skus, codes) as JSON; a pick_exception or return_discrepancy whose order, rma, item or node was created by the refused call''s own, rolled-back transaction keeps that id here as uncommitted_order_id (uncommitted_rma_id, ...) and NULL in its column';
COMMENT ON COLUMN erp.event.txn_id IS 'The writing transaction''s number (erp.event_txn_id()), one per transaction; erp.event_commit gives it its place in commit order.  Not the xid, which a restored or new cluster hands out again';

ALTER SEQUENCE erp.event_txn_id_seq OWNED BY erp.event.txn_id;

CREATE TABLE erp.event_commit (
    commit_seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txn_id          bigint NOT NULL UNIQUE,
    xid             xid8 NOT NULL,
    committed_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE erp.event_commit IS
    'Commit stamps: one row per transaction that wrote events, drawn while it commits, in commit order (the next stamp waits until this transaction is visible); a reader that sees commit_seq N sees every committed stamp below N.  Gaps are transactions that failed after stamping';
COMMENT ON COLUMN erp.event_commit.commit_seq IS 'Place of the transaction in commit order among the transactions that wrote events';
COMMENT ON COLUMN erp.event_commit.txn_id IS 'The transaction''s number, as its events carry it (erp.event.txn_id)';
COMMENT ON COLUMN erp.event_commit.xid IS 'The transaction id in the cluster that wrote it (for diagnosis; after a restore it names a transaction of the old cluster)';
COMMENT ON COLUMN erp.event_commit.committed_at IS 'When the stamp was drawn, just before the commit';

CREATE TABLE erp.event_consumer (
    consumer            text NOT NULL,
    owner_name          text NOT NULL,
    owner_oid           oid NOT NULL,
    acked_commit_seq    bigint NOT NULL DEFAULT 0,
    acked_event_id      bigint NOT NULL DEFAULT 0,
    read_commit_seq     bigint NOT NULL DEFAULT 0,
    read_event_id       bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((read_commit_seq, read_event_id) >= (acked_commit_seq, acked_event_id)),
    PRIMARY KEY (owner_oid, consumer)
);
COMMENT ON TABLE erp.event_consumer IS
    'Named consumers of erp.event (erp.read_events, erp.ack_events): how far each has acknowledged and how far it has read; names are per role (two roles using one name have two consumers, so nobody can take or move another''s)';
COMMENT ON COLUMN erp.event_consumer.owner_name IS 'The role that created the consumer (the session''s identity, as recorded in created_by elsewhere); only it reads and acknowledges';
COMMENT ON COLUMN erp.event_consumer.owner_oid IS 'The oid of that role: it keeps its consumer when renamed, and a role created again under the name does not inherit it (a restore into another cluster maps it by owner_name)';
CREATE FUNCTION erp.event_consumer_restored() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.owner_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.owner_name);
    IF NEW.owner_oid IS NULL THEN
        RETURN NULL;            -- a consumer of a login that does not exist here
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION erp.event_consumer_restored() IS
    'Trigger (restore mode only): a restored consumer belongs to the role of its owner_name in this cluster; consumers of logins that do not exist here are left out';
CREATE TRIGGER event_consumer_restored BEFORE INSERT ON erp.event_consumer
    FOR EACH ROW WHEN (pg_catalog.current_setting('inventory_erp.restore_mode', true) OPERATOR(pg_catalog.=) 'on')
    EXECUTE FUNCTION erp.event_consumer_restored();
COMMENT ON COLUMN erp.event_consumer.acked_commit_seq IS 'Acknowledged cursor, first half: erp.read_events returns the events after (acked_commit_seq, acked_event_id)';
COMMENT ON COLUMN erp.event_consumer.acked_event_id IS 'Acknowledged cursor, second half';
COMMENT ON COLUMN erp.event_consumer.read_commit_seq IS 'Furthest cursor returned since the last acknowledgement, first half: erp.ack_events accepts no cursor beyond it';
COMMENT ON COLUMN erp.event_consumer.read_event_id IS 'Furthest cursor returned, second half';

COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with {"id", "kind", "node_id"} of the new event, delivered when the transaction that wrote it commits; and marks the transaction for its commit stamp (erp.event_commit)';

CREATE FUNCTION erp.read_events(consumer text, max integer DEFAULT 100)
    RETURNS TABLE (event_id bigint, kind text, at timestamptz, item_id bigint, node_id bigint,
                   order_id bigint, rma_id bigint, payload jsonb, commit_seq bigint, cursor text)
    AS 'MODULE_PATHNAME', 'ierp_event_read' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.read_events(text, integer) IS
    'The next at most max (1 to 10,000) events for consumer, after its acknowledged cursor, in commit order (commit_seq, then event_id); creates an unknown consumer, starting at the oldest event kept.  Without erp.ack_events the same events come again.  A partner sees its nodes'' events only.  Each row''s cursor can be acknowledged';

CREATE FUNCTION erp.ack_events(consumer text, cursor text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_event_ack' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.ack_events(text, text) IS
    'Acknowledges consumer''s events up to and including cursor (as erp.read_events returned it, ''commit_seq:event_id''): they never come again.  Refused: a malformed cursor or one beyond what was read (IE004), one behind the acknowledged cursor (IE010), an unknown consumer (IE003), another role''s consumer (IE009); acknowledging the same cursor again changes nothing';

-- the events of 0.2.0, all committed: one stamp, before any new transaction's
INSERT INTO erp.event_commit (txn_id, xid)
SELECT DISTINCT e.txn_id, pg_catalog.pg_current_xact_id() FROM erp.event e;

-- pg_dump keeps consumers and stamps (as 99_dump.sql marks them in a fresh install)
SELECT pg_catalog.pg_extension_config_dump('erp.event_commit', '');
SELECT pg_catalog.pg_extension_config_dump('erp.event_commit_commit_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.event_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('erp.event_txn_id_seq', '');
-- 83 (update): as sql/install/15_gs1.sql.
CREATE FUNCTION erp.parse_gs1(scan text)
    RETURNS TABLE(gtin erp.gtin, lot text, expires_on date, best_before date, serial text, count bigint)
    AS 'MODULE_PATHNAME', 'ierp_gs1_parse'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.parse_gs1(text) IS
    'The fields of a GS1 element string (raw with symbology identifier ]C1, ]d2 or ]Q3 and GS separators, or human-readable "(01)...(17)...(10)..."): AI 01 gtin, 10 lot, 17 expires_on, 15 best_before, 21 serial, 30/37 count; one row, NULL where the scan has no such field; a text that is not GS1 or is malformed: IE004 with the reason. STABLE: a two-digit year is read by the GS1 century rule against the current date';
GRANT EXECUTE ON FUNCTION erp.parse_gs1(text) TO erp_reader, erp_operator;


COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id. sku may be a GS1 element string: the item is the one whose gtin is AI 01, the lot AI 10, the expiry AI 17 (else AI 15), for lot-tracked items; a lot or expires_on argument that disagrees with the scan is refused (IE004)';
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb, text) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}] or [{"scan": "<GS1 element string>", "qty"}] (item from AI 01, lot AI 10, expiry AI 17 else 15); lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';
-- 84: availability deltas for channel feeds (sql/install/04_ledger.sql's txid
-- column and its BRIN index, sql/install/16_feeds.sql).  Ledger rows written
-- before this update carry no transaction id (NULL): every cursor is taken
-- after it, and sees them all.
ALTER TABLE erp.stock_move ADD COLUMN txid xid8;
ALTER TABLE erp.stock_move ALTER COLUMN txid SET DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN erp.stock_move.txid IS 'The (top-level) transaction that wrote the row: feeds read the moves of the transactions their cursor did not see (erp.channel_availability_changes); NULL for rows written before 0.3.0';

-- BRIN has no operator class for xid8 of its own: a minmax one built from
-- PostgreSQL's xid8 comparison operators.  The ledger is appended in roughly
-- transaction order, so one summary per block range excludes almost all of it
-- for a feed asking about recent transactions (txid >= the cursor's xmin).
CREATE OPERATOR CLASS erp.xid8_minmax_ops DEFAULT FOR TYPE xid8 USING brin AS
    OPERATOR 1 pg_catalog.< (xid8, xid8),
    OPERATOR 2 pg_catalog.<= (xid8, xid8),
    OPERATOR 3 pg_catalog.= (xid8, xid8),
    OPERATOR 4 pg_catalog.>= (xid8, xid8),
    OPERATOR 5 pg_catalog.> (xid8, xid8),
    FUNCTION 1 pg_catalog.brin_minmax_opcinfo(internal),
    FUNCTION 2 pg_catalog.brin_minmax_add_value(internal, internal, internal, internal),
    FUNCTION 3 pg_catalog.brin_minmax_consistent(internal, internal, internal),
    FUNCTION 4 pg_catalog.brin_minmax_union(internal, internal, internal);
COMMENT ON OPERATOR CLASS erp.xid8_minmax_ops USING brin IS 'BRIN minmax summaries of xid8 values (erp.stock_move.txid)';
COMMENT ON OPERATOR FAMILY erp.xid8_minmax_ops USING brin IS 'The family of erp.xid8_minmax_ops: BRIN minmax summaries of xid8 values';
CREATE INDEX stock_move_txid_brin ON erp.stock_move USING brin (txid);
COMMENT ON INDEX erp.stock_move_txid_brin IS 'Finds the moves of transactions a feed''s cursor did not see (txid >= its xmin) without reading the whole ledger';

CREATE TABLE erp.feed_change (
    txid        xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    item_id     bigint,
    changed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    source      name NOT NULL
);
CREATE INDEX feed_change_txid_idx ON erp.feed_change (txid);
COMMENT ON TABLE erp.feed_change IS 'Master-data changes that move ATP (safety stock, ring-fences, channel nodes, an item''s sku, active flag, shelf life, preorder or lot tracking, kit components, a lot''s expiry, a node''s active flag, partner access), recorded by trigger for erp.channel_availability_changes';
COMMENT ON COLUMN erp.feed_change.txid IS 'The transaction that made the change';
COMMENT ON COLUMN erp.feed_change.item_id IS 'The item whose ATP may have changed (a kit for a change of its components); NULL = every item';
COMMENT ON COLUMN erp.feed_change.source IS 'The table changed, in schema erp';

CREATE TABLE erp.feed_horizon (
    horizon     xid8 NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    reason      text NOT NULL,
    seen        pg_catalog.pg_snapshot DEFAULT pg_catalog.pg_current_snapshot()
);
COMMENT ON TABLE erp.feed_horizon IS 'How far back feed cursors are served: a cursor whose snapshot does not see the commit of every horizon is refused (IE010, "cursor too old; resynchronise"); pruning the ledger or erp.feed_change adds a horizon (its own transaction)';
COMMENT ON COLUMN erp.feed_horizon.seen IS 'The snapshot of the transaction that set the horizon: an older horizon committed in it may be dropped (a cursor that sees this horizon sees that one)';
COMMENT ON COLUMN erp.feed_horizon.horizon IS 'A transaction whose commit a usable cursor must have seen; ids ahead of this database (a restored dump of another cluster) are ignored';
-- pg_dump keeps them, as every table of the extension (sql/install/99_dump.sql)
SELECT pg_catalog.pg_extension_config_dump('erp.feed_change', '');
SELECT pg_catalog.pg_extension_config_dump('erp.feed_horizon', '');
INSERT INTO erp.feed_horizon (horizon, reason) VALUES (pg_catalog.pg_current_xact_id(), 'updated to 0.3.0');

CREATE FUNCTION erp.record_feed_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_feeds_record_change'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.record_feed_change() IS 'Trigger on the master data ATP reads: records in erp.feed_change the item of each changed row (the columns named as arguments), or every item (no argument, TRUNCATE)';

CREATE TRIGGER item_feed AFTER INSERT OR DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER item_feed_update AFTER UPDATE ON erp.item
    FOR EACH ROW WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.active IS DISTINCT FROM NEW.active
                       OR OLD.min_shelf_life_days IS DISTINCT FROM NEW.min_shelf_life_days
                       OR OLD.allow_preorder IS DISTINCT FROM NEW.allow_preorder
                       OR OLD.lot_tracked IS DISTINCT FROM NEW.lot_tracked)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER item_component_feed AFTER INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('kit_item_id');
CREATE TRIGGER stock_policy_feed AFTER INSERT OR DELETE ON erp.stock_policy
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER stock_policy_feed_update AFTER UPDATE ON erp.stock_policy
    FOR EACH ROW WHEN (OLD.safety_stock IS DISTINCT FROM NEW.safety_stock
                       OR OLD.item_id IS DISTINCT FROM NEW.item_id OR OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER channel_reserve_feed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_reserve
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER lot_feed AFTER UPDATE ON erp.lot
    FOR EACH ROW WHEN (OLD.expires_on IS DISTINCT FROM NEW.expires_on OR OLD.item_id IS DISTINCT FROM NEW.item_id)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER channel_node_feed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_node
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed AFTER DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed_update AFTER UPDATE ON erp.node
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_access_feed AFTER INSERT OR UPDATE OR DELETE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER item_feed_truncate AFTER TRUNCATE ON erp.item
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER item_component_feed_truncate AFTER TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER stock_policy_feed_truncate AFTER TRUNCATE ON erp.stock_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER channel_reserve_feed_truncate AFTER TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER lot_feed_truncate AFTER TRUNCATE ON erp.lot
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER channel_node_feed_truncate AFTER TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed_truncate AFTER TRUNCATE ON erp.node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_access_feed_truncate AFTER TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
-- as the caches' triggers: also for changes a logical-replication subscriber
-- or a data-only restore writes (session_replication_role = replica)
DO $always$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.tgname, tg.tgrelid::regclass AS rel
          FROM pg_catalog.pg_trigger tg
         WHERE tg.tgfoid = 'erp.record_feed_change()'::regprocedure AND NOT tg.tgisinternal
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname);
    END LOOP;
END
$always$;

CREATE FUNCTION erp.channel_availability_changes(channel text, since text DEFAULT NULL)
    RETURNS TABLE (sku text, item_id bigint, atp bigint, next_since text)
    AS 'MODULE_PATHNAME', 'ierp_feeds_availability_changes'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.channel_availability_changes(text, text) IS
    'The items whose ATP for channel may have changed since the cursor since, each with erp.atp(sku, NULL, channel) now (0 for a retired item), all with the cursor for the next call in next_since; since NULL = every active item (a full resynchronisation); nothing changed = one row with only next_since. Never misses a change, whatever the commit order; may repeat an item whose ATP did not change. A malformed cursor: IE004; one older than the history kept (erp.feed_horizon), of another database, or ahead of this one: IE010, resynchronise with since => NULL';
GRANT EXECUTE ON FUNCTION erp.channel_availability_changes(text, text) TO erp_reader;
-- 85: the queues the apps read (sql/install/17_queues.sql): the pick queue's index and
-- erp.pick_queue, erp.returns_desk and erp.approval_queue.
CREATE INDEX sales_order_pick_idx ON erp.sales_order (priority DESC, created_at, order_id)
    WHERE status IN ('allocated', 'partially_allocated', 'picking');
COMMENT ON INDEX erp.sales_order_pick_idx IS 'The pick queue''s order (erp.pick_queue): orders with units to pick, most urgent first';

CREATE VIEW erp.pick_queue WITH (security_invoker = true) AS
SELECT n.code AS node, o.order_id, o.priority, o.created_at, p.lines, p.units,
       pg_catalog.now() - o.created_at AS age
  FROM erp.sales_order o
 CROSS JOIN LATERAL (
       SELECT r.node_id, count(DISTINCT r.line_no)::bigint AS lines, sum(r.qty - r.qty_picked)::bigint AS units
         FROM erp.reservation r
        WHERE r.order_id = o.order_id AND r.qty > r.qty_picked
        GROUP BY r.node_id) p
  JOIN erp.node n ON n.node_id = p.node_id
 WHERE o.status IN ('allocated', 'partially_allocated', 'picking')
 ORDER BY o.priority DESC, o.created_at, o.order_id, n.code;
COMMENT ON VIEW erp.pick_queue IS
    'Orders ready to pick, per node: orders (allocated, partially allocated or picking) with reserved units not yet picked at that node; lines and units still to pick there; most urgent first (priority descending, then oldest). A warehouse app reads SELECT * FROM erp.pick_queue WHERE node = ''DC1'' LIMIT 50';
COMMENT ON COLUMN erp.pick_queue.lines IS 'Order lines with units to pick at the node';
COMMENT ON COLUMN erp.pick_queue.units IS 'Units reserved at the node and not picked yet';
COMMENT ON COLUMN erp.pick_queue.age IS 'Time since the order was captured';

-- Returns desk: a return line waits for receipt at the node that shipped it,
-- and, once received, for inspection where it arrived.
CREATE VIEW erp.returns_desk WITH (security_invoker = true) AS
SELECT n.code AS node, r.rma_id, r.order_id, r.status, r.authorized_at, r.expires_at,
       sum(w.expected)::bigint AS units_expected, sum(w.to_inspect)::bigint AS units_to_inspect,
       pg_catalog.now() - r.authorized_at AS age
  FROM erp.rma r
  JOIN erp.rma_line l ON l.rma_id = r.rma_id
                     AND (l.qty_received + l.qty_expired < l.qty OR l.qty_inspected < l.qty_received)
 CROSS JOIN LATERAL (VALUES (l.node_id, l.qty - l.qty_received - l.qty_expired, 0::bigint),
                            (COALESCE(l.received_node_id, l.node_id), 0::bigint, l.qty_received - l.qty_inspected)
       ) AS w(node_id, expected, to_inspect)
  JOIN erp.node n ON n.node_id = w.node_id
 WHERE r.status IN ('authorized', 'partially_received', 'received')
   AND (w.expected > 0 OR w.to_inspect > 0)
 GROUP BY n.code, r.rma_id
 ORDER BY r.authorized_at, r.rma_id, n.code;
COMMENT ON VIEW erp.returns_desk IS
    'Returns awaiting receipt or inspection, per node, oldest authorisation first: units_expected (authorised, not received, not expired) at the node that shipped them, units_to_inspect (received, not inspected) where they arrived';
COMMENT ON COLUMN erp.returns_desk.units_expected IS 'Units authorised for return to this node and not received (nor expired) yet';
COMMENT ON COLUMN erp.returns_desk.units_to_inspect IS 'Units received at this node and not inspected yet';
COMMENT ON COLUMN erp.returns_desk.age IS 'Time since the return was authorised';

-- Approvers: refunds that wait for a member of erp_approver, and adjustments
-- pending approval (erp.adjustment's pending index, sql/install/11_governance.sql).
CREATE VIEW erp.approval_queue WITH (security_invoker = true) AS
SELECT q.kind, q.id, n.code AS node, q.requested_by, q.value, q.requested_at,
       pg_catalog.now() - q.requested_at AS age
  FROM (SELECT 'refund'::text AS kind, l.rma_line_id AS id, COALESCE(l.received_node_id, l.node_id) AS node_id,
               l.refund_requested_by AS requested_by, l.refund_amount AS value,
               COALESCE(l.inspected_at, l.received_at) AS requested_at
          FROM erp.rma_line l
         WHERE l.refund_status = 'awaiting_approval'
           -- a partner sees a refund only when the whole return is its own
           -- (erp.rma_visible: every node of its lines), not by one line's node
           AND erp.rma_visible(l.rma_id)
        UNION ALL
        SELECT 'adjustment', a.adjustment_id, a.node_id, a.created_by, a.value, a.created_at
          FROM erp.adjustment a
         WHERE a.status = 'pending_approval') q
  JOIN erp.node n ON n.node_id = q.node_id
 ORDER BY q.requested_at, q.kind, q.id;
COMMENT ON VIEW erp.approval_queue IS
    'What waits for an approver, oldest first: refunds awaiting approval (kind refund, id = the return line; approve with erp.approve_refund) and adjustments pending approval (kind adjustment, id = the adjustment; erp.approve_adjustment); the requester may not approve their own';
COMMENT ON COLUMN erp.approval_queue.requested_by IS 'Who asked: the login that made the refund due, or that created the adjustment; they may not approve it';
COMMENT ON COLUMN erp.approval_queue.value IS 'The refund amount, or the adjustment''s value';
COMMENT ON COLUMN erp.approval_queue.requested_at IS 'When it began to wait: the return''s inspection (or receipt), the adjustment''s creation';
GRANT SELECT ON erp.pick_queue, erp.returns_desk, erp.approval_queue TO erp_reader;

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
-- 87_maintenance: growth and scheduling (sql/install/18_maintenance.sql, the
-- same objects): closed periods and the ledger archive, pruning, compaction of
-- empty balance slots, the pg_cron jobs.

-- ---------------------------------------------------------------------------
-- Closed periods
-- ---------------------------------------------------------------------------
CREATE TABLE erp.period_close (
    upto        date PRIMARY KEY,
    cut         timestamptz NOT NULL UNIQUE,
    last_move_id bigint NOT NULL,
    closed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_by   name NOT NULL DEFAULT erp.current_actor(),
    archived_at timestamptz
);
COMMENT ON TABLE erp.period_close IS 'Closed periods (erp.close_period): the balances at the end of upto are kept in erp.period_balance.  A move belongs to the period when it is dated before cut and its move_id is at most last_move_id; a move of a transaction that began before the cut but wrote after the close belongs to the open period';
COMMENT ON COLUMN erp.period_close.upto IS 'The last day of the closed period';
COMMENT ON COLUMN erp.period_close.cut IS 'The end of upto (midnight after it in the TimeZone of the session that closed it): moves dated before it belong to the closed period';
COMMENT ON COLUMN erp.period_close.last_move_id IS 'The highest move_id when the period was closed: every move up to it had committed (the close waits for the ledger''s writers), every later one gets a higher id';
COMMENT ON COLUMN erp.period_close.archived_at IS 'When erp.archive_ledger last removed the ledger rows of this period; NULL = they are still in erp.stock_move';

CREATE TABLE erp.period_balance (
    upto        date NOT NULL,
    item_id     bigint NOT NULL,
    node_id     bigint NOT NULL,
    bin_id      bigint NOT NULL DEFAULT 0,
    lot_id      bigint NOT NULL DEFAULT 0,
    state       erp.stock_state NOT NULL,
    qty         bigint NOT NULL,
    value       numeric(14,2) CONSTRAINT period_balance_value_not_nan CHECK (value <> 'NaN'::numeric),
    PRIMARY KEY (upto, item_id, node_id, bin_id, lot_id, state)
);
COMMENT ON TABLE erp.period_balance IS 'The balances of a closed period as the ledger gives them at its cut: one row per item, node, bin, lot and state with units (erp.close_period); erp.verify() starts from the latest closed period';
COMMENT ON COLUMN erp.period_balance.upto IS 'The closed period (erp.period_close.upto); no foreign key, so that pg_restore -j may load the two tables in either order';
COMMENT ON COLUMN erp.period_balance.bin_id IS 'Place inside the node; 0 = the node''s stock outside bins (the ledger records no bins yet)';
COMMENT ON COLUMN erp.period_balance.lot_id IS 'Lot of a lot-tracked item; 0 = no lot';
COMMENT ON COLUMN erp.period_balance.value IS 'Value of the units at the cut; NULL until valuation lands';

CREATE TABLE erp.stock_move_archive (LIKE erp.stock_move);
COMMENT ON TABLE erp.stock_move_archive IS 'Ledger rows of closed periods moved out of erp.stock_move by erp.archive_ledger(upto, keep_copy => true); history to read, dump or drop; nothing derives from it';

-- a partner reads the closed balances and archived moves of its nodes only
-- (the one partner rule, as sql/install/85_access.sql applies it)
ALTER TABLE erp.period_balance ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.period_balance
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
ALTER TABLE erp.stock_move_archive ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.stock_move_archive
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR from_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
           OR to_node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

SELECT pg_catalog.pg_extension_config_dump('erp.period_close', '');
SELECT pg_catalog.pg_extension_config_dump('erp.period_balance', '');
SELECT pg_catalog.pg_extension_config_dump('erp.stock_move_archive', '');

CREATE FUNCTION erp.close_period(upto date)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cut_at timestamptz;
    last_id bigint;
    prev record;
    n bigint;
BEGIN
    IF upto OPERATOR(pg_catalog.<) '1970-01-01'::date OR upto OPERATOR(pg_catalog.>) '9999-12-31'::date THEN
        RAISE EXCEPTION 'invalid upto: %', upto
            USING ERRCODE = 'IE004', DETAIL = 'Dates are real calendar dates in the years 1970 to 9999.';
    END IF;
    IF upto IS NULL OR upto OPERATOR(pg_catalog.>=) CURRENT_DATE THEN
        RAISE EXCEPTION 'cannot close the period up to %: only days before today can be closed', coalesce(upto::text, 'NULL')
            USING ERRCODE = 'IE004',
                  DETAIL = pg_catalog.format('Today is %s.', CURRENT_DATE);
    END IF;
    cut_at := (upto OPERATOR(pg_catalog.+) 1)::timestamptz;
    -- one close at a time: a second one waits, then finds the first's period
    LOCK TABLE erp.period_close IN SHARE ROW EXCLUSIVE MODE;
    SELECT c.upto, c.cut, c.last_move_id INTO prev FROM erp.period_close c ORDER BY c.cut DESC LIMIT 1;
    IF FOUND AND prev.cut OPERATOR(pg_catalog.>=) cut_at THEN
        RAISE EXCEPTION 'cannot close the period up to %: it is closed up to % already', upto, prev.upto
            USING ERRCODE = 'IE010',
                  HINT = 'Close a later day; a closed period is never reopened.';
    END IF;
    -- wait for the transactions writing the ledger now, and hold new ones
    -- until this one commits: every move up to the highest move_id read
    -- below has committed, every later one will get a higher id (the kernel
    -- draws ids after it locks the table)
    LOCK TABLE erp.stock_move IN SHARE MODE;
    SELECT coalesce(max(m.move_id), 0) INTO last_id FROM erp.stock_move m;
    last_id := greatest(last_id, coalesce(prev.last_move_id, 0));
    INSERT INTO erp.period_close (upto, cut, last_move_id) VALUES (upto, cut_at, last_id);
    -- the previous period's balances plus the moves of this period that it
    -- did not count
    INSERT INTO erp.period_balance (upto, item_id, node_id, bin_id, lot_id, state, qty)
    SELECT close_period.upto, s.item_id, s.node_id, 0, s.lot_id, s.state, sum(s.qty)::bigint
      FROM (SELECT b.item_id, b.node_id, b.lot_id, b.state, b.qty
              FROM erp.period_balance b WHERE b.upto OPERATOR(pg_catalog.=) prev.upto
            UNION ALL
            SELECT m.item_id, q.node_id, coalesce(m.lot_id, 0), q.state, q.qty
              FROM erp.stock_move m
             CROSS JOIN LATERAL (VALUES (m.to_node_id, m.to_state, m.qty),
                                        (m.from_node_id, m.from_state, -m.qty)) AS q(node_id, state, qty)
             WHERE q.state IS NOT NULL
               AND m.at OPERATOR(pg_catalog.<) cut_at AND m.move_id OPERATOR(pg_catalog.<=) last_id
               AND NOT (m.at OPERATOR(pg_catalog.<) coalesce(prev.cut, '-infinity')
                        AND m.move_id OPERATOR(pg_catalog.<=) coalesce(prev.last_move_id, 0))) s
     GROUP BY s.item_id, s.node_id, s.lot_id, s.state
    HAVING sum(s.qty) OPERATOR(pg_catalog.<>) 0;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.close_period(date) IS
    'Closes the period up to the end of upto (a day before today, later than the last closed one): snapshots the balances per item, node, bin, lot and state into erp.period_balance from the moves dated before the cut (midnight after upto, in the session''s TimeZone); waits for the transactions writing the ledger and holds new ones until it commits; returns how many balance rows it kept. A move of a transaction that began before the cut and writes after the close counts in the open period. Refused: today or later, infinity, a year outside 1970-9999 (IE004), a day not after the last closed one (IE010)';

CREATE FUNCTION erp.archive_ledger(upto date, keep_copy boolean DEFAULT true)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    closed record;
    n bigint;
    role_before text := pg_catalog.current_setting('session_replication_role');
BEGIN
    IF upto OPERATOR(pg_catalog.<) '1970-01-01'::date OR upto OPERATOR(pg_catalog.>) '9999-12-31'::date THEN
        RAISE EXCEPTION 'invalid upto: %', upto
            USING ERRCODE = 'IE004', DETAIL = 'Dates are real calendar dates in the years 1970 to 9999.';
    END IF;
    IF keep_copy IS NULL THEN
        RAISE EXCEPTION 'invalid keep_copy: NULL'
            USING ERRCODE = 'IE004',
                  DETAIL = 'true copies the archived moves into erp.stock_move_archive (the default); false deletes them.';
    END IF;
    SELECT c.upto, c.cut, c.last_move_id INTO closed FROM erp.period_close c
     WHERE c.upto OPERATOR(pg_catalog.<=) archive_ledger.upto ORDER BY c.cut DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot archive the ledger up to %: no period is closed up to that day', coalesce(upto::text, 'NULL')
            USING ERRCODE = 'IE010',
                  HINT = 'Close the period first: SELECT erp.close_period(''' || coalesce(upto::text, 'yyyy-mm-dd') || ''').';
    END IF;
    -- the one path that removes ledger rows: the append-only guard is a
    -- trigger, and so are the other checks on the ledger; none of them fires
    -- in replica mode, which only a superuser (the extension's owner) sets
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    IF keep_copy THEN
        WITH gone AS (DELETE FROM erp.stock_move m
                       WHERE m.at OPERATOR(pg_catalog.<) closed.cut
                         AND m.move_id OPERATOR(pg_catalog.<=) closed.last_move_id RETURNING m.*)
        INSERT INTO erp.stock_move_archive SELECT * FROM gone;
    ELSE
        DELETE FROM erp.stock_move m
         WHERE m.at OPERATOR(pg_catalog.<) closed.cut AND m.move_id OPERATOR(pg_catalog.<=) closed.last_move_id;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pg_catalog.set_config('session_replication_role', role_before, true);
    UPDATE erp.period_close c SET archived_at = pg_catalog.now() WHERE c.cut OPERATOR(pg_catalog.<=) closed.cut;
    IF n OPERATOR(pg_catalog.>) 0 THEN
        -- feeds read the ledger rows of the transactions their cursor did not see
        INSERT INTO erp.feed_horizon (horizon, reason)
        VALUES (pg_catalog.pg_current_xact_id(), 'erp.archive_ledger up to ' || closed.upto);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.archive_ledger(date, boolean) IS
    'Removes from erp.stock_move the moves of the latest closed period up to upto (dated before its cut, move_id up to its last_move_id) (erp.close_period), copying them into erp.stock_move_archive unless keep_copy is false (NULL: IE004); erp.verify() stays empty (it starts from the period''s balances); feed cursors older than this call must resynchronise (a horizon of erp.feed_horizon); returns how many moves left the ledger. Refused: infinity or a year outside 1970-9999, keep_copy NULL (IE004), no period closed up to upto (IE010)';

-- ---------------------------------------------------------------------------
-- Pruning the outbox, the feed history and idempotency keys
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.prune_events(older_than interval)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cut_at timestamptz;
    low record;
    n bigint;
    changes bigint;
BEGIN
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) interval '0' THEN
        RAISE EXCEPTION 'invalid retention %: events older than a negative or NULL interval', coalesce(older_than::text, 'NULL')
            USING ERRCODE = 'IE004',
                  HINT = 'Give how long events are kept, e.g. erp.prune_events(''30 days'').';
    END IF;
    cut_at := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    -- no consumer reads, acknowledges or is created until this commits
    -- (erp.read_events takes ROW EXCLUSIVE before it reads): a new consumer's
    -- first read counts in the cursor below, or waits and reads what is left
    LOCK TABLE erp.event_consumer IN SHARE MODE;
    -- the lowest acknowledged cursor of all consumers: nobody still needs
    -- what is at or below it (no consumer: nobody needs anything)
    SELECT c.acked_commit_seq, c.acked_event_id INTO low
      FROM erp.event_consumer c ORDER BY c.acked_commit_seq, c.acked_event_id LIMIT 1;
    DELETE FROM erp.event e
     USING erp.event_commit s
     WHERE s.txn_id OPERATOR(pg_catalog.=) e.txn_id
       AND e.at OPERATOR(pg_catalog.<) cut_at
       AND (low.acked_commit_seq IS NULL
            OR s.commit_seq OPERATOR(pg_catalog.<) low.acked_commit_seq
            OR (s.commit_seq OPERATOR(pg_catalog.=) low.acked_commit_seq
                AND e.event_id OPERATOR(pg_catalog.<=) low.acked_event_id));
    GET DIAGNOSTICS n = ROW_COUNT;
    -- commit stamps with no event left, but the newest (readers start from it)
    DELETE FROM erp.event_commit s
     WHERE s.committed_at OPERATOR(pg_catalog.<) cut_at
       AND s.commit_seq OPERATOR(pg_catalog.<) (SELECT max(t.commit_seq) FROM erp.event_commit t)
       AND NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id OPERATOR(pg_catalog.=) s.txn_id);
    -- feed history: cursors taken before this call must resynchronise
    DELETE FROM erp.feed_change f WHERE f.changed_at OPERATOR(pg_catalog.<) cut_at;
    GET DIAGNOSTICS changes = ROW_COUNT;
    IF changes OPERATOR(pg_catalog.>) 0 THEN
        INSERT INTO erp.feed_horizon (horizon, reason)
        VALUES (pg_catalog.pg_current_xact_id(), 'erp.prune_events: feed changes before ' || cut_at);
    END IF;
    -- a horizon may go once a later one was set by a transaction that saw it
    -- committed: a cursor that sees the later one then sees it too.  (Not
    -- "keep the newest id": two prunes can commit in the other order than
    -- their ids, and a cursor could see the newer id but not the older.)
    -- Horizons ahead of this database (a dump of another cluster) stay.
    DELETE FROM erp.feed_horizon h
     WHERE h.horizon OPERATOR(pg_catalog.<=) pg_catalog.pg_current_xact_id()
       AND EXISTS (SELECT 1 FROM erp.feed_horizon k
                    WHERE k.seen IS NOT NULL
                      AND k.horizon OPERATOR(pg_catalog.>) h.horizon
                      AND k.horizon OPERATOR(pg_catalog.<=) pg_catalog.pg_current_xact_id()
                      AND pg_catalog.pg_visible_in_snapshot(h.horizon, k.seen));
    PERFORM erp.prune_idempotency_keys();
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.prune_events(interval) IS
    'Deletes the events older than older_than that every consumer has acknowledged (an event some consumer has not acknowledged is kept, however old: drop an abandoned consumer''s row from erp.event_consumer to release it), their commit stamps, feed changes older than older_than (feed cursors taken before the call then resynchronise: IE010 from erp.channel_availability_changes) and expired idempotency keys; returns how many events it deleted. Refused: a negative or NULL interval (IE004)';

-- ---------------------------------------------------------------------------
-- Empty balance slots
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.compact_slots(max_rows integer DEFAULT 10000)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_maintenance_compact_slots'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.compact_slots(integer) IS
    'Deletes at most max_rows rows of erp.stock_slot whose every state is zero, each under the slot''s ownership lock as the stock kernel takes it (a slot some transaction owns now is skipped, never waited for); balances do not change; returns how many rows it deleted. Refused: max_rows below 1 (IE004), a REPEATABLE READ or SERIALIZABLE transaction (IE010)';

-- ---------------------------------------------------------------------------
-- The periodic work, with pg_cron
-- ---------------------------------------------------------------------------
CREATE FUNCTION erp.maintenance_jobs()
    RETURNS TABLE (job_name text, schedule text, command text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT j.job_name, j.schedule, j.command
      FROM (VALUES
        (1, 'inventory_erp.allocate_pending', '* * * * *', 'SELECT erp.allocate_pending()', NULL::text),
        (2, 'inventory_erp.expire_returns', '7 * * * *', 'SELECT erp.expire_returns()', NULL),
        (3, 'inventory_erp.expire_holds', '*/5 * * * *', 'SELECT erp.expire_holds()', 'erp.expire_holds()'),
        (4, 'inventory_erp.refresh_forecasts', '15 2 * * *', 'SELECT erp.refresh_forecasts()', 'erp.refresh_forecasts(text)'),
        (5, 'inventory_erp.detect_anomalies', '23 * * * *', 'SELECT erp.detect_anomalies()', 'erp.detect_anomalies()'),
        (6, 'inventory_erp.prune_events', '40 3 * * *', 'SELECT erp.prune_events(''30 days'')', NULL),
        (7, 'inventory_erp.compact_slots', '50 3 * * *', 'SELECT erp.compact_slots()', NULL)
      ) AS j(ord, job_name, schedule, command, needs)
     WHERE j.needs IS NULL OR pg_catalog.to_regprocedure(j.needs) IS NOT NULL
     ORDER BY j.ord
$$;
COMMENT ON FUNCTION erp.maintenance_jobs() IS
    'The periodic work of the extension, as erp.schedule_jobs() registers it: job name, cron schedule, command; the functions of features not installed are left out';

CREATE FUNCTION erp.scheduled_job_owners()
    RETURNS SETOF name
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- pg_cron shows each role only its own jobs (row level security on
    -- cron.job): read as the extension's owner, names of ours only
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE 'SELECT DISTINCT j.username::name FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
        USING ARRAY['inventory_erp.allocate_pending', 'inventory_erp.expire_returns', 'inventory_erp.expire_holds',
                    'inventory_erp.refresh_forecasts', 'inventory_erp.detect_anomalies', 'inventory_erp.prune_events',
                    'inventory_erp.compact_slots'];
END
$$;
COMMENT ON FUNCTION erp.scheduled_job_owners() IS
    'The roles whose pg_cron jobs run the periodic work of erp.schedule_jobs() in this database (none without pg_cron); erp.schedule_jobs() refuses to register the jobs a second time under another role';

CREATE FUNCTION erp.schedule_jobs()
    RETURNS TABLE (job_name text, schedule text, command text, jobid bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    j record;
    plan text := '';
BEGIN
    IF pg_catalog.to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
        FOR j IN SELECT * FROM erp.maintenance_jobs() LOOP
            plan := plan || pg_catalog.format(E'\n  %-12s %s', j.schedule, j.command);
        END LOOP;
        RAISE NOTICE 'pg_cron is not installed in database "%": nothing was scheduled', pg_catalog.current_database()
            USING DETAIL = 'Run these with your scheduler (cron syntax, as the database''s administrator):' || plan,
                  HINT = 'Or install pg_cron (Debian: postgresql-15-cron; shared_preload_libraries = ''pg_cron'', cron.database_name = '''
                         || pg_catalog.current_database() || '''), CREATE EXTENSION pg_cron, and call erp.schedule_jobs() again.';
        RETURN QUERY SELECT m.job_name, m.schedule, m.command, NULL::bigint FROM erp.maintenance_jobs() m;
        RETURN;
    END IF;
    -- one set of jobs per database: another administrator's would run everything twice
    SELECT o INTO j FROM erp.scheduled_job_owners() o WHERE o OPERATOR(pg_catalog.<>) CURRENT_USER LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the periodic work of inventory_erp is scheduled by role % already', j.o
            USING ERRCODE = 'IE010',
                  HINT = 'Call erp.unschedule_jobs() as that role first, or leave its jobs as they are.';
    END IF;
    -- cron.schedule with a job name replaces that job of the caller's: calling
    -- again updates, never duplicates; the jobs run as the caller
    FOR j IN SELECT * FROM erp.maintenance_jobs() LOOP
        job_name := j.job_name;
        schedule := j.schedule;
        command := j.command;
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING j.job_name, j.schedule, j.command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION erp.schedule_jobs() IS
    'Registers the periodic work of erp.maintenance_jobs() with pg_cron, as jobs named inventory_erp.* that run as the caller (calling again updates them, never duplicates); returns the jobs with their pg_cron job ids; refused (IE010) when another role has them scheduled already.  Without pg_cron in this database: a NOTICE listing what to run and how often, the same rows with jobid NULL, and nothing changed';

CREATE FUNCTION erp.unschedule_jobs()
    RETURNS integer
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer := 0;
    name text;
BEGIN
    IF pg_catalog.to_regprocedure('cron.unschedule(name)') IS NULL THEN
        RAISE NOTICE 'pg_cron is not installed in database "%": no job to remove', pg_catalog.current_database();
        RETURN 0;
    END IF;
    -- only the names erp.maintenance_jobs() can list (a DBA's own job named
    -- inventory_erp.something stays)
    FOR name IN EXECUTE 'SELECT j.jobname FROM cron.job j WHERE j.jobname OPERATOR(pg_catalog.=) ANY ($1)'
                        ' AND j.username OPERATOR(pg_catalog.=) CURRENT_USER'
        USING ARRAY['inventory_erp.allocate_pending', 'inventory_erp.expire_returns', 'inventory_erp.expire_holds',
                    'inventory_erp.refresh_forecasts', 'inventory_erp.detect_anomalies', 'inventory_erp.prune_events',
                    'inventory_erp.compact_slots']
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING name;
        n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION erp.unschedule_jobs() IS
    'Removes the caller''s pg_cron jobs that erp.schedule_jobs() registers (by their names, which erp.maintenance_jobs() lists; other jobs stay, also a DBA''s own named inventory_erp.*); returns how many';
-- 87_maintenance_verify: erp.verify() starts from the balances of the latest
-- closed period (sql/install/80_verify.sql, as a fresh install has it).
CREATE OR REPLACE FUNCTION erp.verify()
    RETURNS TABLE (problem text, item_id bigint, node_id bigint, lot_id bigint,
                   state erp.stock_state, expected bigint, actual bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH closed AS (
        -- the latest closed period: its balances stand for every move before its cut
        SELECT c.upto, c.cut, c.last_move_id FROM erp.period_close c ORDER BY c.cut DESC LIMIT 1
    ), ledger AS (
        SELECT b.item_id, b.node_id, NULLIF(b.lot_id, 0) AS lot_id, b.state, b.qty
          FROM erp.period_balance b JOIN closed c ON c.upto = b.upto
        UNION ALL
        SELECT m.item_id, m.to_node_id AS node_id, m.lot_id, m.to_state AS state, m.qty
          FROM erp.stock_move m WHERE m.to_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
        UNION ALL
        SELECT m.item_id, m.from_node_id, m.lot_id, m.from_state, -m.qty
          FROM erp.stock_move m WHERE m.from_state IS NOT NULL
           AND NOT (m.at < coalesce((SELECT c.cut FROM closed c), '-infinity')
                    AND m.move_id <= (SELECT c.last_move_id FROM closed c))
    ), by_ledger AS (
        SELECT l.item_id, l.node_id, l.lot_id, l.state, sum(l.qty)::bigint AS qty
          FROM ledger l GROUP BY 1, 2, 3, 4
    ), by_balance AS (
        SELECT b.item_id, b.node_id, b.lot_id, b.state, sum(b.qty)::bigint AS qty
          FROM erp.stock_balance b GROUP BY 1, 2, 3, 4
    ), by_reservation AS (
        SELECT r.item_id, r.node_id, r.lot_id, s.state, sum(s.qty)::bigint AS qty
          FROM erp.reservation r
         CROSS JOIN LATERAL (VALUES ('reserved'::erp.stock_state, r.qty - r.qty_picked),
                                    ('picked', r.qty_picked - r.qty_packed),
                                    ('packed', r.qty_packed)) AS s(state, qty)
         GROUP BY 1, 2, 3, 4
    ), line_need AS (
        -- what each line should hold: its item, or each component of a kit
        SELECT ol.order_id, ol.line_no, coalesce(c.component_item_id, ol.item_id) AS item_id,
               (ol.qty_allocated - ol.qty_shipped) * coalesce(c.qty, 1) AS qty
          FROM erp.order_line ol
          LEFT JOIN erp.item_component c ON c.kit_item_id = ol.item_id
    ), line_held AS (
        SELECT r.order_id, r.line_no, r.item_id, sum(r.qty)::bigint AS qty
          FROM erp.reservation r GROUP BY 1, 2, 3
    ), problems (problem, item_id, node_id, lot_id, state, expected, actual, order_id) AS (
    SELECT 'balance differs from ledger', coalesce(l.item_id, b.item_id), coalesce(l.node_id, b.node_id),
           coalesce(l.lot_id, b.lot_id), coalesce(l.state, b.state), coalesce(l.qty, 0), coalesce(b.qty, 0),
           NULL::bigint
      FROM by_ledger l
      FULL JOIN by_balance b
        ON b.item_id = l.item_id AND b.node_id = l.node_id AND b.state = l.state
       AND b.lot_id IS NOT DISTINCT FROM l.lot_id
     WHERE coalesce(l.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'negative balance', b.item_id, b.node_id, b.lot_id, b.state, 0, b.qty, NULL
      FROM by_balance b WHERE b.qty < 0
    UNION ALL
    SELECT 'negative slot', s.item_id, s.node_id, NULLIF(s.lot_id, 0), q.state, 0, q.qty, NULL
      FROM erp.stock_slot s
     CROSS JOIN LATERAL (VALUES ('incoming'::erp.stock_state, s.incoming), ('in_transit', s.in_transit),
                                ('return_pending', s.return_pending), ('available', s.available),
                                ('inspection', s.inspection), ('quarantined', s.quarantined),
                                ('damaged', s.damaged), ('refurbish', s.refurbish),
                                ('vendor_return', s.vendor_return)) AS q(state, qty)
     WHERE q.qty < 0
    UNION ALL
    SELECT 'reservations differ from balance', coalesce(r.item_id, b.item_id), coalesce(r.node_id, b.node_id),
           coalesce(r.lot_id, b.lot_id), coalesce(r.state, b.state), coalesce(r.qty, 0), coalesce(b.qty, 0), NULL
      FROM (SELECT * FROM by_reservation WHERE qty <> 0) r
      FULL JOIN (SELECT * FROM by_balance WHERE state IN ('reserved', 'picked', 'packed') AND qty <> 0) b
        ON b.item_id = r.item_id AND b.node_id = r.node_id AND b.state = r.state
       AND b.lot_id IS NOT DISTINCT FROM r.lot_id
     WHERE coalesce(r.qty, 0) <> coalesce(b.qty, 0)
    UNION ALL
    SELECT 'reservations differ from order line ' || coalesce(n.order_id, h.order_id) || '/' || coalesce(n.line_no, h.line_no),
           coalesce(n.item_id, h.item_id), NULL, NULL, NULL, coalesce(n.qty, 0), coalesce(h.qty, 0),
           coalesce(n.order_id, h.order_id)
      FROM (SELECT * FROM line_need WHERE qty <> 0) n
      FULL JOIN (SELECT * FROM line_held WHERE qty <> 0) h
        ON h.order_id = n.order_id AND h.line_no = n.line_no AND h.item_id = n.item_id
     WHERE coalesce(n.qty, 0) <> coalesce(h.qty, 0)
    )
    -- a partner: the problems at its nodes, and of the orders it may see
    SELECT p.problem, p.item_id, p.node_id, p.lot_id, p.state, p.expected, p.actual
      FROM problems p
     WHERE (SELECT erp.visible_nodes()) IS NULL
        OR p.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]))
        OR (p.node_id IS NULL AND p.order_id IS NOT NULL AND erp.order_visible(p.order_id))
$$;
COMMENT ON FUNCTION erp.verify() IS 'Consistency check: one row per balance that differs from the ledger (the balances of the latest closed period plus the moves after it), negative quantity, or reservation that differs from its balance or order line; no rows on a healthy database; a partner sees only the rows of its nodes and orders';
-- 88_forecast: demand history, forecasts, snapshots, accuracy and replenishment from the
-- forecast (sql/install/19_forecast.sql), for databases updated from 0.2.0: the same
-- objects; erp.replenishment, which 0.2.0 has, is replaced in place with its new
-- columns appended (its grants and column comments stay).

-- Demand a legacy system recorded before the extension (erp.import_demand).
CREATE TABLE erp.demand_import (
    demand_import_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id             bigint NOT NULL REFERENCES erp.item,
    channel_id          bigint REFERENCES erp.channel,
    node_id             bigint REFERENCES erp.node,
    day                 date NOT NULL,
    qty                 bigint NOT NULL CHECK (qty >= 0),
    imported_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT demand_import_key UNIQUE NULLS NOT DISTINCT (item_id, channel_id, node_id, day)
);
COMMENT ON TABLE erp.demand_import IS 'Daily demand loaded by erp.import_demand from a system that ran before the extension; one row per item, channel, node and day (a later import of the same day replaces it)';
COMMENT ON COLUMN erp.demand_import.channel_id IS 'Channel the demand came from; NULL when the legacy system did not say';
COMMENT ON COLUMN erp.demand_import.node_id IS 'Node that served it; NULL when the legacy system did not say';
COMMENT ON COLUMN erp.demand_import.qty IS 'Units asked for that day';
-- a partner (erp.node_access) sees the rows of its nodes only, as in 85_access.sql
ALTER TABLE erp.demand_import ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.demand_import
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- Days on which an item ran out at a node: the available units of the node
-- (all bins and lots) are replayed move by move from the ledger; a day is a
-- stockout day when it opened with none available, or when available reached
-- 0 during it.  Days without moves keep the state of the day before.  A partner
-- (erp.node_access) replays its own nodes only: it sees every move of those,
-- but of another node only the moves to or from its own (a transfer's), and a
-- replay of those alone ran the other node's balance below 0.
CREATE VIEW erp.stockout_day WITH (security_invoker = true) AS
SELECT x.item_id, x.node_id, d.day
  FROM (SELECT y.item_id, y.node_id, y.day, y.low, y.close,
               pg_catalog.lag(y.close) OVER w AS prev_close,
               pg_catalog.lead(y.day) OVER w AS next_day
          FROM (SELECT r.item_id, r.node_id, r.day, pg_catalog.min(r.bal) AS low,
                       (pg_catalog.array_agg(r.bal ORDER BY r.at DESC, r.move_id DESC))[1] AS close
                  FROM (SELECT m.item_id, m.node_id, m.at, m.move_id, CAST(m.at AS date) AS day,
                               pg_catalog.sum(m.delta) OVER (PARTITION BY m.item_id, m.node_id
                                                             ORDER BY m.at, m.move_id
                                                             ROWS UNBOUNDED PRECEDING) AS bal
                          FROM (SELECT s.item_id, v.node_id, s.at, s.move_id, pg_catalog.sum(v.delta) AS delta
                                  FROM erp.stock_move s
                                 CROSS JOIN LATERAL (VALUES
                                       (s.to_node_id, CASE WHEN s.to_state = 'available' THEN s.qty END),
                                       (s.from_node_id, CASE WHEN s.from_state = 'available' THEN -s.qty END))
                                       AS v(node_id, delta)
                                 WHERE v.delta IS NOT NULL
                                   AND ((SELECT erp.visible_nodes()) IS NULL
                                        OR v.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))
                                 GROUP BY s.item_id, v.node_id, s.at, s.move_id) m) r
                 GROUP BY r.item_id, r.node_id, r.day) y
        WINDOW w AS (PARTITION BY y.item_id, y.node_id ORDER BY y.day)) x
 CROSS JOIN LATERAL (
       -- the day itself, when it opened with nothing available or reached 0 ...
       SELECT x.day
        WHERE x.low <= 0 OR COALESCE(x.prev_close, 0) <= 0
       UNION ALL
       -- ... and the days without moves after it, when it closed with nothing
       SELECT CAST(g AS date)
         FROM pg_catalog.generate_series(CAST(x.day + 1 AS timestamp),
                                         CAST(COALESCE(x.next_day, CURRENT_DATE + 1) - 1 AS timestamp),
                                         interval '1 day') AS g
        WHERE x.close <= 0) AS d(day);
COMMENT ON VIEW erp.stockout_day IS
    'Days on which an item was out of stock at a node: the day opened with no available units there (all bins and lots), or available reached 0 during it; days without moves after a day that closed with none count too, up to today. Demand on these days is censored (erp.demand_history). A partner sees the days of its own nodes only';

-- What customers asked for, per item, channel, node and day.  A line is demand
-- at each node that holds or shipped units of it, for those units (a line split
-- across nodes is demand at each); its units nobody holds or shipped
-- (backordered, short, cancelled) at the channel's best-ranked node, where
-- erp.replenishment counts a backorder; a line without a held or shipped unit
-- of its item (nothing allocated, or a kit, which holds its components) all
-- there.  A partner sees its own nodes' rows only.
CREATE VIEW erp.demand_history WITH (security_invoker = true) AS
WITH asked AS NOT MATERIALIZED (
    SELECT ol.item_id, o.channel_id, p.node_id, CAST(o.created_at AS date) AS day, p.qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
     CROSS JOIN LATERAL (
           WITH held AS (
               SELECT g.node_id, pg_catalog.sum(g.qty) AS qty
                 FROM (SELECT v.node_id, v.qty FROM erp.reservation v
                        WHERE v.item_id = ol.item_id AND v.order_id = ol.order_id AND v.line_no = ol.line_no
                          AND v.qty > 0
                       UNION ALL
                       SELECT sl.node_id, sl.qty FROM erp.shipment_line sl
                        WHERE sl.order_id = ol.order_id AND sl.item_id = ol.item_id AND sl.line_no = ol.line_no) g
                GROUP BY g.node_id)
           SELECT h.node_id, h.qty FROM held h
           UNION ALL
           SELECT (SELECT cn.node_id FROM erp.channel_node cn
                    WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1),
                  CASE WHEN EXISTS (SELECT 1 FROM held) THEN ol.qty - ol.qty_allocated ELSE ol.qty END
            WHERE ol.qty > ol.qty_allocated OR NOT EXISTS (SELECT 1 FROM held)) AS p(node_id, qty)
    UNION ALL
    SELECT di.item_id, di.channel_id, di.node_id, di.day, di.qty
      FROM erp.demand_import di
)
SELECT i.sku, c.code AS channel, n.code AS node, h.day, h.qty, h.censored,
       h.item_id, h.channel_id, h.node_id
  FROM (SELECT a.item_id, a.channel_id, a.node_id, a.day,
               CAST(pg_catalog.sum(a.qty) AS bigint) AS qty, pg_catalog.bool_or(a.censored) AS censored
          FROM (SELECT q.item_id, q.channel_id, q.node_id, q.day, q.qty, false AS censored
                  FROM asked q
                UNION ALL
                -- the series' stockout days at its node, from its first day on
                SELECT s.item_id, s.channel_id, s.node_id, z.day, 0, true
                  FROM (SELECT q.item_id, q.channel_id, q.node_id, pg_catalog.min(q.day) AS first_day
                          FROM asked q GROUP BY q.item_id, q.channel_id, q.node_id) s
                  JOIN erp.stockout_day z ON z.item_id = s.item_id AND z.node_id = s.node_id
                                         AND z.day >= s.first_day) a
         GROUP BY a.item_id, a.channel_id, a.node_id, a.day) h
  JOIN erp.item i ON i.item_id = h.item_id
  LEFT JOIN erp.channel c ON c.channel_id = h.channel_id
  LEFT JOIN erp.node n ON n.node_id = h.node_id
 -- a partner may see an order of another node (a channel both serve): not its demand
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR h.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.demand_history IS
    'Units asked for per item, channel, node and day: order lines as captured (qty, whatever was later allocated, shipped or cancelled; dated by the order''s capture; at each node that holds or shipped units of the line, for those units, and the units nobody holds or shipped, or a whole line without any, at the channel''s best-ranked node) plus erp.import_demand rows; a row per day with demand, and per stockout day of the node (erp.stockout_day) since the series'' first day. Days missing are days without demand. A partner sees its own nodes'' rows only';
COMMENT ON COLUMN erp.demand_history.qty IS 'Units asked for that day (0 on a stockout day without orders)';
COMMENT ON COLUMN erp.demand_history.censored IS 'The item was out of stock at the node that day: what was asked is a lower bound of demand, and the forecast does not learn from the day';
COMMENT ON COLUMN erp.demand_history.channel IS 'Channel code; NULL for imported demand without a channel';
COMMENT ON COLUMN erp.demand_history.node IS 'Node code; NULL for imported demand without a node';

-- What erp.refresh_forecasts stored: the forecast as it was, to be compared with
-- what then happened.
CREATE TABLE erp.forecast_snapshot (
    forecast_snapshot_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at                timestamptz NOT NULL DEFAULT pg_catalog.now(),
    item_id                 bigint NOT NULL,
    channel_id              bigint,
    node_id                 bigint,
    day                     date NOT NULL,
    qty                     numeric NOT NULL CHECK (qty >= 0),
    lo                      numeric NOT NULL,
    hi                      numeric NOT NULL,
    sigma                   numeric NOT NULL CHECK (sigma >= 0),
    model                   text NOT NULL,
    CONSTRAINT forecast_snapshot_qty_not_nan CHECK (qty <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_lo_not_nan CHECK (lo <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_hi_not_nan CHECK (hi <> 'NaN'::numeric),
    CONSTRAINT forecast_snapshot_sigma_not_nan CHECK (sigma <> 'NaN'::numeric)
);
CREATE INDEX forecast_snapshot_series_idx ON erp.forecast_snapshot (item_id, node_id, taken_at);
CREATE INDEX forecast_snapshot_day_idx ON erp.forecast_snapshot (day);
-- a partner (erp.node_access) sees the rows of its nodes only, as in 85_access.sql
ALTER TABLE erp.forecast_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.forecast_snapshot
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));
COMMENT ON TABLE erp.forecast_snapshot IS 'Daily forecasts of every active series as erp.refresh_forecasts computed them (one row per series and day of the horizon); erp.kpi_forecast_accuracy compares them with what then happened. No foreign keys: only erp.refresh_forecasts writes it, from series of existing items, channels and nodes (which are retired, never deleted), and checking three keys per row made its inserts nine times slower';
COMMENT ON COLUMN erp.forecast_snapshot.taken_at IS 'When the refresh ran (its transaction''s start): the rows of one refresh share it, and so do those of two refreshes in one transaction (readers take the later one''s row, the higher forecast_snapshot_id, of a series and day)';
COMMENT ON COLUMN erp.forecast_snapshot.qty IS 'Expected units that day';
COMMENT ON COLUMN erp.forecast_snapshot.lo IS 'Lower end of the 95% prediction interval (never below 0)';
COMMENT ON COLUMN erp.forecast_snapshot.hi IS 'Upper end of the 95% prediction interval';
COMMENT ON COLUMN erp.forecast_snapshot.sigma IS 'Standard deviation of the series'' one-step forecast errors (units per day)';
COMMENT ON COLUMN erp.forecast_snapshot.model IS 'Model chosen for the series: ses, damped_trend, weekly_seasonal, croston_sba or none (no history)';

CREATE FUNCTION erp.forecast(sku text, channel text DEFAULT NULL, node text DEFAULT NULL, horizon_days integer DEFAULT 28)
    RETURNS TABLE(day date, qty numeric, lo numeric, hi numeric, model text)
    AS 'MODULE_PATHNAME', 'ierp_forecast'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.forecast(text, text, text, integer) IS
    'Daily demand forecast of an item (over every channel and node unless channel or node is given) for horizon_days (1 to 366, IE004) from today, with a 95% prediction interval and the model chosen by holdout error (doc/planning.md); history = erp.demand_history up to yesterday, stockout days left out; unknown sku, channel or node: IE003';

CREATE FUNCTION erp.forecast_series(qty double precision[], censored boolean[] DEFAULT NULL, horizon_days integer DEFAULT 28)
    RETURNS TABLE(step integer, qty numeric, lo numeric, hi numeric, model text)
    AS 'MODULE_PATHNAME', 'ierp_forecast_series'
    LANGUAGE C IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.forecast_series(double precision[], boolean[], integer) IS
    'The forecasting engine on a given daily series (oldest first; censored[i] true = leave day i out): steps 1..horizon_days (1 to 366, IE004) after its last day, as erp.forecast computes them; for what-if checks and validation';

CREATE FUNCTION erp.refresh_forecasts(idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_forecast_refresh'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.refresh_forecasts(text) IS
    'Forecasts every active series (item, channel, node of erp.demand_history whose item is active, with demand in the last 91 days) 28 days ahead from today and stores the rows in erp.forecast_snapshot; returns how many series; a retry with the same idempotency_key returns the first count and stores nothing; erp_admin only';

CREATE FUNCTION erp.import_demand(lines jsonb, idempotency_key text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_forecast_import_demand'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.import_demand(jsonb, text) IS
    'Loads daily demand of a legacy system: lines = [{"sku", "channel" (optional), "node" (optional), "day", "qty"}], at most 100,000 (IE004); a day already imported for the same item, channel and node is replaced; unknown sku, channel or node: IE003; qty below 0 or day in the future: IE004; returns how many rows; erp_admin only';

CREATE FUNCTION erp.normal_quantile(p double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'ierp_normal_quantile'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.normal_quantile(double precision) IS
    'The standard normal quantile z with P(Z <= z) = p, for 0 < p < 1 (IE004 otherwise): the safety factor of a service level (0.95 -> 1.645)';

-- Accuracy: each series' forecast of a day, from the last refresh taken on or
-- before that day, against the demand of that day.
CREATE VIEW erp.kpi_forecast_accuracy WITH (security_invoker = true) AS
SELECT c.code AS channel, i.category,
       pg_catalog.count(*) AS series_days,
       CAST(pg_catalog.sum(p.actual) AS bigint) AS actual_units,
       pg_catalog.round(pg_catalog.sum(p.qty), 1) AS forecast_units,
       pg_catalog.round(100 * pg_catalog.sum(pg_catalog.abs(p.qty - p.actual)) / NULLIF(pg_catalog.sum(p.actual), 0), 1) AS wape,
       pg_catalog.round(100 * pg_catalog.sum(p.qty - p.actual) / NULLIF(pg_catalog.sum(p.actual), 0), 1) AS bias_pct
  FROM (SELECT f.item_id, f.channel_id, f.qty, COALESCE(h.qty, 0) AS actual
          FROM (SELECT DISTINCT ON (s.item_id, s.channel_id, s.node_id, s.day)
                       s.item_id, s.channel_id, s.node_id, s.day, s.qty
                  FROM erp.forecast_snapshot s
                 WHERE s.day < CURRENT_DATE AND s.day >= CURRENT_DATE - 28
                   AND CAST(s.taken_at AS date) <= s.day
                 ORDER BY s.item_id, s.channel_id, s.node_id, s.day, s.taken_at DESC, s.forecast_snapshot_id DESC) f
          LEFT JOIN erp.demand_history h
            ON h.item_id = f.item_id AND h.channel_id IS NOT DISTINCT FROM f.channel_id
           AND h.node_id IS NOT DISTINCT FROM f.node_id AND h.day = f.day
         WHERE NOT COALESCE(h.censored, false)) p
  JOIN erp.item i ON i.item_id = p.item_id
  LEFT JOIN erp.channel c ON c.channel_id = p.channel_id
 GROUP BY c.code, i.category;
COMMENT ON VIEW erp.kpi_forecast_accuracy IS
    'Forecast accuracy per channel and item category over the last 28 days (yesterday back): for each series and day, the forecast of the latest refresh taken on or before that day (F) against the units asked that day (A), stockout days left out; wape = 100 * sum |F - A| / sum A, bias_pct = 100 * sum (F - A) / sum A (above 0: the forecast runs hot, below: cold)';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.series_days IS 'Series-days compared';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.wape IS 'Weighted absolute percentage error: 100 * sum |F - A| / sum A; NULL when nothing was asked';
COMMENT ON COLUMN erp.kpi_forecast_accuracy.bias_pct IS '100 * sum (F - A) / sum A: above 0 the forecast runs hot (too much stock), below 0 cold';

-- Replenishment from the forecast: a stock policy with a service level gets
-- safety stock and reorder point from forecast demand over the lead time and
-- the variability of both.
ALTER TABLE erp.stock_policy ADD COLUMN service_level numeric
    CONSTRAINT stock_policy_service_level CHECK (service_level > 0 AND service_level < 1),
    -- named as 83_value_checks.sql names them (test/pgtap/26-no-nan.sql looks for it)
    ADD CONSTRAINT stock_policy_service_level_not_nan CHECK (service_level <> 'NaN'::numeric);
COMMENT ON COLUMN erp.stock_policy.service_level IS 'Target probability of not running out during a lead time (e.g. 0.95); erp.replenishment then sizes safety stock and reorder point from the forecast (fc_ columns); NULL = the reorder_point and order_up_to given only';

CREATE OR REPLACE VIEW erp.replenishment WITH (security_invoker = true) AS
WITH stock AS (
    SELECT b.item_id, b.node_id,
           sum(b.qty) FILTER (WHERE b.state IN ('available', 'reserved', 'picked', 'packed', 'inspection',
                                                'quarantined', 'damaged', 'refurbish', 'vendor_return')) AS on_hand,
           sum(b.qty) FILTER (WHERE b.state = 'available') AS available,
           sum(b.qty) FILTER (WHERE b.state IN ('incoming', 'in_transit', 'return_pending')) AS inbound
      FROM erp.stock_balance b GROUP BY b.item_id, b.node_id
), demand AS (
    SELECT sl.item_id, sl.node_id, sum(sl.qty) AS shipped
      FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id
     WHERE s.shipped_at >= pg_catalog.now() - interval '28 days'
     GROUP BY sl.item_id, sl.node_id
), waiting AS (
    -- a backorder waits at the best-ranked node of its order's channel
    SELECT ol.item_id, first_node.node_id, sum(ol.qty_backordered) AS qty
      FROM erp.order_line ol
      JOIN erp.sales_order o ON o.order_id = ol.order_id
      CROSS JOIN LATERAL (SELECT cn.node_id FROM erp.channel_node cn
                           WHERE cn.channel_id = o.channel_id ORDER BY cn.rank, cn.node_id LIMIT 1) first_node
     WHERE ol.qty_backordered > 0   -- a line keeps its backorder while its allocated part is picked
     GROUP BY ol.item_id, first_node.node_id
), delay AS (
    -- how late (or early) received purchase orders of the item came to the node, in days
    SELECT pl.item_id, po.node_id,
           pg_catalog.avg(EXTRACT(epoch FROM po.received_at - po.expected_at) / 86400) AS mean,
           COALESCE(pg_catalog.stddev_samp(EXTRACT(epoch FROM po.received_at - po.expected_at) / 86400), 0) AS sd
      FROM erp.purchase_order_line pl JOIN erp.purchase_order po ON po.purchase_order_id = pl.purchase_order_id
     WHERE po.received_at IS NOT NULL AND po.received_at >= pg_catalog.now() - interval '365 days'
     GROUP BY pl.item_id, po.node_id
), position AS (
    SELECT p.item_id, p.node_id, p.reorder_point, p.order_up_to,
           COALESCE(p.lead_time_days, s.lead_time_days, 7) AS lead_time_days,
           COALESCE(st.on_hand, 0) AS on_hand, COALESCE(st.available, 0) AS available,
           COALESCE(st.inbound, 0) AS inbound, COALESCE(w.qty, 0) AS backordered,
           COALESCE(d.shipped, 0) / 28.0 AS daily_demand,
           p.service_level,
           GREATEST(COALESCE(p.lead_time_days, s.lead_time_days, 7) + COALESCE(dl.mean, 0), 0) AS lt_mean,
           COALESCE(dl.sd, 0) AS lt_sd
      FROM erp.stock_policy p
      LEFT JOIN erp.supplier s ON s.supplier_id = p.supplier_id
      LEFT JOIN stock st ON st.item_id = p.item_id AND st.node_id = p.node_id
      LEFT JOIN demand d ON d.item_id = p.item_id AND d.node_id = p.node_id
      LEFT JOIN waiting w ON w.item_id = p.item_id AND w.node_id = p.node_id
      LEFT JOIN delay dl ON dl.item_id = p.item_id AND dl.node_id = p.node_id
), planned AS (
    -- the latest refresh's forecast of the node (all its channels) over the lead time
    -- z of the service level as a double strictly between 0 and 1: the CHECK lets in
    -- numerics a cast would round to 1 (0.99999999999999999999) or cannot make a
    -- double of (1e-400), which failed every query of the view
    SELECT x.*, fc.d, fc.var_d,
           CASE WHEN x.service_level IS NOT NULL
                THEN erp.normal_quantile(CAST(LEAST(GREATEST(x.service_level, 1e-300), 0.9999999999999999)
                                              AS double precision)) END AS z
      FROM position x
      LEFT JOIN LATERAL (
           SELECT pg_catalog.avg(f.qty) AS d, pg_catalog.avg(f.var) AS var_d
             FROM (SELECT g.day, pg_catalog.sum(g.qty) AS qty, pg_catalog.sum(g.sigma * g.sigma) AS var
                     -- two refreshes in one transaction share their taken_at (now()): each
                     -- series and day once, from the later refresh (the higher id), not summed
                     FROM (SELECT DISTINCT ON (s.channel_id, s.day) s.day, s.qty, s.sigma
                             FROM erp.forecast_snapshot s
                            WHERE s.item_id = x.item_id AND s.node_id = x.node_id AND s.day >= CURRENT_DATE
                              AND s.taken_at = (SELECT pg_catalog.max(l.taken_at) FROM erp.forecast_snapshot l
                                                 WHERE l.item_id = x.item_id AND l.node_id = x.node_id)
                            ORDER BY s.channel_id, s.day, s.forecast_snapshot_id DESC) g
                    GROUP BY g.day ORDER BY g.day
                    LIMIT GREATEST(CAST(pg_catalog.ceil(x.lt_mean) AS bigint), 1)) f) fc
        ON x.service_level IS NOT NULL
), sized AS (
    SELECT y.*, y.z * pg_catalog.sqrt(y.lt_mean * y.var_d + y.d * y.d * y.lt_sd * y.lt_sd) AS ss
      FROM planned y
)
SELECT i.sku, n.code AS node,
       x.on_hand::bigint, x.available::bigint, x.inbound::bigint, x.backordered::bigint,
       round(x.daily_demand, 2) AS avg_daily_demand, x.reorder_point, x.order_up_to,
       CASE WHEN x.available + x.inbound - x.backordered < x.reorder_point
            THEN greatest(x.order_up_to - (x.available + x.inbound - x.backordered), 0) ELSE 0 END::bigint AS suggested_qty,
       CASE WHEN x.daily_demand > 0 THEN round(x.available / x.daily_demand, 1) END AS days_of_cover,
       CASE WHEN x.available = 0 AND (x.backordered > 0 OR x.daily_demand > 0) THEN 'stockout'
            WHEN x.daily_demand > 0 AND (x.available + x.inbound) / x.daily_demand < x.lead_time_days THEN 'high'
            WHEN x.available + x.inbound - x.backordered < x.reorder_point THEN 'medium'
            ELSE 'low' END AS stockout_risk,
       x.lead_time_days, x.item_id, x.node_id,
       x.service_level,
       pg_catalog.round(x.d, 2) AS fc_daily_demand,
       pg_catalog.round(pg_catalog.sqrt(x.var_d), 2) AS fc_demand_sd,
       CASE WHEN x.d IS NOT NULL THEN pg_catalog.round(x.lt_mean, 1) END AS lead_time_mean,
       CASE WHEN x.d IS NOT NULL THEN pg_catalog.round(x.lt_sd, 1) END AS lead_time_sd,
       CAST(pg_catalog.ceil(x.ss) AS bigint) AS fc_safety_stock,
       CAST(pg_catalog.ceil(x.d * x.lt_mean + x.ss) AS bigint) AS fc_reorder_point,
       CAST(CASE WHEN x.d IS NULL THEN NULL
                 WHEN x.available + x.inbound - x.backordered < pg_catalog.ceil(x.d * x.lt_mean + x.ss)
                 THEN GREATEST(pg_catalog.ceil(x.d * x.lt_mean + x.ss) + GREATEST(x.order_up_to - x.reorder_point, 0)
                               - (x.available + x.inbound - x.backordered), 0)
                 ELSE 0 END AS bigint) AS fc_suggested_qty
  FROM sized x
  JOIN erp.item i ON i.item_id = x.item_id
  JOIN erp.node n ON n.node_id = x.node_id
 -- stock policies carry no row security of their own: partners see their nodes only
 WHERE (SELECT erp.visible_nodes()) IS NULL
    OR x.node_id = ANY (CAST((SELECT erp.visible_nodes()) AS bigint[]));
COMMENT ON VIEW erp.replenishment IS
    'Per item and node with a stock policy: position = available + inbound - backordered; suggested_qty = order_up_to - position when position < reorder_point, else 0; avg_daily_demand = units shipped from the node in the last 28 days / 28; days_of_cover = available / avg_daily_demand; stockout_risk: stockout (nothing available and demand waiting), high (available + inbound lasts less than the lead time), medium (below the reorder point), low. With the policy''s service_level, the fc_ columns size the same decision from the latest forecast (doc/planning.md): fc_safety_stock = z * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2), fc_reorder_point = d * LT + fc_safety_stock, fc_suggested_qty = fc_reorder_point + (order_up_to - reorder_point) - position when position < fc_reorder_point, else 0';
COMMENT ON COLUMN erp.replenishment.backordered IS 'Units backordered by orders whose channel''s best-ranked node is this node';
COMMENT ON COLUMN erp.replenishment.suggested_qty IS 'Units to order to bring the position back to order_up_to';

COMMENT ON COLUMN erp.replenishment.service_level IS 'The policy''s target probability of not running out during a lead time; NULL = the old rule only (fc_ columns NULL)';
COMMENT ON COLUMN erp.replenishment.fc_daily_demand IS 'd: mean daily demand at the node (all channels) over the lead time, from the latest erp.refresh_forecasts';
COMMENT ON COLUMN erp.replenishment.fc_demand_sd IS 'sigma_d: standard deviation of daily demand around the forecast (one-step errors of the node''s series, variances summed over channels)';
COMMENT ON COLUMN erp.replenishment.lead_time_mean IS 'LT in days: the policy''s (or supplier''s) lead time plus the mean delay of the item''s purchase orders received at the node in the last 365 days (received_at - expected_at)';
COMMENT ON COLUMN erp.replenishment.lead_time_sd IS 'sigma_LT in days: standard deviation of those delays (0 with fewer than two)';
COMMENT ON COLUMN erp.replenishment.fc_safety_stock IS 'z(service_level) * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2), rounded up';
COMMENT ON COLUMN erp.replenishment.fc_reorder_point IS 'd * LT + fc_safety_stock, rounded up';
COMMENT ON COLUMN erp.replenishment.fc_suggested_qty IS 'Units to order by the forecast rule: up to fc_reorder_point plus the policy''s order quantity (order_up_to - reorder_point) when the position is below fc_reorder_point';

-- pg_dump keeps their rows (sql/install/99_dump.sql registers them on a fresh install)
SELECT pg_catalog.pg_extension_config_dump('erp.demand_import', '');
SELECT pg_catalog.pg_extension_config_dump('erp.demand_import_demand_import_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('erp.forecast_snapshot', '');
SELECT pg_catalog.pg_extension_config_dump('erp.forecast_snapshot_forecast_snapshot_id_seq', '');
-- 89: planning signals (sql/install/20_signals.sql): erp.return_forecast, erp.anomaly,
-- erp.anomalies, erp.detect_anomalies, erp.close_anomaly and erp.worklist: the install
-- file's text from its first object on, and erp.anomaly marked for pg_dump.
-- Return forecast ---------------------------------------------------------------
-- expected(node, category, day) = rate(category)
--     x sum over delays d of share(category, d) x shipped(node, category, day - d)
-- shipped(., ., s) is what left on day s when s <= today, else the node's mean
-- daily shipments of the category over the last 28 days.
CREATE VIEW erp.return_forecast WITH (security_invoker = true) AS
WITH shipped AS (
    SELECT sl.node_id, COALESCE(i.category, '') AS category, sh.shipped_at::date AS day,
           sum(sl.qty)::numeric AS units
      FROM erp.shipment_line sl
      JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id
      JOIN erp.item i ON i.item_id = sl.item_id
     WHERE sh.shipped_at >= CURRENT_DATE - 180
     GROUP BY 1, 2, 3),
returned AS (
    SELECT COALESCE(i.category, '') AS category, l.qty_received AS units,
           GREATEST(l.received_at::date - s.shipped_day, 0) AS delay
      FROM erp.rma_line l
      JOIN erp.rma r ON r.rma_id = l.rma_id
      JOIN erp.item i ON i.item_id = l.item_id
     CROSS JOIN LATERAL (
           SELECT pg_catalog.max(sh.shipped_at)::date AS shipped_day
             FROM erp.shipment_line sl
             JOIN erp.shipment sh ON sh.shipment_id = sl.shipment_id
            WHERE sl.order_id = r.order_id AND sl.item_id = l.item_id
              AND sh.shipped_at <= l.received_at) s
     WHERE l.qty_received > 0
       AND l.received_at >= CURRENT_DATE - 90
       AND s.shipped_day IS NOT NULL),
rate AS (
    SELECT s.category,
           COALESCE((SELECT pg_catalog.sum(r.units) FROM returned r WHERE r.category = s.category), 0)
               / pg_catalog.sum(s.units) AS rate
      FROM shipped s
     WHERE s.day >= CURRENT_DATE - 90
     GROUP BY s.category),
delay AS (
    SELECT r.category, r.delay,
           pg_catalog.sum(r.units)::numeric / pg_catalog.sum(pg_catalog.sum(r.units)) OVER (PARTITION BY r.category) AS share
      FROM returned r
     GROUP BY r.category, r.delay),
pace AS (
    SELECT s.node_id, s.category,
           COALESCE(pg_catalog.sum(s.units) FILTER (WHERE s.day > CURRENT_DATE - 28), 0)
               / 28 AS per_day
      FROM shipped s
     GROUP BY s.node_id, s.category)
SELECT n.code AS node, NULLIF(p.category, '') AS category, h.day,
       pg_catalog.round(COALESCE(rt.rate, 0) * COALESCE(pg_catalog.sum(
           d.share * CASE WHEN h.day - d.delay <= CURRENT_DATE THEN COALESCE(s.units, 0)
                          ELSE p.per_day END), 0), 2) AS expected_units
  FROM pace p
  JOIN erp.node n ON n.node_id = p.node_id
  LEFT JOIN rate rt ON rt.category = p.category
 CROSS JOIN LATERAL (SELECT CURRENT_DATE + k AS day FROM pg_catalog.generate_series(1, 28) AS k) h
  LEFT JOIN delay d ON d.category = p.category
  LEFT JOIN shipped s ON s.node_id = p.node_id AND s.category = p.category AND s.day = h.day - d.delay
 GROUP BY n.code, p.node_id, p.category, h.day, rt.rate
 ORDER BY n.code, p.category, h.day;
COMMENT ON VIEW erp.return_forecast IS
    'Units expected back per node (the node that shipped them), item category and day, for the next 28 days: the category''s return rate (units received back / units shipped, last 90 days) spread over the days after each shipment by the category''s empirical delay between shipment and receipt of a return (last 90 days); past shipments as they left, future ones at the node''s mean of the last 28 days (doc/planning-signals.md)';
COMMENT ON COLUMN erp.return_forecast.category IS 'The items'' category (NULL: items without one)';
COMMENT ON COLUMN erp.return_forecast.expected_units IS 'Units expected to arrive back that day (an expectation, not whole units), rounded to 2 decimals';

-- Anomalies ---------------------------------------------------------------------
CREATE TABLE erp.anomaly (
    anomaly_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('shrinkage', 'adjustment', 'pick_exceptions', 'return_rate')),
    ref             text NOT NULL,
    item_id         bigint REFERENCES erp.item,
    node_id         bigint REFERENCES erp.node,
    score           numeric(10,2) NOT NULL,
    value           numeric(14,2) NOT NULL DEFAULT 0 CHECK (value >= 0),
    detail          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    detected_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at       timestamptz,
    closed_by       name,
    note            text,
    CONSTRAINT anomaly_kind_ref_key UNIQUE (kind, ref),
    CONSTRAINT anomaly_score_not_nan CHECK (score <> 'NaN'::numeric),
    CONSTRAINT anomaly_value_not_nan CHECK (value <> 'NaN'::numeric)
);
CREATE INDEX anomaly_open_idx ON erp.anomaly (node_id) WHERE status = 'open';
COMMENT ON TABLE erp.anomaly IS
    'Findings of erp.detect_anomalies: one row per unusual count or adjustment, day of pick exceptions at a node, or week of returns of a sku (kind, ref); open until someone closes it with erp.close_anomaly, never found twice';
COMMENT ON COLUMN erp.anomaly.kind IS 'shrinkage (an unusual loss: a count or adjustment down), adjustment (an unusual gain), pick_exceptions (a burst at a node on a day), return_rate (a jump of a sku''s weekly return rate)';
COMMENT ON COLUMN erp.anomaly.ref IS 'What was found unusual: count:<cycle_count_id>, adjustment:<adjustment_id>, pick_exceptions:<node>:<day>, return_rate:<sku>:<week>';
COMMENT ON COLUMN erp.anomaly.score IS 'The largest absolute modified z-score of its tests, 0.6745 (x - median) / MAD (above 3.5 to be found)';
COMMENT ON COLUMN erp.anomaly.value IS 'Money at stake: the count''s or adjustment''s value, the value of the orders that met the pick exceptions, the excess returns at the item''s price';
COMMENT ON COLUMN erp.anomaly.detail IS 'The observation and, per test, its series'' median, MAD, size and the score';
COMMENT ON COLUMN erp.anomaly.closed_by IS 'The login that closed it (erp.close_anomaly)';

ALTER TABLE erp.anomaly ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.anomaly
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])));

-- pg_dump keeps the findings (a fresh install marks every table in 99_dump.sql)
SELECT pg_catalog.pg_extension_config_dump('erp.anomaly', '');
SELECT pg_catalog.pg_extension_config_dump('erp.anomaly_anomaly_id_seq', '');

CREATE VIEW erp.anomalies WITH (security_invoker = true) AS
SELECT a.anomaly_id, a.kind, a.ref, n.code AS node, i.sku, a.score, a.value, a.detail, a.detected_at
  FROM erp.anomaly a
  LEFT JOIN erp.node n ON n.node_id = a.node_id
  LEFT JOIN erp.item i ON i.item_id = a.item_id
 WHERE a.status = 'open'
 ORDER BY a.score DESC, a.anomaly_id;
COMMENT ON VIEW erp.anomalies IS 'The open anomalies, highest score first (a partner sees its nodes'' only)';

CREATE FUNCTION erp.detect_anomalies()
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ierp_anomaly_detect'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.detect_anomalies() IS
    'Finds unusual counts and adjustments (per item and node, and per node by value), bursts of pick exceptions per node and day, and jumps of the weekly return rate per sku, by median and MAD (modified z-score above 3.5); records each new finding in erp.anomaly with an anomaly event; returns how many it added. A partner may not run it (IE009)';

CREATE FUNCTION erp.close_anomaly(anomaly_id bigint, note text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_anomaly_close'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.close_anomaly(bigint, text, text) IS
    'Closes an open anomaly with a note (up to 1,024 bytes): unknown anomaly IE003, a partner''s of another node or of no node IE009, closed already IE010';

-- The worklist ------------------------------------------------------------------
-- score = value x (1 + days waiting / 7): money at stake, weighed up by each
-- week it has waited; the same formula for every kind.
CREATE VIEW erp.worklist WITH (security_invoker = true) AS
SELECT w.kind, w.ref, w.node,
       pg_catalog.round(w.value * (1 + w.days / 7), 2) AS score,
       w.why, w.value, pg_catalog.round(w.days, 1) AS days_waiting
  FROM (
        -- backorders at risk: more units wait for the item than purchase orders bring within 7 days
        SELECT 'backorder'::text AS kind,
               pg_catalog.format('order:%s:%s', ol.order_id, ol.line_no) AS ref,
               NULL::text AS node,
               (ol.qty_backordered * ol.unit_price)::numeric AS value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - o.created_at) / 86400, 0) AS days,
               pg_catalog.format('order %s (%s) line %s waits for %s units of %s (revenue %s); purchase orders due within 7 days bring %s of the %s units backordered for the item',
                                 ol.order_id, o.external_ref, ol.line_no, ol.qty_backordered, i.sku,
                                 ol.qty_backordered * ol.unit_price, COALESCE(po.due, 0), bo.waiting) AS why
          FROM erp.order_line ol
          JOIN erp.sales_order o ON o.order_id = ol.order_id
          JOIN erp.item i ON i.item_id = ol.item_id
          -- per item, once: units backordered on open orders, units due within 7 days
          JOIN (SELECT b.item_id, pg_catalog.sum(b.qty_backordered) AS waiting
                  FROM erp.order_line b
                  JOIN erp.sales_order bo ON bo.order_id = b.order_id
                 WHERE b.qty_backordered > 0 AND bo.status NOT IN ('shipped', 'cancelled')
                 GROUP BY b.item_id) bo ON bo.item_id = ol.item_id
          LEFT JOIN (SELECT pl.item_id, pg_catalog.sum(pl.qty - pl.qty_received) AS due
                       FROM erp.purchase_order_line pl
                       JOIN erp.purchase_order p ON p.purchase_order_id = pl.purchase_order_id
                      WHERE p.status IN ('open', 'partially_received')
                        AND p.expected_at <= pg_catalog.now() + interval '7 days'
                      GROUP BY pl.item_id) po ON po.item_id = ol.item_id
         WHERE ol.qty_backordered > 0
           AND o.status NOT IN ('shipped', 'cancelled')
           AND COALESCE(po.due, 0) < bo.waiting
           AND (SELECT erp.visible_nodes()) IS NULL
        UNION ALL
        -- refunds and adjustments waiting for an approver
        SELECT q.kind || '_approval',
               CASE q.kind WHEN 'refund' THEN 'rma_line:' ELSE 'adjustment:' END || q.id,
               q.node, q.value,
               GREATEST(EXTRACT(epoch FROM q.age) / 86400, 0),
               pg_catalog.format('%s %s at %s (value %s) has waited %s days for an approver; asked by %s',
                                 CASE q.kind WHEN 'refund' THEN 'the refund of return line' ELSE 'adjustment' END,
                                 q.id, q.node, q.value,
                                 pg_catalog.round((EXTRACT(epoch FROM q.age) / 86400)::numeric, 1), q.requested_by)
          FROM erp.approval_queue q
        UNION ALL
        -- purchase orders past their date while orders wait for their items
        SELECT 'late_po', 'po:' || p.purchase_order_id, n.code, w.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - p.expected_at) / 86400, 0),
               pg_catalog.format('purchase order %s from %s to %s was due %s; %s orders wait for its items (backordered revenue %s)',
                                 p.purchase_order_id, s.code, n.code, p.expected_at::date, w.orders, w.value)
          FROM erp.purchase_order p
          JOIN erp.node n ON n.node_id = p.node_id
          JOIN erp.supplier s ON s.supplier_id = p.supplier_id
         CROSS JOIN LATERAL (
               SELECT pg_catalog.count(DISTINCT ol.order_id) AS orders,
                      COALESCE(pg_catalog.sum(ol.qty_backordered * ol.unit_price), 0)::numeric AS value
                 FROM erp.order_line ol
                 JOIN erp.sales_order o ON o.order_id = ol.order_id
                WHERE ol.qty_backordered > 0 AND o.status NOT IN ('shipped', 'cancelled')
                  AND ol.item_id IN (SELECT pl.item_id FROM erp.purchase_order_line pl
                                      WHERE pl.purchase_order_id = p.purchase_order_id
                                        AND pl.qty > pl.qty_received)) w
         WHERE p.status IN ('open', 'partially_received')
           AND p.expected_at < pg_catalog.now()
           AND w.orders > 0
        UNION ALL
        -- returns received more than 2 days ago and not inspected
        SELECT 'return_inspection', 'rma_line:' || l.rma_line_id, n.code,
               ((l.qty_received - l.qty_inspected) * l.unit_price)::numeric,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - l.received_at) / 86400, 0),
               pg_catalog.format('return %s: %s units of %s received at %s on %s are not inspected (worth %s)',
                                 l.rma_id, l.qty_received - l.qty_inspected, i.sku, n.code, l.received_at::date,
                                 (l.qty_received - l.qty_inspected) * l.unit_price)
          FROM erp.rma_line l
          JOIN erp.node n ON n.node_id = COALESCE(l.received_node_id, l.node_id)
          JOIN erp.item i ON i.item_id = l.item_id
         WHERE l.qty_received > l.qty_inspected
           AND l.received_at < pg_catalog.now() - interval '2 days'
           -- a partner sees a return only when the whole return is its own (erp.rma_visible,
           -- as erp.approval_queue and erp.returns_desk): the row security of erp.rma_line
           -- shows it a line by either of its nodes
           AND erp.rma_visible(l.rma_id)
        UNION ALL
        -- open anomalies
        SELECT 'anomaly', 'anomaly:' || a.anomaly_id, n.code, a.value,
               GREATEST(EXTRACT(epoch FROM pg_catalog.now() - a.detected_at) / 86400, 0),
               pg_catalog.format('%s %s: modified z-score %s (threshold 3.5), %s at stake', a.kind, a.ref, a.score, a.value)
          FROM erp.anomaly a
          LEFT JOIN erp.node n ON n.node_id = a.node_id
         WHERE a.status = 'open'
       ) w
 ORDER BY 4 DESC, w.kind, w.ref;
COMMENT ON VIEW erp.worklist IS
    'What needs a person now, most urgent first, across kinds: backorders at risk, refunds and adjustments waiting for an approver, late purchase orders with orders waiting, returns received over 2 days ago and not inspected, open anomalies; score = value x (1 + days waiting / 7) (doc/planning-signals.md); a partner sees its nodes'' rows only';
COMMENT ON COLUMN erp.worklist.kind IS 'backorder, refund_approval, adjustment_approval, late_po, return_inspection, anomaly';
COMMENT ON COLUMN erp.worklist.ref IS 'The object to act on: order:<id>:<line>, rma_line:<id>, adjustment:<id>, po:<id>, anomaly:<id>';
COMMENT ON COLUMN erp.worklist.node IS 'The node where it waits (NULL for a backorder, which is the business''s)';
COMMENT ON COLUMN erp.worklist.score IS 'value x (1 + days_waiting / 7): money at stake weighed up by each week of waiting';
COMMENT ON COLUMN erp.worklist.why IS 'Why it is on the list, in words';
COMMENT ON COLUMN erp.worklist.value IS 'Money at stake: backordered revenue, the refund or adjustment value, the revenue waiting for a late purchase order, the uninspected returns'' value, an anomaly''s value';
COMMENT ON COLUMN erp.worklist.days_waiting IS 'Days since the order was captured, the approval was asked, the purchase order was due, the return was received, the anomaly was found';

-- the kinds erp.event holds now (sql/install/06_events.sql)
COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay, anomaly';
-- 98 (update): as sql/install/98_search_path.sql: every function of the extension runs with a fixed search_path,
-- so that nobody's own operators or functions (an `=` created in a schema the
-- caller put first) change what a guard, a trigger or a check means.  Set here,
-- after every other file, for each function that does not set one itself.
-- Left out: the erp.gtin type's support functions (I/O, comparison, hashing),
-- which look nothing up and run once per value or per index comparison.
-- Cost: one GUC switch (save, set, restore) per call - a few microseconds,
-- next to the SPI statements every such function runs.
DO $search_path$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
           AND p.prokind IN ('f', 'p')
           AND p.proname !~ '^gtin'
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS c(setting)
                            WHERE c.setting LIKE 'search\_path=%')
         ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END
$search_path$;

-- 99: the privileges a fresh install gives (sql/install/90_grants.sql), for the
-- functions and tables the fragments above created.
REVOKE ALL ON ALL TABLES IN SCHEMA erp FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA erp TO erp_reader;
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, p.proname
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.fn);
        IF f.proname LIKE 'gtin%' THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f.fn);
        ELSIF f.proname NOT IN ('create_publication') THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_operator', f.fn);
        END IF;
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION erp.verify(), erp.atp(text, text, text, timestamptz) TO erp_reader;
GRANT EXECUTE ON FUNCTION erp.visible_nodes(), erp.order_visible(bigint), erp.rma_visible(bigint) TO PUBLIC;
-- 99_grants_forecast: what sql/install/92_forecast_grants.sql gives, after 99_grants.sql
-- gave every new function to erp_operator.
REVOKE EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.refresh_forecasts(text), erp.import_demand(jsonb, text) TO erp_admin;
GRANT EXECUTE ON FUNCTION erp.forecast(text, text, text, integer),
                          erp.forecast_series(double precision[], boolean[], integer) TO erp_reader;
GRANT EXECUTE ON FUNCTION erp.normal_quantile(double precision) TO PUBLIC;
-- 99_grants_maintenance: as sql/install/91_maintenance_grants.sql (runs after 99_grants.sql).
-- The maintenance functions are for administrators only; 99_grants gave every
-- function to erp_operator, which partners are members of.
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY['erp.prune_events(interval)', 'erp.close_period(date)',
                             'erp.archive_ledger(date,boolean)', 'erp.compact_slots(integer)',
                             'erp.schedule_jobs()', 'erp.unschedule_jobs()',
                             'erp.scheduled_job_owners()']::regprocedure[]
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, erp_operator', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_admin', f);
    END LOOP;
END
$grants$;
