-- 90_grants: who may do what.  Readers read; operators call the functions (which
-- run as the extension owner and keep the rules); approvers approve; admins keep
-- master data.  Nobody but the ledger writes the ledger or the balances.

REVOKE ALL ON ALL TABLES IN SCHEMA erp FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA erp TO erp_reader;

GRANT INSERT, UPDATE, DELETE ON
    erp.item, erp.item_component, erp.node, erp.channel, erp.channel_node, erp.supplier,
    erp.stock_policy, erp.channel_reserve, erp.lot, erp.reason_code, erp.approval_policy,
    erp.state_transition
TO erp_admin;

REVOKE EXECUTE ON FUNCTION
    erp.receive(text, text, bigint, text, date, erp.stock_state, text),
    erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text),
    erp.verify()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    erp.receive(text, text, bigint, text, date, erp.stock_state, text),
    erp.move(text, text, bigint, erp.stock_state, erp.stock_state, text, text, text, text)
TO erp_operator;
GRANT EXECUTE ON FUNCTION erp.verify() TO erp_reader;
