-- 06_events: the outbox integrations follow.  Each row is also announced with
-- NOTIFY erp_event (payload: the event id, nothing else) when the transaction
-- that wrote it commits.  LISTEN cannot be restricted by PostgreSQL, so the
-- payload carries no facts: consumers re-read erp.event under their own rights
-- (row level security shows a partner its nodes' events only).  The events a
-- refusal must leave behind (pick_exception, return_discrepancy) are written
-- and committed by a background worker while the refused call waits (a
-- statement timeout or cancel takes effect once the event is written).  That
-- worker sees only committed rows: an order, RMA, item or node created by the
-- refused call's own transaction (which rolls back) is not named in its
-- column but kept in the payload as uncommitted_order_id (rma, item, node).

CREATE TABLE erp.event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    item_id     bigint,
    node_id     bigint,
    order_id    bigint,
    rma_id      bigint,
    payload     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_kind_idx ON erp.event (kind, event_id);
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...); read it from the last event_id you processed, and LISTEN erp_event to be woken (the notification carries the event id only)';
COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay';
COMMENT ON COLUMN erp.event.payload IS 'Facts of the event (quantities, skus, codes) as JSON; a pick_exception or return_discrepancy whose order, rma, item or node was created by the refused call''s own, rolled-back transaction keeps that id here as uncommitted_order_id (uncommitted_rma_id, ...) and NULL in its column';

CREATE FUNCTION erp.event_notify() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_event_notify' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with the new event id (and nothing else), delivered when the transaction that wrote the event commits';
CREATE TRIGGER event_notify AFTER INSERT ON erp.event
    FOR EACH ROW EXECUTE FUNCTION erp.event_notify();
