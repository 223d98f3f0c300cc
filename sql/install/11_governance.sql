-- 11_governance: cycle counts, adjustments and their approval, and partner access.

CREATE TYPE erp.adjustment_status AS ENUM ('pending_approval', 'applied', 'rejected');
COMMENT ON TYPE erp.adjustment_status IS 'An adjustment waits for an approver when its value is above the adjustment threshold';

CREATE TABLE erp.adjustment (
    adjustment_id   bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint,
    qty_delta       bigint NOT NULL CHECK (qty_delta <> 0),
    value           numeric(14,2) NOT NULL,
    reason          text NOT NULL,
    status          erp.adjustment_status NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by      name NOT NULL,
    decided_at      timestamptz,
    decided_by      name,
    move_id         bigint,
    from_state      erp.stock_state NOT NULL DEFAULT 'available'
                    CONSTRAINT adjustment_from_state_check CHECK (from_state IN ('available', 'quarantined', 'reserved')),
    CONSTRAINT adjustment_pkey PRIMARY KEY (item_id, adjustment_id),
    CONSTRAINT adjustment_lot_id_fkey FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id)
);
CREATE INDEX adjustment_id_idx ON erp.adjustment (adjustment_id);
CREATE INDEX adjustment_pending_idx ON erp.adjustment (created_at) WHERE status = 'pending_approval';
CREATE INDEX adjustment_item_idx ON erp.adjustment (item_id, created_at);
COMMENT ON TABLE erp.adjustment IS 'A correction of on-hand stock (from a count, by hand, or the write-off of a short pick): applied at once when its value is within erp.approval_policy, else pending_approval until an approver applies it';
COMMENT ON COLUMN erp.adjustment.qty_delta IS 'Units added (> 0) or written off (< 0)';
COMMENT ON COLUMN erp.adjustment.value IS '|qty_delta| x the item''s unit_cost, or its unit_price when it has no cost (what is at stake is never valued at 0 while the item has a price)';
COMMENT ON COLUMN erp.adjustment.move_id IS 'The ledger move that applied it';
COMMENT ON COLUMN erp.adjustment.from_state IS 'The state a write-off takes (or took) its units from: available (a count, erp.adjust), reserved (a short pick within the threshold, applied at once), or quarantined (a short pick above it: the missing units wait there, on hand but not promisable, until an approver writes them off)';

CREATE TABLE erp.cycle_count (
    cycle_count_id  bigint GENERATED ALWAYS AS IDENTITY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint,
    system_qty      bigint NOT NULL,
    counted_qty     bigint NOT NULL CHECK (counted_qty >= 0),
    variance        bigint GENERATED ALWAYS AS (counted_qty - system_qty) STORED,
    unit_cost       numeric(14,2) NOT NULL,
    counted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    counted_by      name NOT NULL,
    adjustment_id   bigint,
    CONSTRAINT cycle_count_pkey PRIMARY KEY (item_id, cycle_count_id),
    CONSTRAINT cycle_count_lot_id_fkey FOREIGN KEY (item_id, lot_id) REFERENCES erp.lot (item_id, lot_id),
    CONSTRAINT cycle_count_adjustment_id_fkey FOREIGN KEY (item_id, adjustment_id) REFERENCES erp.adjustment (item_id, adjustment_id)
);
CREATE INDEX cycle_count_item_idx ON erp.cycle_count (item_id, node_id, counted_at);
COMMENT ON TABLE erp.cycle_count IS 'A count of the available units of an item at a node (and lot): what the books said, what was found, and the adjustment it caused';
COMMENT ON COLUMN erp.cycle_count.variance IS 'counted_qty - system_qty: units found (> 0) or missing (< 0)';

CREATE FUNCTION erp.count(sku text, node text, counted bigint, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count(text, text, bigint, text, text) IS
    'Records a cycle count of available units (counted 0 to 1,000,000,000, IE004); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment by another person; returns the cycle count id';

CREATE FUNCTION erp.approve_adjustment(adjustment_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_counts_approve_adjustment'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_adjustment(bigint, text) IS
    'Applies an adjustment that waits for approval; only members of erp_approver other than its creator (created_by) and not a member of that role nor a role it is a member of, at a node the caller may act at (IE009)';

-- Partner access: erp.node_access and erp.visible_nodes() are in 03_master.sql
-- (views before this file use them); every session reloads the cache of it.
CREATE TRIGGER node_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

-- Adjustments by hand -------------------------------------------------------
-- The same threshold as a count's variance: within it applied at once, above it
-- pending_approval with an adjustment_approval_needed event.
CREATE FUNCTION erp.adjust(sku text, node text, qty_delta bigint, reason text, lot text DEFAULT NULL, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_adjust'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.adjust(text, text, bigint, text, text, text) IS
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
COMMENT ON TABLE erp.policy_change IS 'Append-only record of every change to erp.approval_policy, erp.disposition_rule, erp.state_transition, erp.node_access, erp.item_component, erp.channel_node and erp.channel_reserve, and of every change of an item''s governance columns (unit_cost, unit_price, lot_tracked, min_shelf_life_days, allow_backorder, allow_preorder, high_value, requires_qc, active): who, when, the row before and after';
COMMENT ON COLUMN erp.policy_change.changed_at IS 'Start of the transaction that made the change';
COMMENT ON COLUMN erp.policy_change.changed_by IS 'The login that made the change (a role it SET does not replace it; a superuser session is recorded as the role it acts as)';
COMMENT ON COLUMN erp.policy_change.table_name IS 'The policy table changed, in schema erp';
COMMENT ON COLUMN erp.policy_change.old_row IS 'The row before an UPDATE or DELETE; NULL for INSERT and TRUNCATE';
COMMENT ON COLUMN erp.policy_change.new_row IS 'The row after an INSERT or UPDATE; NULL for DELETE and TRUNCATE';

CREATE FUNCTION erp.record_policy_change()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_governance_policy_changed'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
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

-- Readers (auditors, BI) see the record; partners do not: it names other
-- partners' roles and nodes and the business's thresholds.
ALTER TABLE erp.policy_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY not_partners ON erp.policy_change
    USING ((SELECT erp.visible_nodes()) IS NULL);
