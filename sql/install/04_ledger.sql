-- 04_ledger: the state machine, the append-only ledger and the balances derived from it.

CREATE TABLE erp.state_transition (
    state_transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_state          erp.stock_state,
    to_state            erp.stock_state,
    event               text NOT NULL CHECK (event ~ '^[a-z_]+$'),
    cross_node          boolean NOT NULL DEFAULT false,
    engine              text,
    builtin             boolean NOT NULL DEFAULT false,
    UNIQUE NULLS NOT DISTINCT (from_state, to_state, event),
    CHECK (from_state IS NOT NULL OR to_state IS NOT NULL)
);
COMMENT ON TABLE erp.state_transition IS 'The stock state machine: a move is allowed only when (from_state, to_state, event) is listed here; NULL is outside the business';
COMMENT ON COLUMN erp.state_transition.from_state IS 'State the units leave; NULL when they enter from outside';
COMMENT ON COLUMN erp.state_transition.to_state IS 'State the units enter; NULL when they leave the business';
COMMENT ON COLUMN erp.state_transition.cross_node IS 'The move may end at another node (a transfer, a return received at another node than the one that shipped it)';
COMMENT ON COLUMN erp.state_transition.engine IS 'The function family that owns this transition (orders, returns, purchasing); erp.move() refuses it so the documents behind the stock stay consistent; NULL = any move, except that no move but a document function''s enters or leaves incoming, in_transit, return_pending, reserved, picked, packed, inspection, refurbish or vendor_return';
COMMENT ON COLUMN erp.state_transition.builtin IS 'Shipped with the extension (not dumped: CREATE EXTENSION recreates it)';

INSERT INTO erp.state_transition (from_state, to_state, event, cross_node, builtin)
SELECT f::erp.stock_state, t::erp.stock_state, e, x, true
FROM (VALUES
    (NULL, 'incoming', 'po_confirmed', false),
    ('incoming', 'available', 'receive', false),
    ('incoming', 'quarantined', 'receive', false),
    ('incoming', 'damaged', 'receive', false),
    ('incoming', NULL, 'po_cancelled', false),
    ('available', 'reserved', 'allocate', false),
    ('reserved', 'available', 'release', false),
    ('reserved', 'picked', 'pick', false),
    ('picked', 'packed', 'pack', false),
    ('picked', 'available', 'putback', false),
    ('packed', NULL, 'ship', false),
    ('available', 'in_transit', 'transfer_out', true),
    ('in_transit', 'available', 'transfer_in', false),
    (NULL, 'available', 'receive', false),
    (NULL, 'quarantined', 'receive', false),
    (NULL, 'damaged', 'receive', false),
    (NULL, 'return_pending', 'rma_authorized', false),
    ('return_pending', 'inspection', 'return_received', false),
    ('return_pending', NULL, 'rma_expired', false),
    ('inspection', 'available', 'disposition', false),
    ('inspection', 'refurbish', 'disposition', false),
    ('inspection', 'quarantined', 'disposition', false),
    ('inspection', 'vendor_return', 'disposition', false),
    ('inspection', 'damaged', 'disposition', false),
    ('inspection', NULL, 'dispose', false),
    ('damaged', NULL, 'dispose', false),
    ('refurbish', NULL, 'dispose', false),
    ('quarantined', NULL, 'dispose', false),
    ('refurbish', 'available', 'refurbished', false),
    ('quarantined', 'available', 'release_hold', false),
    ('available', 'quarantined', 'hold', false),
    ('available', 'damaged', 'damage', false),
    ('vendor_return', NULL, 'returned_to_vendor', false),
    (NULL, 'available', 'adjust', false),
    ('available', NULL, 'adjust', false),
    ('reserved', NULL, 'adjust', false),
    ('picked', NULL, 'adjust', false),
    ('packed', NULL, 'adjust', false),
    ('inspection', NULL, 'adjust', false),
    ('quarantined', NULL, 'adjust', false),
    ('damaged', NULL, 'adjust', false),
    ('refurbish', NULL, 'adjust', false),
    ('vendor_return', NULL, 'adjust', false),
    ('in_transit', NULL, 'adjust', false)
) AS v(f, t, e, x);

-- Who moves stock: the session's login, not a role it SET (nor a function's owner).
CREATE FUNCTION erp.current_actor() RETURNS name
    AS 'MODULE_PATHNAME', 'ierp_ledger_current_actor'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION erp.current_actor() IS 'The name recorded as the actor of a move: the session''s login, whatever role it SET (in a superuser''s session, the role it acts as)';

CREATE TABLE erp.stock_move (
    move_id             bigint GENERATED ALWAYS AS IDENTITY,
    item_id             bigint NOT NULL,
    lot_id              bigint,
    qty                 bigint NOT NULL,
    from_node_id        bigint,
    from_state          erp.stock_state,
    to_node_id          bigint,
    to_state            erp.stock_state,
    event               text NOT NULL,
    ref                 text,
    actor               text NOT NULL DEFAULT erp.current_actor(),
    application_name    text,
    at                  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    txid                xid8 DEFAULT pg_catalog.pg_current_xact_id(),
    from_bin_id         bigint,
    to_bin_id           bigint,
    CONSTRAINT stock_move_shape CHECK (qty > 0
        AND (from_node_id IS NULL) = (from_state IS NULL)
        AND (to_node_id IS NULL) = (to_state IS NULL)
        AND (from_state IS NOT NULL OR to_state IS NOT NULL)),
    PRIMARY KEY (item_id, move_id)
);
COMMENT ON TABLE erp.stock_move IS 'The append-only stock ledger: every unit that enters, changes state, changes node or leaves; balances are derived from it';
COMMENT ON COLUMN erp.stock_move.from_state IS 'State the units left; NULL when they came from outside';
COMMENT ON COLUMN erp.stock_move.to_state IS 'State the units entered; NULL when they left the business';
COMMENT ON COLUMN erp.stock_move.event IS 'Business event of the move, one of erp.state_transition.event';
COMMENT ON COLUMN erp.stock_move.ref IS 'Business document the move belongs to (order:42, po:7, rma:3, ...)';
COMMENT ON COLUMN erp.stock_move.actor IS 'Who moved the stock: the login of the session (erp.current_actor()), not a role it SET; text, not name (0.4.0): a 64-byte name made every ledger row 55 bytes wider';
COMMENT ON COLUMN erp.stock_move.application_name IS 'application_name of the session that moved the stock';
COMMENT ON COLUMN erp.stock_move.from_bin_id IS 'Bin (erp.bin) the units left inside from_node_id; NULL = the node''s stock outside bins, or from outside (0.4.0)';
COMMENT ON COLUMN erp.stock_move.to_bin_id IS 'Bin (erp.bin) the units entered inside to_node_id; NULL = the node''s stock outside bins, or to outside (0.4.0)';
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
COMMENT ON COLUMN erp.stock_slot.bin_id IS 'Place inside the node (erp.bin); 0 = the node''s stock outside bins';
COMMENT ON COLUMN erp.stock_slot.lot_id IS 'Lot of a lot-tracked item; 0 = no lot';
COMMENT ON COLUMN erp.stock_slot.slot IS 'Part of a balance split across rows to spread lock contention; the balance is the sum over slots';
COMMENT ON COLUMN erp.stock_slot.reserved IS 'Units held for orders; a slot may be below zero when an order took its own units while other transactions owned the slots that had them (the sum over slots never is); so may picked and packed';

-- The view runs with its owner's rights (readers need no grant on erp.stock_slot)
-- and applies the one partner rule itself, as row level security on erp.stock_slot
-- does: a partner sees its nodes only, unless it acts as a superuser or a role
-- that bypasses row level security (the extension's own SECURITY DEFINER code and
-- guards see every node, as they did when the balances were a table).
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

-- The ledger's guard: the stock kernel appends its rows itself; every other INSERT is refused.
CREATE FUNCTION erp.guard_ledger_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_move_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_ledger_insert() IS 'Trigger: refuses an INSERT into erp.stock_move that does not come from the stock kernel (IE005), unless inventory_erp.restore_mode is on (history reloaded by pg_restore)';

CREATE FUNCTION erp.refuse_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_refuse_write' LANGUAGE C;
COMMENT ON FUNCTION erp.refuse_write() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE of the append-only ledger (IE005)';

CREATE FUNCTION erp.guard_balance_write() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_stock_slot_guard' LANGUAGE C;
COMMENT ON FUNCTION erp.guard_balance_write() IS 'Trigger: refuses any write of erp.stock_slot or erp.stock_balance that does not come from the stock kernel (IE005)';

CREATE FUNCTION erp.reload_rules() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_reload_rules' LANGUAGE C;
COMMENT ON FUNCTION erp.reload_rules() IS 'Trigger: tells every session, at commit, to reload the rules it caches from this table (state machine, disposition rules)';

CREATE TRIGGER stock_move_guard BEFORE INSERT ON erp.stock_move
    FOR EACH ROW EXECUTE FUNCTION erp.guard_ledger_insert();
CREATE TRIGGER stock_move_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_move
    FOR EACH STATEMENT EXECUTE FUNCTION erp.refuse_write();
CREATE TRIGGER stock_slot_derived BEFORE UPDATE OR DELETE OR TRUNCATE ON erp.stock_slot
    FOR EACH STATEMENT EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_slot_derived_insert BEFORE INSERT ON erp.stock_slot
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();
CREATE TRIGGER stock_balance_derived INSTEAD OF INSERT OR UPDATE OR DELETE ON erp.stock_balance
    FOR EACH ROW EXECUTE FUNCTION erp.guard_balance_write();

-- History keeps meaning what it meant: master rows the ledger refers to are retired, not deleted.
CREATE FUNCTION erp.refuse_delete_used() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_refuse_delete_used' LANGUAGE C;
COMMENT ON FUNCTION erp.refuse_delete_used() IS 'Trigger: refuses to delete an item, node or lot that the ledger refers to (IE010)';
CREATE TRIGGER item_keep_history BEFORE DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('item');
CREATE TRIGGER node_keep_history BEFORE DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('node');
CREATE TRIGGER lot_keep_history BEFORE DELETE ON erp.lot
    FOR EACH ROW EXECUTE FUNCTION erp.refuse_delete_used('lot');
CREATE FUNCTION erp.protect_builtin() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_ledger_protect_builtin' LANGUAGE C;
COMMENT ON FUNCTION erp.protect_builtin() IS 'Trigger: refuses to change or delete rows shipped with the extension (IE010); they are recreated by CREATE EXTENSION, not dumped';
CREATE TRIGGER state_transition_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER reason_code_builtin BEFORE INSERT OR UPDATE OR DELETE ON erp.reason_code
    FOR EACH ROW EXECUTE FUNCTION erp.protect_builtin();
CREATE TRIGGER state_transition_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.state_transition
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

CREATE FUNCTION erp.receive(sku text, node text, qty bigint, lot text DEFAULT NULL,
                            expires_on date DEFAULT NULL,
                            state erp.stock_state DEFAULT 'available', ref text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_receive'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id';

CREATE FUNCTION erp.move(sku text, node text, qty bigint, from_state erp.stock_state,
                         to_state erp.stock_state, event text, lot text DEFAULT NULL,
                         ref text DEFAULT NULL, to_node text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_ledger_move'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text, text) IS
    'Moves qty units of sku at node from one state to another under event (NULL state = outside), between available, quarantined, damaged and outside (the other states belong to documents: IE002); to_node for a transition of your own that changes node; returns the move id';
