-- 11_governance: cycle counts, adjustments and their approval, and partner access.

CREATE TYPE erp.adjustment_status AS ENUM ('pending_approval', 'applied', 'rejected');
COMMENT ON TYPE erp.adjustment_status IS 'An adjustment waits for an approver when its value is above the adjustment threshold';

CREATE TABLE erp.adjustment (
    adjustment_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint REFERENCES erp.lot,
    qty_delta       bigint NOT NULL CHECK (qty_delta <> 0),
    value           numeric(14,2) NOT NULL,
    reason          text NOT NULL,
    status          erp.adjustment_status NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by      name NOT NULL,
    decided_at      timestamptz,
    decided_by      name,
    move_id         bigint
);
CREATE INDEX adjustment_pending_idx ON erp.adjustment (created_at) WHERE status = 'pending_approval';
COMMENT ON TABLE erp.adjustment IS 'A correction of available stock (from a count or by hand): applied at once when its value is within erp.approval_policy, else pending_approval until an approver applies it';
COMMENT ON COLUMN erp.adjustment.qty_delta IS 'Units added (> 0) or written off (< 0)';
COMMENT ON COLUMN erp.adjustment.value IS '|qty_delta| x the item''s unit_cost';
COMMENT ON COLUMN erp.adjustment.move_id IS 'The ledger move that applied it';

CREATE TABLE erp.cycle_count (
    cycle_count_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id         bigint NOT NULL REFERENCES erp.item,
    node_id         bigint NOT NULL REFERENCES erp.node,
    lot_id          bigint REFERENCES erp.lot,
    system_qty      bigint NOT NULL,
    counted_qty     bigint NOT NULL CHECK (counted_qty >= 0),
    variance        bigint GENERATED ALWAYS AS (counted_qty - system_qty) STORED,
    unit_cost       numeric(14,2) NOT NULL,
    counted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    counted_by      name NOT NULL,
    adjustment_id   bigint REFERENCES erp.adjustment
);
CREATE INDEX cycle_count_item_idx ON erp.cycle_count (item_id, node_id, counted_at);
COMMENT ON TABLE erp.cycle_count IS 'A count of the available units of an item at a node (and lot): what the books said, what was found, and the adjustment it caused';
COMMENT ON COLUMN erp.cycle_count.variance IS 'counted_qty - system_qty: units found (> 0) or missing (< 0)';

CREATE FUNCTION erp.count(sku text, node text, counted bigint, lot text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_counts_count'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.count(text, text, bigint, text) IS
    'Records a cycle count of available units (counted may be 0); a variance within the adjustment threshold is adjusted at once, a larger one waits for erp.approve_adjustment; returns the cycle count id';

CREATE FUNCTION erp.approve_adjustment(adjustment_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'ierp_counts_approve_adjustment'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.approve_adjustment(bigint) IS
    'Applies an adjustment that waits for approval; only members of erp_approver (IE009)';

-- Partner access: erp.node_access and erp.visible_nodes() are in 03_master.sql
-- (views before this file use them); every session reloads the cache of it.
CREATE TRIGGER node_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
