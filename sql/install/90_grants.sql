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
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA erp FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA erp TO erp_operator;
-- publications are created by administrators
REVOKE EXECUTE ON FUNCTION erp.create_publication(text) FROM erp_operator;
GRANT EXECUTE ON FUNCTION erp.create_publication(text) TO erp_admin;
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'erp'::regnamespace AND p.proname LIKE 'gtin%'
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
    END LOOP;
END
$grants$;
GRANT EXECUTE ON FUNCTION erp.verify(), erp.atp(text, text, text, timestamptz) TO erp_reader;
-- row level security policies call it as the querying role
GRANT EXECUTE ON FUNCTION erp.visible_nodes() TO PUBLIC;
