-- 83_value_checks: no money column of the extension holds NaN.
-- PostgreSQL orders NaN above every number, so a CHECK (x >= 0) lets it in
-- and a comparison "value > threshold" is never true against it: an
-- adjustment threshold of NaN would turn approval off, a unit cost of NaN
-- would make every value computed from it NaN.  Infinity needs no check: every
-- numeric column here has a precision (numeric(p,s)), which cannot hold it.
-- Each constraint is named <table>_<column>_not_nan; the update fragment
-- 47_gov2.sql adds the same ones.

ALTER TABLE erp.item ADD CONSTRAINT item_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.item ADD CONSTRAINT item_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.approval_policy ADD CONSTRAINT approval_policy_max_auto_value_not_nan CHECK (max_auto_value <> 'NaN'::numeric);
ALTER TABLE erp.order_line ADD CONSTRAINT order_line_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_min_unit_value_not_nan CHECK (min_unit_value <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_max_unit_value_not_nan CHECK (max_unit_value <> 'NaN'::numeric);
ALTER TABLE erp.disposition_rule ADD CONSTRAINT disposition_rule_restocking_fee_pct_not_nan CHECK (restocking_fee_pct <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_unit_price_not_nan CHECK (unit_price <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_restocking_fee_pct_not_nan CHECK (restocking_fee_pct <> 'NaN'::numeric);
ALTER TABLE erp.rma_line ADD CONSTRAINT rma_line_refund_amount_not_nan CHECK (refund_amount <> 'NaN'::numeric);
ALTER TABLE erp.purchase_order_line ADD CONSTRAINT purchase_order_line_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
ALTER TABLE erp.adjustment ADD CONSTRAINT adjustment_value_not_nan CHECK (value <> 'NaN'::numeric);
ALTER TABLE erp.cycle_count ADD CONSTRAINT cycle_count_unit_cost_not_nan CHECK (unit_cost <> 'NaN'::numeric);
