-- 99_grants_distribute: what sql/install/93_distribute_grants.sql takes back, after 99_grants.sql
-- gave every new function to erp_operator.
REVOKE EXECUTE ON FUNCTION erp.citus_layout(), erp.citus_node_ids(), erp.citus_policy_qual(name, text),
                          erp.citus_run_everywhere(text), erp.citus_collect_events(integer),
                          erp.distribute(), erp.undistribute()
    FROM PUBLIC, erp_operator;
-- the purchase order rules are called by row level security, for every session
GRANT EXECUTE ON FUNCTION erp.po_visible(bigint), erp.po_line_visible(bigint) TO PUBLIC;
