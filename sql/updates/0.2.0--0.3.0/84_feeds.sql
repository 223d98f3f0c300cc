-- 84: availability deltas for channel feeds (sql/install/04_ledger.sql's txid
-- column and its BRIN index, sql/install/16_feeds.sql).  Ledger rows written
-- before this update carry no transaction id (NULL): every cursor is taken
-- after it, and sees them all.
ALTER TABLE erp.stock_move ADD COLUMN txid xid8;
ALTER TABLE erp.stock_move ALTER COLUMN txid SET DEFAULT pg_catalog.pg_current_xact_id();
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

CREATE TABLE erp.feed_change (
    txid        xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    item_id     bigint,
    changed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    source      name NOT NULL
);
CREATE INDEX feed_change_txid_idx ON erp.feed_change (txid);
COMMENT ON TABLE erp.feed_change IS 'Master-data changes that move ATP (safety stock, ring-fences, channel nodes, an item''s sku, active flag, shelf life, preorder or lot tracking, kit components, a lot''s expiry, a node''s active flag, partner access), recorded by trigger for erp.channel_availability_changes';
COMMENT ON COLUMN erp.feed_change.txid IS 'The transaction that made the change';
COMMENT ON COLUMN erp.feed_change.item_id IS 'The item whose ATP may have changed (a kit for a change of its components); NULL = every item';
COMMENT ON COLUMN erp.feed_change.source IS 'The table changed, in schema erp';

CREATE TABLE erp.feed_horizon (
    horizon     xid8 NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    reason      text NOT NULL,
    seen        pg_catalog.pg_snapshot DEFAULT pg_catalog.pg_current_snapshot()
);
COMMENT ON TABLE erp.feed_horizon IS 'How far back feed cursors are served: a cursor whose snapshot does not see the commit of every horizon is refused (IE010, "cursor too old; resynchronise"); pruning the ledger or erp.feed_change adds a horizon (its own transaction)';
COMMENT ON COLUMN erp.feed_horizon.seen IS 'The snapshot of the transaction that set the horizon: an older horizon committed in it may be dropped (a cursor that sees this horizon sees that one)';
COMMENT ON COLUMN erp.feed_horizon.horizon IS 'A transaction whose commit a usable cursor must have seen; ids ahead of this database (a restored dump of another cluster) are ignored';
-- pg_dump keeps them, as every table of the extension (sql/install/99_dump.sql)
SELECT pg_catalog.pg_extension_config_dump('erp.feed_change', '');
SELECT pg_catalog.pg_extension_config_dump('erp.feed_horizon', '');
INSERT INTO erp.feed_horizon (horizon, reason) VALUES (pg_catalog.pg_current_xact_id(), 'updated to 0.3.0');

CREATE FUNCTION erp.record_feed_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ierp_feeds_record_change'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.record_feed_change() IS 'Trigger on the master data ATP reads: records in erp.feed_change the item of each changed row (the columns named as arguments), or every item (no argument, TRUNCATE)';

CREATE TRIGGER item_feed AFTER INSERT OR DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER item_feed_update AFTER UPDATE ON erp.item
    FOR EACH ROW WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.active IS DISTINCT FROM NEW.active
                       OR OLD.min_shelf_life_days IS DISTINCT FROM NEW.min_shelf_life_days
                       OR OLD.allow_preorder IS DISTINCT FROM NEW.allow_preorder
                       OR OLD.lot_tracked IS DISTINCT FROM NEW.lot_tracked)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER item_component_feed AFTER INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('kit_item_id');
CREATE TRIGGER stock_policy_feed AFTER INSERT OR DELETE ON erp.stock_policy
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER stock_policy_feed_update AFTER UPDATE ON erp.stock_policy
    FOR EACH ROW WHEN (OLD.safety_stock IS DISTINCT FROM NEW.safety_stock
                       OR OLD.item_id IS DISTINCT FROM NEW.item_id OR OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER channel_reserve_feed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_reserve
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER lot_feed AFTER UPDATE ON erp.lot
    FOR EACH ROW WHEN (OLD.expires_on IS DISTINCT FROM NEW.expires_on OR OLD.item_id IS DISTINCT FROM NEW.item_id)
    EXECUTE FUNCTION erp.record_feed_change('item_id');
CREATE TRIGGER channel_node_feed AFTER INSERT OR UPDATE OR DELETE ON erp.channel_node
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed AFTER DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed_update AFTER UPDATE ON erp.node
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_access_feed AFTER INSERT OR UPDATE OR DELETE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER item_feed_truncate AFTER TRUNCATE ON erp.item
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER item_component_feed_truncate AFTER TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER stock_policy_feed_truncate AFTER TRUNCATE ON erp.stock_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER channel_reserve_feed_truncate AFTER TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER lot_feed_truncate AFTER TRUNCATE ON erp.lot
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER channel_node_feed_truncate AFTER TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_feed_truncate AFTER TRUNCATE ON erp.node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
CREATE TRIGGER node_access_feed_truncate AFTER TRUNCATE ON erp.node_access
    FOR EACH STATEMENT EXECUTE FUNCTION erp.record_feed_change();
-- as the caches' triggers: also for changes a logical-replication subscriber
-- or a data-only restore writes (session_replication_role = replica)
DO $always$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.tgname, tg.tgrelid::regclass AS rel
          FROM pg_catalog.pg_trigger tg
         WHERE tg.tgfoid = 'erp.record_feed_change()'::regprocedure AND NOT tg.tgisinternal
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname);
    END LOOP;
END
$always$;

CREATE FUNCTION erp.channel_availability_changes(channel text, since text DEFAULT NULL)
    RETURNS TABLE (sku text, item_id bigint, atp bigint, next_since text)
    AS 'MODULE_PATHNAME', 'ierp_feeds_availability_changes'
    LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.channel_availability_changes(text, text) IS
    'The items whose ATP for channel may have changed since the cursor since, each with erp.atp(sku, NULL, channel) now (0 for a retired item), all with the cursor for the next call in next_since; since NULL = every active item (a full resynchronisation); nothing changed = one row with only next_since. Never misses a change, whatever the commit order; may repeat an item whose ATP did not change. A malformed cursor: IE004; one older than the history kept (erp.feed_horizon), of another database, or ahead of this one: IE010, resynchronise with since => NULL';
GRANT EXECUTE ON FUNCTION erp.channel_availability_changes(text, text) TO erp_reader;
