-- Flash sale correctness run (after the timed runs): one unit of FLASH-2, whose stock is
-- far below the orders pgbench -t sends.
SELECT * FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    '[{"sku": "FLASH-2", "qty": 1}]'));
