-- breakops_exporter_refunded_amount: the exporter's inventory_erp_refunds
-- metric reads erp.kpi_refund_latency; contrib/prometheus/inventory_erp_queries.yaml
-- says a NULL is exported as NaN and that NULL stands for "a rate with
-- nothing to divide by".  refunded_amount is no rate but a sum of money: on a
-- shop with no refund yet it is NULL, so the exporter publishes
-- inventory_erp_refunds_refunded_amount NaN (the inventory_erp_backorders
-- query COALESCEs its sums to 0 for this reason).  Expected: 0.00, as for
-- refunds and awaiting_approval.  Run as erp_reader, as the exporter.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS inventory_erp CASCADE;
CREATE EXTENSION inventory_erp;
DROP ROLE IF EXISTS regress_bo_exporter;
RESET client_min_messages;
CREATE ROLE regress_bo_exporter IN ROLE erp_reader;
SET ROLE regress_bo_exporter;
-- the query of inventory_erp_refunds, as the yaml has it
SELECT refunds, awaiting_approval, received_not_refunded, coalesce(refunded_amount, 0) AS refunded_amount
  FROM erp.kpi_refund_latency;
RESET ROLE;
DROP EXTENSION inventory_erp CASCADE;
DROP ROLE regress_bo_exporter;
