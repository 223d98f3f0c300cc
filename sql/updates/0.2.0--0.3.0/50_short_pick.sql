
-- 50: a short pick's write-off goes through the adjustment threshold.
COMMENT ON FUNCTION erp.short_pick(bigint, text, bigint) IS
    'Reports missing reserved units; their write-off is an adjustment (reason short_pick): applied at once within the adjustment threshold, else the units move to quarantined and the adjustment waits for erp.approve_adjustment by another person; the line is re-allocated at another node';
