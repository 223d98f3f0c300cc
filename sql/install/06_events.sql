-- 06_events: the outbox integrations follow, and its exact consumer.
--
-- Every transaction that writes events gets a commit stamp in erp.event_commit,
-- drawn while it commits, in commit order (src/event_stamp.c): its events carry
-- the transaction's number (txn_id), the stamp gives that number a commit_seq.
-- A reader that sees stamp N sees every stamp below N that committed, so
-- "(commit_seq, event_id) > cursor ORDER BY commit_seq, event_id" misses
-- nothing and repeats nothing: erp.read_events / erp.ack_events keep that
-- cursor per named consumer (src/event_consumer.c; doc/events.md).
--
-- Each row is also announced with NOTIFY erp_event when the transaction that
-- wrote it commits; the payload is {"id": .., "kind": .., "node_id": ..}, facts
-- that let a listener filter and nothing more (LISTEN cannot be restricted by
-- PostgreSQL: quantities, skus and codes are read from erp.event under the
-- reader's rights, where row level security shows a partner its nodes only).
-- The events a refusal must leave behind (pick_exception, return_discrepancy)
-- are written and committed by a background worker while the refused call
-- waits (a statement timeout or cancel takes effect once the event is
-- written).  That worker sees only committed rows: an order, RMA, item or node
-- created by the refused call's own transaction (which rolls back) is not
-- named in its column but kept in the payload as uncommitted_order_id (rma,
-- item, node).

CREATE SEQUENCE erp.event_txn_id_seq;
COMMENT ON SEQUENCE erp.event_txn_id_seq IS 'Numbers the transactions that write events (erp.event.txn_id)';
CREATE FUNCTION erp.event_txn_id() RETURNS bigint
    AS 'MODULE_PATHNAME', 'ierp_event_txn_id' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.event_txn_id() IS
    'The number of the current transaction as the events it writes carry it (erp.event.txn_id): drawn from erp.event_txn_id_seq at its first call in a transaction, the same for every later call in it';

CREATE TABLE erp.event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    item_id     bigint,
    node_id     bigint,
    order_id    bigint,
    rma_id      bigint,
    payload     jsonb NOT NULL DEFAULT '{}',
    txn_id      bigint NOT NULL DEFAULT erp.event_txn_id()
);
CREATE INDEX event_kind_idx ON erp.event (kind, event_id);
CREATE INDEX event_txn_idx ON erp.event (txn_id, event_id);
COMMENT ON TABLE erp.event IS 'Outbox of business events (stockout, backorder_created, pick_exception, ...; doc/events.md).  Read it exactly once and in commit order with erp.read_events(consumer) and erp.ack_events(consumer, cursor), or join erp.event_commit on txn_id and read (commit_seq, event_id) > your last pair ORDER BY commit_seq, event_id; never by event_id alone (ids are assigned at insert, rows appear at commit, out of id order).  LISTEN erp_event to be woken ({"id", "kind", "node_id"})';
COMMENT ON COLUMN erp.event.kind IS 'low_stock, stockout, backorder_created, pick_exception, return_discrepancy, refund_approval_needed, adjustment_approval_needed, supplier_delay, anomaly; 0.4.0: order_held, order_released, carrier_failed, carrier_returned, ship_by_at_risk, order_edited, line_substituted, hold_expired, hold_released (doc/events.md)';
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

CREATE FUNCTION erp.event_notify() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_event_notify' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.event_notify() IS 'Trigger: NOTIFY erp_event with {"id", "kind", "node_id"} of the new event, delivered when the transaction that wrote it commits; and marks the transaction for its commit stamp (erp.event_commit)';
CREATE TRIGGER event_notify AFTER INSERT ON erp.event
    FOR EACH ROW EXECUTE FUNCTION erp.event_notify();

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
