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

