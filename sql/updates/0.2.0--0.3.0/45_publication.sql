
-- 45: erp.create_publication refuses a name that is missing, empty or longer
-- than an identifier (IE004; PostgreSQL would truncate it) and one in use (IE010).
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
        'erp.stock_move, erp.stock_balance, '
        'erp.sales_order, erp.order_line, erp.reservation, erp.shipment, erp.shipment_line, '
        'erp.rma, erp.rma_line, erp.purchase_order, erp.purchase_order_line, erp.transfer, '
        'erp.cycle_count, erp.adjustment, erp.event', name);
END
$$;
