-- erp.create_publication also publishes the costs (21_valuation.sql) and the EDI order
-- references (23_edi.sql): a subscriber's erp.verify() checks the costs too.  A
-- publication made before this update gets them with
--   ALTER PUBLICATION <name> ADD TABLE erp.cost_entry, erp.cost_balance, erp.cost_delta,
--       erp.cost_layer, erp.landed_cost, erp.landed_cost_line, erp.edi_order;
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
        'erp.cycle_count, erp.adjustment, erp.event, '
        'erp.cost_entry, erp.cost_balance, erp.cost_delta, erp.cost_layer, erp.landed_cost, '
        'erp.landed_cost_line, erp.edi_order, '
        'erp.bin, erp.item_uom, erp.wave, erp.wave_order, '
        'erp.customer, erp.price_list, erp.price_break, erp.channel_order_rules, '
        'erp.service_level, erp.node_cutoff, erp.order_hold, erp.shipment_tracking, '
        'erp.order_service, erp.order_edit, '
        'erp.item_substitute, erp.order_line_substitution, erp.checkout_hold, erp.checkout_hold_line', name);
END
$$;
COMMENT ON FUNCTION erp.create_publication(text) IS
    'Creates a logical replication publication of the master data, the ledger, the balances, orders, shipments, returns, purchasing, counts, events, the costs, the EDI order references, the bins, waves and units of measure, and the orchestration''s holds, scans, service levels, edits and B2B accounts, the substitutes and the checkout holds (0.4.0) (not of the shipped rule tables, which every install has); a subscriber installs the extension and subscribes';
