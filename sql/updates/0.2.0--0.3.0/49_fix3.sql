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
