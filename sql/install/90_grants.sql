-- 90_grants: who may do what.  Readers read; operators call the functions (which
-- run as the extension owner and keep the rules); approvers approve; admins keep
-- master data.  Nobody but the ledger writes the ledger or the balances.

REVOKE ALL ON ALL TABLES IN SCHEMA erp FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA erp TO erp_reader;

GRANT INSERT, UPDATE, DELETE ON
    erp.item, erp.item_component, erp.node, erp.channel, erp.channel_node, erp.supplier,
    erp.stock_policy, erp.channel_reserve, erp.lot, erp.reason_code, erp.approval_policy,
    erp.state_transition, erp.disposition_rule, erp.node_access
TO erp_admin;

-- Functions: nothing for PUBLIC but the erp.gtin type's own functions (its
-- operators call them); readers promise and check; operators run the rest.
-- Approvals check erp_approver membership themselves (IE009).
-- (Administrators' functions, such as erp.create_publication, are granted
-- where they are created, to erp_admin only.)
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, p.proname
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.fn);
        IF f.proname LIKE 'gtin%' THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f.fn);
        ELSIF f.proname NOT IN ('create_publication') THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO erp_operator', f.fn);
        END IF;
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION erp.verify(), erp.atp(text, text, text, timestamptz) TO erp_reader;
-- row level security policies call them as the querying role
GRANT EXECUTE ON FUNCTION erp.visible_nodes(), erp.order_visible(bigint), erp.rma_visible(bigint) TO PUBLIC;
