
-- 26: events (round 2).  A refusal's event no longer names, in its columns, an
-- order, RMA, item or node that the refused call's own transaction created
-- (it rolls back): the id is kept in the payload instead (src/events.c).
COMMENT ON COLUMN erp.event.payload IS 'Facts of the event (quantities, skus, codes) as JSON; a pick_exception or return_discrepancy whose order, rma, item or node was created by the refused call''s own, rolled-back transaction keeps that id here as uncommitted_order_id (uncommitted_rma_id, ...) and NULL in its column';
