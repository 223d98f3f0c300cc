-- 87_caches: every session caches the master data it looks up by business key
-- (items by sku, nodes and channels by code: src/master_cache.c).  A change of
-- one of these tables tells every session to drop its copy (erp.reload_rules
-- sends the relcache invalidation; others receive it at commit).
CREATE TRIGGER item_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.item
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER item_component_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.item_component
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER node_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.channel
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
COMMENT ON FUNCTION erp.reload_rules() IS 'Trigger: tells every session, at commit, to drop what it caches from this table (state machine, disposition rules, items, nodes, channels)';

-- allocation and erp.atp read the nodes of a channel, the stock policies and
-- which items are ring-fenced from the same caches
CREATE TRIGGER channel_node_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.channel_node
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER stock_policy_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.stock_policy
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();
CREATE TRIGGER channel_reserve_cached AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON erp.channel_reserve
    FOR EACH STATEMENT EXECUTE FUNCTION erp.reload_rules();

-- The caches must also hear of changes a logical-replication subscriber or a
-- data-only restore writes (session_replication_role = replica): these triggers
-- fire always.
ALTER TABLE erp.item ENABLE ALWAYS TRIGGER item_cached;
ALTER TABLE erp.item_component ENABLE ALWAYS TRIGGER item_component_cached;
ALTER TABLE erp.node ENABLE ALWAYS TRIGGER node_cached;
ALTER TABLE erp.channel ENABLE ALWAYS TRIGGER channel_cached;
ALTER TABLE erp.channel_node ENABLE ALWAYS TRIGGER channel_node_cached;
ALTER TABLE erp.stock_policy ENABLE ALWAYS TRIGGER stock_policy_cached;
ALTER TABLE erp.channel_reserve ENABLE ALWAYS TRIGGER channel_reserve_cached;
ALTER TABLE erp.node_access ENABLE ALWAYS TRIGGER node_access_changed;
ALTER TABLE erp.state_transition ENABLE ALWAYS TRIGGER state_transition_changed;
ALTER TABLE erp.disposition_rule ENABLE ALWAYS TRIGGER disposition_rule_changed;

-- the publication carries the balances as erp.stock_slot (a view cannot be published)
CREATE OR REPLACE FUNCTION erp.create_publication(name text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' OR pg_catalog.octet_length(name) > 63 THEN
        RAISE EXCEPTION 'invalid publication name "%"', pg_catalog.left(COALESCE(name, ''), 80)
            USING ERRCODE = 'IE004',
                  DETAIL = 'A publication name is 1 to 63 bytes long.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = name) THEN
        RAISE EXCEPTION 'publication "%" exists already', name
            USING ERRCODE = 'IE010',
                  HINT = 'Choose another name, or drop the publication first.';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE PUBLICATION %I FOR TABLE erp.item, erp.item_component, erp.node, erp.channel, '
        'erp.channel_node, erp.supplier, erp.lot, erp.stock_policy, erp.channel_reserve, '
        'erp.stock_move, erp.stock_slot, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event', name);
END
$$;
