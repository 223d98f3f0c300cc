-- 16_feeds: availability deltas for channel feeds (src/feeds.c, doc/feeds.md).
-- A feed asks erp.channel_availability_changes(channel, since) for the items
-- whose ATP may have changed since its cursor: the items of ledger rows
-- (erp.stock_move.txid) and of master-data changes recorded here, of the
-- transactions its cursor's snapshot did not see.

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
INSERT INTO erp.feed_horizon (horizon, reason) VALUES (pg_catalog.pg_current_xact_id(), 'installed');

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
