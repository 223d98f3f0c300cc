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
