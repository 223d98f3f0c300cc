-- 87_caches: every session caches the master data it looks up by business key
-- (items by sku and id, nodes and channels by code, the nodes of a channel, stock
-- policies, which items are ring-fenced: src/master_cache.c).  A change of one of
-- these tables tells every session to drop its copy (erp.reload_rules sends the
-- relcache invalidation; others receive it at commit).  The triggers are row
-- triggers (a logical-replication subscriber's apply worker fires row triggers
-- only) with a statement trigger for TRUNCATE, and fire ALWAYS: also for changes a
-- subscriber or a data-only restore writes (session_replication_role = replica).
CREATE TRIGGER item_cached AFTER INSERT OR UPDATE OR DELETE ON erp.item
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_cached_truncate AFTER TRUNCATE ON erp.item
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_component_cached AFTER INSERT OR UPDATE OR DELETE ON erp.item_component
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_component_cached_truncate AFTER TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER node_cached AFTER INSERT OR UPDATE OR DELETE ON erp.node
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER node_cached_truncate AFTER TRUNCATE ON erp.node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_cached_truncate AFTER TRUNCATE ON erp.channel
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_node_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel_node
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_node_cached_truncate AFTER TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER stock_policy_cached AFTER INSERT OR UPDATE OR DELETE ON erp.stock_policy
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER stock_policy_cached_truncate AFTER TRUNCATE ON erp.stock_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_reserve_cached AFTER INSERT OR UPDATE OR DELETE ON erp.channel_reserve
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_reserve_cached_truncate AFTER TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
-- the rules cached since 0.2.0 (partner access, the state machine, disposition
-- rules) are heard from a subscriber too
CREATE TRIGGER node_access_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.node_access
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER state_transition_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.state_transition
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER disposition_rule_changed_row AFTER INSERT OR UPDATE OR DELETE ON erp.disposition_rule
    FOR EACH ROW EXECUTE FUNCTION erp.reload_rules();
DO $always$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.tgname, tg.tgrelid::regclass AS rel
          FROM pg_catalog.pg_trigger tg
         WHERE tg.tgfoid = 'erp.reload_rules()'::regprocedure AND NOT tg.tgisinternal
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname);
    END LOOP;
END
$always$;
COMMENT ON FUNCTION erp.reload_rules() IS 'Trigger: tells every session, at commit, to drop what it caches from this table (state machine, disposition rules, partner access, items, nodes, channels, channel nodes, stock policies, ring-fences)';
